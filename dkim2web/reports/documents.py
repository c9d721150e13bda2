"""Stored reports read in today's shape: ``AnalysisRun.document``.

:func:`analysis.message_report.upgrade_report` turns a schema 1 report (the DKIM2 chain
alone) into schema 2.  Within schema 2, the DKIM2 section later gained the revision that
judged it (issue #10): ``revision``, ``revision_mode``, ``level``, ``revisions``,
``fingerprints``, ``splits``, ``from_checks``, a ``group`` on each selector and hash check,
and the verdict's ``dkim2_revision``.  A run stored before then has none of these keys;
:func:`upgrade_document` adds them, saying only what that run did:

* it followed -06 rules, the only ones the engine knew: ``revision`` "06",
  ``revision_mode`` "fixed", and ``revision_inferred`` true so the page can say that the
  revision was not recorded but is known from the engine's age;
* ``level`` from its result, in -06 terms (``analysis.dkim2.verify.verification_level``
  for -06): pass is "fully-verified", no DKIM2 is "none", anything else "not-verified";
* nothing was compared and no From was checked: the lists are empty;
* -06 has no ``|`` groups: every selector and hash check gets group 0 ("no groups");
* the verdict's ``dkim2_revision`` is "06" when the message carried DKIM2, else null (as
  :func:`analysis.verdict.judge` writes it).

Later still (issue #13), the instances stopped listing their header fields in full
(``header_fields``: ``[name, value]`` pairs, every instance all of its fields, which grew with
the square of the hops): the chain lists each distinct field once (``header_field_table``)
and each instance runs of its rows (``header_field_runs``: ``[first, count]``).  A run
stored before then is read in that shape: its pairs become the table's rows, in the order
met, and each instance the runs that list the same pairs (a chain with no instance that
listed a field gets an empty table).

The stored JSON is never rewritten; the upgrade happens on every read, on a copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.dkim2.report import add_to_runs
from analysis.message_report import upgrade_report

#: The revision a run stored without one followed.
BEFORE_REVISIONS = "06"

_LEVEL_OF_RESULT = {"pass": "fully-verified", "none": "none"}


def upgrade_document(report: Any) -> dict[str, Any]:
    """``report`` (as stored) in the current shape; see the module docs."""
    document = upgrade_report(report)
    chain = document.get("dkim2")
    if not isinstance(chain, Mapping):
        return document
    new_chain = _upgrade_chain(chain)
    verdict = document.get("verdict")
    new_verdict = verdict
    if isinstance(verdict, Mapping) and "dkim2_revision" not in verdict:
        had_dkim2 = bool(new_chain.get("hops")) or new_chain.get("result") not in (None, "none")
        new_verdict = {
            **verdict,
            "dkim2_revision": str(new_chain.get("revision")) if had_dkim2 else None,
        }
    if new_chain is chain and new_verdict is verdict:
        return document
    return {**document, "dkim2": new_chain, "verdict": new_verdict}


def _upgrade_chain(chain: Mapping[str, Any]) -> Mapping[str, Any]:
    out: dict[str, Any] | None = None
    if "revision" not in chain:
        result = str(chain.get("result") or "none")
        out = {
            **chain,
            "revision": BEFORE_REVISIONS,
            "revision_mode": "fixed",
            "revision_inferred": True,
            "level": _LEVEL_OF_RESULT.get(result, "not-verified"),
            "revisions": [],
            "fingerprints": [],
            "splits": [],
            "from_checks": [],
        }
    hops = _with_groups(chain.get("hops"), "selectors")
    instances = _with_groups(chain.get("instances"), "checks")
    table = None
    tabled = _with_field_table(instances if instances is not None else chain.get("instances"))
    if tabled is not None:
        instances, table = tabled
    elif "header_field_table" not in chain:
        table = []  # no instance listed a field: the table is empty
    if hops is not None or instances is not None or table is not None:
        out = out if out is not None else dict(chain)
        if hops is not None:
            out["hops"] = hops
        if instances is not None:
            out["instances"] = instances
        if table is not None:
            out["header_field_table"] = table
    return chain if out is None else out


def _with_field_table(items: Any) -> tuple[list[Any], list[list[str]]] | None:
    """Instances that list ``header_fields`` in full as runs of a table, and the table; None
    when none does (see the module docs)."""
    if not isinstance(items, list) or not any(
        isinstance(item, Mapping) and isinstance(item.get("header_fields"), list) for item in items
    ):
        return None
    table: list[list[str]] = []
    row_of: dict[tuple[str, str], int] = {}
    out: list[Any] = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("header_fields"), list):
            out.append(item)
            continue
        runs: list[list[int]] = []
        for pair in item["header_fields"]:
            if not (isinstance(pair, list) and len(pair) == 2):
                continue
            key = (str(pair[0]), str(pair[1]))
            row = row_of.get(key)
            if row is None:
                row = row_of[key] = len(table)
                table.append([key[0], key[1]])
            add_to_runs(runs, row)
        upgraded = {k: v for k, v in item.items() if k != "header_fields"}
        upgraded["header_field_runs"] = runs
        out.append(upgraded)
    return out, table


def _with_groups(items: Any, key: str) -> list[Any] | None:
    """``items`` whose ``key`` entries all have a ``group`` (0 added), or None if they did."""
    if not isinstance(items, list):
        return None
    missing = any(
        isinstance(item, Mapping)
        and any(isinstance(e, Mapping) and "group" not in e for e in item.get(key) or [])
        for item in items
    )
    if not missing:
        return None
    return [
        {
            **item,
            key: [
                {**e, "group": 0} if isinstance(e, Mapping) and "group" not in e else e
                for e in item.get(key) or []
            ],
        }
        if isinstance(item, Mapping) and isinstance(item.get(key), list)
        else item
        for item in items
    ]
