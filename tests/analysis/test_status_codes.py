"""Enhanced status codes in plain words (analysis.status_codes; RFC 3463, the IANA registry)."""

from __future__ import annotations

import pytest

from analysis.status_codes import CLASSES, DETAILS, SUBJECTS, explain, find_codes

# Every detail code RFC 3463 §3.1 - §3.8 defines.
RFC_3463 = {
    "0.0",
    *(f"1.{d}" for d in range(0, 9)),
    *(f"2.{d}" for d in range(0, 5)),
    *(f"3.{d}" for d in range(0, 6)),
    *(f"4.{d}" for d in range(0, 8)),
    *(f"5.{d}" for d in range(0, 6)),
    *(f"6.{d}" for d in range(0, 6)),
    *(f"7.{d}" for d in range(0, 8)),
}

# Registered since, with the document that defined each.
REGISTERED_SINCE = {
    "1.9": "RFC 3886; RFC 5248",
    "1.10": "RFC 7505",
    "3.6": "RFC 6710",
    "5.6": "RFC 4954 §6",
    "6.6": "RFC 4468",
    "6.7": "RFC 6531",
    "6.8": "RFC 6531",
    "6.9": "RFC 6531",
    "6.10": "RFC 6531",
    "7.8": "RFC 4954 §6",
    "7.9": "RFC 4954 §6",
    "7.10": "RFC 5248",
    "7.11": "RFC 4954 §6",
    "7.12": "RFC 4954 §6",
    "7.13": "RFC 5248",
    "7.14": "RFC 5248",
    "7.15": "RFC 6710",
    "7.16": "RFC 6710",
    "7.17": "RFC 7293",
    "7.18": "RFC 7293",
    "7.19": "RFC 7293",
    "7.20": "RFC 7372 §3.1",
    "7.21": "RFC 7372 §3.1",
    "7.22": "RFC 7372 §3.1",
    "7.23": "RFC 7372 §3.2",
    "7.24": "RFC 7372 §3.2",
    "7.25": "RFC 7372 §3.3",
    "7.26": "RFC 7372 §4",
    "7.27": "RFC 7505",
    "7.28": "IANA SMTP Enhanced Status Codes registry",
    "7.29": "RFC 8617",
    "7.30": "RFC 8689",
}


def test_the_table_holds_every_rfc_3463_code_and_the_registered_ones_nothing_else() -> None:
    assert set(DETAILS) == RFC_3463 | set(REGISTERED_SINCE)
    for key in RFC_3463:
        assert DETAILS[key][3].startswith("RFC 3463 §3."), key
    for key, source in REGISTERED_SINCE.items():
        assert DETAILS[key][3] == source, key


def test_every_entry_reads_as_a_clause_the_page_can_end_with_a_full_stop() -> None:
    for key, (title, meaning, who, source) in DETAILS.items():
        assert title and meaning and source, key
        first = meaning.split()[0]
        assert (first.islower() or first.isupper()) and not meaning.endswith("."), key
        assert not who.endswith("."), key
    assert set(CLASSES) == {"2", "4", "5"}
    assert set(SUBJECTS) == {str(n) for n in range(8)}


def test_a_registered_code_is_explained_whole() -> None:
    assert explain("5.1.1").to_json() == {
        "code": "5.1.1",
        "valid": True,
        "class": "Permanent failure",
        "class_text": (
            "sending the same message again will fail the same way: something must change "
            "first (the address, the message, or the settings of a sending or receiving system)"
        ),
        "subject": "Addressing",
        "subject_text": "the address of the sender or of a recipient",
        "title": "Bad destination mailbox address",
        "text": "the mailbox does not exist (the part of the address before the @ is wrong)",
        "registered": True,
        "who": "the sender: check the address and send again",
        "source": "RFC 3463 §3.2",
        "problem": "",
        "headline": (
            "Permanent failure: the mailbox does not exist (the part of the address before the "
            "@ is wrong)"
        ),
    }


@pytest.mark.parametrize(
    ("code", "headline", "who"),
    [
        (
            "4.2.2",
            "Temporary failure: the recipient's mailbox is over its quota",
            "the recipient, who must delete mail to make room",
        ),
        (
            "5.7.26",
            "Permanent failure: more than one authentication check failed (for example SPF "
            "and DKIM, so DMARC too); the receiver does not say which",
            "the administrator of the sender's domain: fix the domain's authentication "
            "records (SPF, DKIM, DMARC) or the way the mail is sent",
        ),
        (
            "5.7.27",
            "Permanent failure: the sender's domain publishes a null MX record (it takes no "
            "mail), so no bounce could reach it, and the receiver refuses such senders",
            "the administrator of the sender's domain: send from a domain that can take replies",
        ),
        (
            "4.7.28",
            "Temporary failure: the receiver saw too much mail from this source at once",
            "the sender: send less mail, more slowly, and check for a compromised account",
        ),
        (
            "5.7.30",
            "Permanent failure: the sender asked for TLS all the way (REQUIRETLS), and a "
            "server on the way does not support it",
            "the sender, who may send without the requirement, or the receiving system's "
            "administrator",
        ),
        (
            "5.3.0",
            "Permanent failure: the receiving system normally takes mail, but something about "
            "it stopped this one",
            "the administrator of the receiving mail system",
        ),
        (
            "2.0.0",
            "Success: the server knew only whether it worked, not why",
            "unknown from the code alone: read the server's reply (Diagnostic-Code)",
        ),
    ],
)
def test_codes_in_words(code: str, headline: str, who: str) -> None:
    explained = explain(code)
    assert (explained.headline, explained.who) == (headline, who)


def test_an_unregistered_detail_or_subject_falls_back_to_what_the_code_still_says() -> None:
    private = explain("4.7.650")
    assert (private.registered, private.detail_title, private.headline) == (
        False,
        "",
        "Temporary failure: a problem with filtering, authentication and encryption policies",
    )
    odd = explain("5.9.1")
    assert (odd.valid, odd.subject_title, odd.source) == (
        True,
        "Unregistered subject",
        "RFC 3463 §2",
    )
    assert (
        odd.headline
        == "Permanent failure: a problem with subject 9, which RFC 3463 does not define"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the status code is empty"),
        (
            "3.1.1",
            "'3.1.1' is not an enhanced status code: RFC 3463 §2 writes one as "
            "class.subject.detail, the class 2, 4 or 5",
        ),
        (
            "5.1.1.1",
            "'5.1.1.1' is not an enhanced status code: RFC 3463 §2 writes one as "
            "class.subject.detail, the class 2, 4 or 5",
        ),
    ],
)
def test_what_is_not_a_code_says_why(text: str, problem: str) -> None:
    explained = explain(text)
    assert (explained.valid, explained.problem, explained.headline) == (False, problem, problem)


def test_codes_are_found_in_a_server_reply_in_order_once_each() -> None:
    reply = "550-5.7.26 Unauthenticated mail. 550-5.7.26 See 4.02.001 and v1.2.3.4 or 10.1.1.1"
    assert find_codes(reply) == ["5.7.26", "4.2.1"]
    assert find_codes("no code here") == []
