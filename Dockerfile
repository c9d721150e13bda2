# One image for every process of the stack: web (gunicorn + whitenoise), the Celery
# workers (one per queue) and beat, the SMTP/LMTP intake, and the one-shot migrate.
# docker-compose.yml picks the process with `command:`; the default is the web process.
FROM python:3.12-slim

# PYTHONPATH: run from the source tree, so settings find templates/ and static/ beside the
# code (pip install . also copies the packages into site-packages, without those folders).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_LOG_FORMAT=json \
    DJANGO_STATIC_ROOT=/app/staticfiles

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md /app/
RUN mkdir -p analysis dkim2web && touch analysis/__init__.py dkim2web/__init__.py \
    && pip install '.[prod]' \
    && pip uninstall -y dkim2web
COPY . /app
# The static files are collected (hashed and compressed for whitenoise) at build time; the
# key is a throwaway needed only to import the settings.
RUN pip install --no-deps '.[prod]' \
    && DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent dkim2web

USER dkim2web
EXPOSE 8000 2525
CMD ["gunicorn", "-c", "scripts/gunicorn.conf.py", "dkim2web.wsgi:application"]
