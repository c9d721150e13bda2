"""DKIM1 on messages this project did not write.

* dkimpy's test data (read at run time from the unpacked sdist, never committed): the
  RFC 6376 / RFC 8463 Appendix A example signed twice (Ed25519 ``brisbane`` and RSA
  ``test``), Exim's Ed25519 message, a Gmail message with degenerate folding, a real
  mbox message, a signature with an injected ``d=``; keys from dkimpy's key files
  (``test.txt``, ``eximtest.dns``, ``ed25519test.dns``), the RFC 8463 §A.2 example key, and
  Gmail's 2012 key as dkimpy's ``test_dkim.py`` publishes it.
* Real IETF list mail delivered to Fastmail (``interop/brong``): their keys are in no zone
  here, so every signature is ``permerror`` (no key) offline, and what remains exact is the
  body hash of each signature: the list rewrote the body under three of the four.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import dkim1
from analysis.message import parse_message
from analysis.resolvers import StaticResolver
from tests.conftest import require_fixture
from tests.support.mailauth import dkim1_sign, ed25519_key_from_seed, publish, resolver

#: RFC 8463 §A.2: the example Ed25519 key of selector brisbane (RFC 8032 §7.1 test 1).
RFC8463_KEY = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def data(name: str) -> Path:
    return require_fixture("dkimpy-1.1.8", "dkim", "tests", "data", name)


def dkimpy_zone() -> StaticResolver:
    return StaticResolver(
        {
            "football.example.com": {
                "test._domainkey": [["txt", data("test.txt").read_text().strip()]],
                "brisbane._domainkey": [["txt", RFC8463_KEY]],
            },
            "test.ex": {"sed._domainkey": [["txt", data("eximtest.dns").read_text().strip()]]},
            "gmail.com": {"20120113._domainkey": [["txt", _gmail_key()]]},
        }
    )


def _gmail_key() -> str:
    """Gmail's 2012 key, as dkimpy's test_dkim.py publishes it for test2.message."""
    source = require_fixture("dkimpy-1.1.8", "dkim", "tests", "test_dkim.py").read_text()
    m = re.search(r"'20120113\._domainkey\.gmail\.com\.': \"\"\"(.*?)\"\"\"", source, re.S)
    assert m is not None
    return m.group(1).replace("\\\n", "")


Row = tuple[int, str | None, str | None, str | None, str, str | None, bool | None, bool | None]


def rows(report: dkim1.Dkim1Report) -> list[Row]:
    return [
        (
            s.index,
            s.domain,
            s.selector,
            s.algorithm,
            s.result,
            s.failed_step,
            s.body_hash_matches,
            s.signature_valid,
        )
        for s in report.signatures
    ]


FB = "football.example.com"

DKIMPY_CASES = [
    pytest.param(
        "rfc6376.signed.msg",
        "pass",
        [
            (1, FB, "brisbane", "ed25519-sha256", "pass", None, True, True),
            (2, FB, "test", "rsa-sha256", "pass", None, True, True),
        ],
        id="rfc8463-appendix-a",
    ),
    pytest.param(
        "rfc6376.signed.rsa.msg",
        "pass",
        [(1, FB, "test", "rsa-sha256", "pass", None, True, True)],
        id="rfc6376-rsa",
    ),
    pytest.param(
        # dkimpy added x= to a signed field without re-signing: the body is intact, the
        # header signature no longer verifies.
        "rfc6376.signed.no_t.msg",
        "fail",
        [(1, FB, "test", "rsa-sha256", "fail", "signature", True, False)],
        id="x-added-after-signing",
    ),
    pytest.param(
        "ed25519test2.msg",
        "pass",
        [(1, "test.ex", "sed", "ed25519-sha256", "pass", None, True, True)],
        id="exim-ed25519",
    ),
    pytest.param(
        "test2.message",
        "pass",
        [(1, "gmail.com", "20120113", "rsa-sha256", "pass", None, True, True)],
        id="gmail-degenerate-folding",
    ),
    pytest.param(
        "message.mbox",
        "permerror",
        [(1, "kitterman.com", "2007-00", "rsa-sha256", "permerror", "key", True, None)],
        id="mbox-key-not-published",
    ),
    pytest.param(
        "test.message.baddomain",
        "neutral",
        [(1, None, "test", "rsa-sha256", "neutral", "syntax", True, None)],
        id="d-with-parenthesis",
    ),
]


@pytest.mark.parametrize(("name", "result", "expected"), DKIMPY_CASES)
def test_dkimpy_test_messages_give_exact_verdicts(
    name: str, result: str, expected: list[Row]
) -> None:
    message = parse_message(data(name).read_bytes())
    report = dkim1.analyze(message, lookup=dkimpy_zone(), now=1_600_000_000)
    assert (report.result, rows(report)) == (result, expected)


def test_the_rfc_8463_example_keys_are_read_as_published() -> None:
    report = dkim1.analyze(
        parse_message(data("rfc6376.signed.msg").read_bytes()),
        lookup=dkimpy_zone(),
        now=1_600_000_000,
    )
    assert [(s.key_type, s.key_bits, s.timestamp) for s in report.signatures] == [
        ("ed25519", 256, 1518460054),
        ("rsa", 1024, 1527915362),
    ]


def test_the_injected_domain_signature_names_its_bad_d() -> None:
    report = dkim1.analyze(
        parse_message(data("test.message.baddomain").read_bytes()),
        lookup=dkimpy_zone(),
        now=1_600_000_000,
    )
    [sig] = report.signatures
    assert [(f.code, f.detail) for f in sig.findings] == [
        ("dkim1.syntax", "d= 'legitimate.com(.attacker.com' is not a domain name")
    ]


def test_dkimpys_ed25519_test_message_signed_with_its_key_verifies_with_its_dns_record() -> None:
    key = ed25519_key_from_seed(data("ed25519test.key").read_text().strip())
    dns_record = data("ed25519test.dns").read_text().strip()
    assert dns_record == f"k=ed25519; p={key.public}"
    raw = dkim1_sign(data("ed25519test.msg").read_bytes(), key, domain="example.net", selector="t")
    report = dkim1.analyze(
        parse_message(raw), lookup=resolver(publish({}, "example.net", "t", dns_record)), now=2e9
    )
    assert rows(report) == [(1, "example.net", "t", "ed25519-sha256", "pass", None, True, True)]


# -- real list mail (interop/brong) ----------------------------------------------------------------

ARRIVAL = 1723080214  # the t= of Fastmail's ARC seal on brong-final.eml
IETF = (1, "ietf.org", "ietf1", "rsa-sha256")
FM = (3, "fastmailteam.com", "fm1", "rsa-sha256")
ME = (4, "messagingengine.com", "fm3", "rsa-sha256")


def _offline(body_hashes: tuple[bool, bool, bool, bool]) -> list[Row]:
    sigs = [IETF, (2, "ietf.org", "ietf1", "rsa-sha256"), FM, ME]
    return [(*sig, "permerror", "key", bh, None) for sig, bh in zip(sigs, body_hashes, strict=True)]


BRONG = [
    ("brong-final.eml", _offline((True, False, False, False))),
    ("brong-mm.eml", _offline((True, False, False, False))),
    ("brong-mm2.eml", _offline((False, False, False, False))),
    ("brong-mm3.eml", _offline((True, False, False, False))),
    ("brong-orig.eml", []),
    ("empty.eml", []),
    ("spam.eml", []),
]


@pytest.mark.parametrize(("name", "expected"), BRONG)
def test_real_list_mail_offline_gives_exact_verdicts(
    shared_dir: Path, name: str, expected: list[Row]
) -> None:
    raw = (shared_dir / "interop" / "brong" / name).read_bytes()
    report = dkim1.analyze(parse_message(raw), lookup=StaticResolver({}), now=ARRIVAL)
    assert rows(report) == expected
    assert report.result == ("permerror" if expected else "none")
    for sig in report.signatures:
        codes = [f.code for f in sig.findings]
        assert codes == (
            ["dkim1.key-not-found"]
            if sig.body_hash_matches
            else ["dkim1.body-hash-mismatch", "dkim1.key-not-found"]
        )


def test_real_list_mail_agrees_with_what_fastmail_found(shared_dir: Path) -> None:
    """Fastmail's Authentication-Results say the list's second ietf.org signature and both
    Fastmail signatures failed ("message has been altered") and the first ietf.org one
    passed: offline, exactly those three have a body that no longer matches."""
    raw = (shared_dir / "interop" / "brong" / "brong-final.eml").read_bytes()
    report = dkim1.analyze(parse_message(raw), lookup=StaticResolver({}), now=ARRIVAL)
    b_tags = [re.search(r"\bb=([^;]{8})", s.raw.replace("\r\n", "")) for s in report.signatures]
    by_b = {
        m.group(1): s.body_hash_matches for m, s in zip(b_tags, report.signatures, strict=True) if m
    }
    assert by_b == {"CLw2FjhK": True, "yBBUCVc8": False, "BegZuiNO": False, "gwSrTmAD": False}


def test_real_list_mail_checked_after_the_fastmail_signatures_expired(shared_dir: Path) -> None:
    raw = (shared_dir / "interop" / "brong" / "brong-final.eml").read_bytes()
    report = dkim1.analyze(parse_message(raw), lookup=StaticResolver({}), now=1723166591)
    assert [(s.result, s.failed_step, s.expires) for s in report.signatures] == [
        ("permerror", "key", None),
        ("permerror", "key", None),
        ("policy", "expired", 1723166590),
        ("policy", "expired", 1723166590),
    ]
    assert report.result == "policy"
