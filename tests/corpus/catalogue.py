"""Every corpus case, by category, built once per process.

Categories (issue #11, "A hostile-input corpus and fuzzing"), each a module of builders:

* ``tags``       -- tag-list syntax of DKIM2-Signature and Message-Instance
* ``recipes``    -- Message-Instance and recipes: every invalid-JSON shape, -06 and -07 grammars
* ``canon``      -- canonicalisation edges: WSP, folding, bare CR/LF, empty body, 8-bit
* ``ambiguity``  -- header ambiguity: two From fields, forged Authentication-Results, DKIM2
  fields inside a MIME part, duplicate DKIM2 fields
* ``keys``       -- key records: malformed TXT forms, revoked, wrong k=, huge p=, ML-DSA-44
* ``revisions``  -- signature and hash groups, unknown algorithms, ``|`` under -06
* ``rendering``  -- markup, script and right-to-left overrides, checked in Chromium
* ``http``       -- upload and HTTP edge cases: empty, not a message, wrong type, many files
* ``cve``        -- CVE-2023-27043 and CVE-2024-6923 strings in messages
* ``fuzz``       -- what fuzzing found (scripts/fuzz.py, the property tests): each fixed
  finding's input, and inputs of outcomes no other case had
* ``sizes``      -- MIME, header and size bombs up to the 25 MB limit and one past it, and
  the amplifiers of issue #11 (findings 1, 2, 9): each case with its own time and memory
  budget and what its report must show (model.Budget)

The address readers' CVE cases that are not messages are in ``cases_cve.ADDRESS_CASES``.
"""

from __future__ import annotations

import functools

from . import (
    cases_ambiguity,
    cases_canon,
    cases_cve,
    cases_fuzz,
    cases_http,
    cases_keys,
    cases_recipes,
    cases_rendering,
    cases_revisions,
    cases_sizes,
    cases_tags,
)
from .model import Case

MODULES = (
    cases_tags,
    cases_recipes,
    cases_canon,
    cases_ambiguity,
    cases_keys,
    cases_revisions,
    cases_rendering,
    cases_http,
    cases_cve,
    cases_fuzz,
    cases_sizes,
)


@functools.cache
def all_cases() -> tuple[Case, ...]:
    cases: list[Case] = []
    for module in MODULES:
        cases.extend(module.build())
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"corpus case ids used twice: {duplicates}")
    return tuple(cases)


def by_id(case_id: str) -> Case:
    return next(c for c in all_cases() if c.id == case_id)


def taking(path: str) -> list[Case]:
    return [c for c in all_cases() if c.takes(path)]
