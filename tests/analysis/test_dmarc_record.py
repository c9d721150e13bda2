"""Reading a DMARC Policy Record (RFC 9989 §4.7, §4.8): the version tag, each tag's syntax,
defaults, unknown and removed tags, and hostile sizes."""

from __future__ import annotations

import json

import pytest

from analysis import limits
from analysis.dmarc import DmarcRecord, parse_record


def parsed(text: str) -> DmarcRecord:
    record = parse_record(text)
    assert record is not None
    return record


# -- v= (§4.7: first, exactly DMARC1, else the whole record is ignored) -------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v=spf1 -all",
        "v=DMARC2; p=none",
        "v=dmarc1; p=none",  # the value is case-sensitive (%s"DMARC1")
        "p=none; v=DMARC1",  # not the first tag
        "v=DMARC1p=none",
        "v:DMARC1; p=none",
        "DMARC1; p=none",
        "v=DMARC1 1; p=none",
    ],
)
def test_a_record_not_starting_with_v_dmarc1_is_not_a_dmarc_record(text: str) -> None:
    assert parse_record(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "v=DMARC1",
        "v=DMARC1;",
        "v=DMARC1; p=none",
        "v = DMARC1 ; p = none ;",  # §4.8 equals and dmarc-sep allow blanks
        "V=DMARC1; p=none",  # tag names compare case-insensitively (ABNF, RFC 5234 §2.3)
        "  v=DMARC1; p=none  ",
        "v=DMARC1;\tp=none",
    ],
)
def test_v_dmarc1_first_is_a_dmarc_record(text: str) -> None:
    assert parsed(text).tags["v"] == "DMARC1"


# -- the tags -----------------------------------------------------------------------------------


def test_defaults_when_only_p_is_given() -> None:
    record = parsed("v=DMARC1; p=quarantine")
    assert (record.p, record.sp, record.np) == ("quarantine", None, None)
    assert (record.psd, record.testing, record.adkim, record.aspf) == ("u", False, "r", "r")
    assert (record.rua_valid, record.policy_usable) == (False, True)
    assert (record.problems, record.problem_count) == ((), 0)


def test_every_tag_read() -> None:
    record = parsed(
        "v=DMARC1; p=Reject; sp=quarantine; np=none; psd=N; t=y; adkim=s; aspf=S; "
        "rua=mailto:agg@example.com; ruf=mailto:fail@example.com; fo=1:d:s"
    )
    assert (record.p, record.sp, record.np) == ("reject", "quarantine", "none")
    assert (record.psd, record.testing, record.adkim, record.aspf) == ("n", True, "s", "s")
    assert record.rua_valid is True
    assert record.problems == ()
    assert record.tags == {
        "v": "DMARC1",
        "p": "Reject",
        "sp": "quarantine",
        "np": "none",
        "psd": "N",
        "t": "y",
        "adkim": "s",
        "aspf": "S",
        "rua": "mailto:agg@example.com",
        "ruf": "mailto:fail@example.com",
        "fo": "1:d:s",
    }


