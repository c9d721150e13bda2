"""The report grows linearly in hops (issue #13).

Every instance holds the header fields of the one below it and what its hop added; each
instance once listed all of its fields, so a chain of n hops listed about n² fields (a
20-hop chain: 270 KB of its 360 KB report).  The chain now lists each distinct field once
(``header_field_table``) and each instance runs of its rows (``header_field_runs``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from analysis.dkim2 import analyze
from analysis.dkim2.report import FieldTable, TextBudget
from analysis.message import HeaderField
from analysis.resolvers import StaticResolver
from tests.analysis.hostile_chains import footer_chain
from tests.support.chains import T0


def chain_report(hops: int) -> tuple[dict[str, Any], Any]:
    chain = footer_chain(hops)
    report = analyze(chain.message, lookup=StaticResolver(chain.zone), now=T0 + 600)
    return report.to_json(), report


def listed(data: dict[str, Any], inst: dict[str, Any]) -> list[list[str]]:
    table = data["header_field_table"]
    return [
        table[row]
        for first, count in inst["header_field_runs"]
        for row in range(first, first + count)
    ]


@pytest.mark.parametrize("hops", [3, 12])
def test_each_instance_lists_its_own_fields_through_the_table(hops: int) -> None:
    data, report = chain_report(hops)
    by_m = {i.instance: i for i in report.instances}
    for inst in data["instances"]:
        fields = by_m[inst["m"]].fields
        assert listed(data, inst) == [[f.name, f.text()] for f in fields]
        assert "header_fields_omitted" not in inst
        # Nothing but footers changed: every instance is one run of rows.
        assert len(inst["header_field_runs"]) == 1


def test_each_distinct_field_is_listed_once() -> None:
    data, report = chain_report(12)
    rows = [tuple(r) for r in data["header_field_table"]]
    assert len(rows) == len(set(rows))
    newest = max(report.instances, key=lambda i: i.instance)
    # The message as received holds every field any instance holds.
    assert len(rows) == len(newest.fields)


def test_the_report_grows_linearly_in_hops() -> None:
    sizes = {n: len(json.dumps(chain_report(n)[0])) for n in (5, 20)}
    per_hop = {n: size / n for n, size in sizes.items()}
    assert per_hop[20] <= 1.25 * per_hop[5], sizes


def field(name: str, value: str) -> HeaderField:
    from analysis.message import parse_message

    return parse_message(f"{name}: {value}\r\n\r\n".encode()).fields[0]


def test_past_its_budget_an_instance_counts_what_it_does_not_list() -> None:
    a, b, c = field("Subject", "a" * 50), field("To", "b" * 50), field("From", "c" * 50)
    table = FieldTable(TextBudget(130))
    assert [table.row_of(f) for f in (a, b, a)] == [0, 1, 0]
    assert table.row_of(c) is None  # the budget is spent: c is not listed
    assert table.row_of(b) == 1  # what is listed stays listed
    assert table.rows == [["Subject", "a" * 50], ["To", "b" * 50]]