@pytest.mark.parametrize(
    ("text", "p_problem", "sp_invalid", "np_invalid", "usable"),
    [
        ("v=DMARC1", "no p= tag", False, False, False),
        ("v=DMARC1; p=rejected", "an invalid p= value", False, False, False),
        ("v=DMARC1; p=", "an invalid p= value", False, False, False),
        ("v=DMARC1; p=reject; sp=strict", "", True, False, False),
        ("v=DMARC1; p=reject; sp=", "", True, False, False),
        ("v=DMARC1; p=reject; np=nxdomain", "", False, True, False),
        ("v=DMARC1; p=reject; sp=none; np=quarantine", "", False, False, True),
    ],
)
def test_policy_validity(
    text: str, p_problem: str, sp_invalid: bool, np_invalid: bool, usable: bool
) -> None:
    record = parsed(text)
    assert (record.p_problem, record.sp_invalid, record.np_invalid, record.policy_usable) == (
        p_problem,
        sp_invalid,
        np_invalid,
        usable,
    )


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("v=DMARC1; p=none; p=reject", ["tag p= appears more than once; the first one is used"]),
        ("v=DMARC1;; p=none;", ["an empty tag (two ';' in a row) was ignored"]),
        (
            "v=DMARC1; p=none; junk; 9x=1",
            [
                "'junk' is not a tag=value pair and was ignored",
                "'9x=1' is not a tag=value pair and was ignored",
            ],
        ),
        (
            "v=DMARC1; p=none; psd=maybe; t=yes",
            ["psd=maybe is not one of y, n, u; u is used", "t=yes is not one of y, n; n is used"],
        ),
        ("v=DMARC1; p=none; adkim=strict", ["adkim=strict is not one of r, s; r is used"]),
        ("v=DMARC1; p=none; fo=0:d:x", ["fo=0:d:x is not a list of 0, 1, d and s; it is ignored"]),
        ("v=DMARC1; p=none; rua=dmarc@example.com", ["rua= holds no syntactically valid URI"]),
        ("v=DMARC1; p=none; sp=", ["the value of sp= is empty and was ignored"]),
        (
            "v=DMARC1; p=none; ruf=mailto:a@example.com\x00",
            ["the value of ruf= has characters a DMARC value cannot hold and was ignored"],
        ),
        ("v=DMARC1; p=reject; v=DMARC1", ["tag v= appears more than once; the first one is used"]),
    ],
)
def test_syntax_errors_are_ignored_and_listed(text: str, problems: list[str]) -> None:
    record = parsed(text)
    assert list(record.problems) == problems
    assert record.problem_count == len(problems)


@pytest.mark.parametrize(
    ("rua", "valid"),
    [
        ("mailto:dmarc@example.com", True),
        ("mailto:dmarc@example.com!10m", True),  # obs-dmarc-report-size, ignored
        ("https://reports.example.com/dmarc", True),
        ("bogus, mailto:dmarc@example.com", True),  # "at least one" (§4.10.1)
        ("mailto:a%2Cb@example.com", True),  # a comma must be encoded
        ("dmarc@example.com", False),
        ("mailto:", False),
        ("mailto:a b@example.com", False),
        ("mailto:a@example.com!", False),
        ("1mailto:a@example.com", False),
    ],
)
def test_rua_needs_one_syntactically_valid_uri(rua: str, valid: bool) -> None:
    assert parsed(f"v=DMARC1; rua={rua}").rua_valid is valid


def test_removed_and_unknown_tags_are_kept_apart() -> None:
    record = parsed("v=DMARC1; p=none; pct=0; rf=afrf; ri=3600; foo=1; Bar=2")
    assert record.obsolete_tags == ("pct", "rf", "ri")
    assert (record.unknown_tags, record.unknown_count) == (("foo", "bar"), 2)
    assert record.tags == {"v": "DMARC1", "p": "none", "pct": "0", "rf": "afrf", "ri": "3600"}
    assert record.problems == ()


# -- hostile sizes ------------------------------------------------------------------------------


def _letters(n: int) -> str:
    return "x" + "".join(chr(97 + n // 26**k % 26) for k in (2, 1, 0))


def test_a_ten_kilobyte_record_of_a_thousand_tags_is_read_and_reported_bounded() -> None:
    tags = "; ".join(f"{_letters(n)}=value{n}" for n in range(1000))
    text = f"v=DMARC1; {tags}; p=reject; rua=mailto:{'a' * 3000}@example.com"
    assert len(text) > 10_000
    record = parsed(text)
    assert record.p == "reject"  # found after a thousand unknown tags
    assert record.unknown_count == 1000
    assert record.unknown_tags == tuple(_letters(n) for n in range(10))
    assert record.unknown_tags[:2] == ("xaaa", "xaab")
    data = record.to_json()
    assert len(data["text"]) == limits.MAX_REPORT_TEXT_CHARS
    assert data["text"].endswith("…")
    assert len(data["tags"]["rua"]) == limits.MAX_REPORT_TEXT_CHARS
    assert len(json.dumps(data)) < 3 * limits.MAX_REPORT_TEXT_CHARS


def test_problems_are_listed_up_to_ten_and_counted() -> None:
    record = parsed("v=DMARC1; p=none; " + "; ".join(["junk"] * 500))
    assert record.problem_count == 500
    assert len(record.problems) == 10


def test_a_huge_tag_name_is_listed_cut() -> None:
    record = parsed(f"v=DMARC1; p=none; {'z' * 5000}=1")
    assert record.unknown_tags == ("z" * 39 + "…",)
