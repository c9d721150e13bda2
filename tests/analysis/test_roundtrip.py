"""Chains the signer builds must verify, and every earlier instance must come back byte for byte.

Each test builds a chain with :mod:`tests.support.chains` (one kind of change per hop),
verifies the final message with the exact final envelope, and checks:

* the verdict is PASS with no verdict-affecting finding;
* the number of hops and of instances (a hop that changes nothing adds no instance);
* every instance the engine rebuilt from the recipes equals, byte for byte, the
  message the hop that introduced it signed (DKIM2 fields aside: recipes never touch
  them, so every instance carries all of the received message's DKIM2 fields);
* for several cases, the exact recipe the signer wrote and the diff the report shows.

Where S06 leaves the rebuilt bytes open (a removed field's position and name case,
SPEC-NOTES §11 A10; a final partial line, A11) the test says so and spells out the
bytes the engine produces.
"""

from __future__ import annotations

from typing import Any

import pytest

from analysis import State
from analysis.dkim2 import ChainReport
from analysis.dkim2.report import FieldChange
from tests.support.chains import (
    DEFAULT_HEADERS,
    Chain,
    Hop,
    Mod,
    add_header,
    append_body,
    build_chain,
    compose,
    delete_body_line,
    insert_header_above,
    message,
    prepend_body,
    recipe_of,
    remove_header,
    reorder_headers,
    replace_body_line,
    set_body,
    set_header,
    split,
    without_dkim2,
)

ALICE = Hop("example.com", "<alice@example.com>", ["<list@lists.example.org>"])
LIST_ENVELOPE = ("<list-bounces@lists.example.org>", ["<bob@example.net>"])


def list_hop(modify: Mod | None = None, **kw: Any) -> Hop:
    """The mailing list lists.example.org, sending on to bob@example.net."""
    return Hop("lists.example.org", *LIST_ENVELOPE, modify=modify, **kw)


def verdicts(report: ChainReport) -> list[str]:
    return [f.message for f in report.findings if f.affects_verdict]


def assert_roundtrip(
    chain: Chain, *, hops: int, instances: int, revision: str = "auto"
) -> ChainReport:
    """PASS, the counts, and every instance rebuilt byte for byte."""
    report = chain.analyze(revision=revision)
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert report.envelope_checked
    assert len(report.hops) == hops
    assert [h.result for h in report.hops] == [State.PASS] * hops
    assert [h.hop for h in report.hops] == list(range(1, hops + 1))
    assert [x.instance for x in report.instances] == list(range(1, instances + 1))
    assert sorted(chain.instance_bytes) == list(range(1, instances + 1))
    for inst in report.instances:
        assert inst.result == State.PASS
        assert all(c.match for c in inst.checks)
        got = inst.message_bytes()
        assert got is not None
        assert without_dkim2(got) == without_dkim2(chain.instance_bytes[inst.instance]), (
            f"instance m={inst.instance}"
        )
    # The received instance is the message itself.
    assert report.instances[-1].reconstructed is False
    assert report.instances[-1].message_bytes() == chain.message
    return report


# -- one hop ---------------------------------------------------------------------------------------


def test_originator_alone() -> None:
    chain = build_chain(message(), [ALICE])
    report = assert_roundtrip(chain, hops=1, instances=1)
    hop = report.hops[0]
    assert (hop.domain, hop.mail_from, hop.rcpt_to) == (
        "example.com",
        "<alice@example.com>",
        ["<list@lists.example.org>"],
    )
    assert hop.introduced_instance == 1
    assert hop.custody_link == "first"
    assert [(s.selector, s.algorithm, s.result) for s in hop.selectors] == [
        ("ed1", "ed25519-sha256", "pass")
    ]
    assert report.diffs == []
    assert chain.signed[0].role == "originator"


# -- header recipes --------------------------------------------------------------------------------


def test_header_changed() -> None:
    chain = build_chain(message(), [ALICE, list_hop(set_header("Subject", "[list] Hello"))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"h": {"subject": [{"d": [" Hello"]}]}}
    (diff,) = report.diffs
    assert (diff.before, diff.after, diff.hop, diff.hop_domain) == (1, 2, 2, "lists.example.org")
    assert diff.header_changes == [FieldChange("Subject", "changed", "Hello", "[list] Hello")]
    assert diff.body_changed is False
    assert diff.body_diff == []
    assert diff.explained is True
    assert report.hops[1].introduced_instance == 2


def test_header_added_is_undone_by_an_empty_recipe() -> None:
    chain = build_chain(message(), [ALICE, list_hop(add_header("List-Id", "<l.example.org>"))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"h": {"list-id": []}}
    assert report.diffs[0].header_changes == [
        FieldChange("List-Id", "added", None, "<l.example.org>")
    ]


def test_header_removed_from_the_top() -> None:
    """The rebuilt field goes on top (A10) with the recipe's lower-case name: S06 §5.1 keys
    are lower case and the original spelling is not recorded.  Hash-neutral either way."""
    start = message([("Comments", "internal"), *DEFAULT_HEADERS])
    chain = build_chain(start, [ALICE, list_hop(remove_header("Comments"))])
    report = chain.analyze()
    assert report.result == State.PASS
    assert recipe_of(chain.message, 2) == {"h": {"comments": [{"d": [" internal"]}]}}
    m1 = report.instances[0].message_bytes()
    assert m1 is not None
    fields, _ = split(m1)
    assert fields[0] == b"comments: internal\r\n"
    assert without_dkim2(m1) == without_dkim2(chain.instance_bytes[1]).replace(
        b"Comments:", b"comments:"
    )
    assert report.diffs[0].header_changes == [FieldChange("comments", "removed", "internal", None)]


def test_header_removed_from_the_middle_is_rebuilt_on_top() -> None:
    start = message([*DEFAULT_HEADERS[:2], ("Keywords", "k1"), *DEFAULT_HEADERS[2:]])
    chain = build_chain(start, [ALICE, list_hop(remove_header("Keywords"))])
    report = chain.analyze()
    assert verdicts(report) == []
    assert report.result == State.PASS
    m1 = report.instances[0].message_bytes()
    assert m1 is not None
    fields, body = split(without_dkim2(m1))
    expected_fields, expected_body = split(without_dkim2(chain.instance_bytes[1]))
    assert fields[0] == b"keywords: k1\r\n"
    assert fields[1:] == [f for f in expected_fields if not f.startswith(b"Keywords:")]
    assert body == expected_body


def test_same_name_field_inserted_in_the_middle_spec_example_b() -> None:
    """SPEC-NOTES §4.5 (b): Foo C, B, A; a hop inserts NEW above B (bottom-up numbering)."""
    start = message([*DEFAULT_HEADERS, ("Foo", "C"), ("Foo", "B"), ("Foo", "A")])
    chain = build_chain(start, [ALICE, list_hop(insert_header_above("Foo", "NEW", nth=2))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"h": {"foo": [{"c": [1, 2]}, {"c": [4, 4]}]}}
    assert report.diffs[0].header_changes == [FieldChange("Foo", "added", None, "NEW")]


def test_one_of_several_same_name_fields_changed() -> None:
    start = message([*DEFAULT_HEADERS, ("Foo", "C"), ("Foo", "B"), ("Foo", "A")])
    chain = build_chain(start, [ALICE, list_hop(set_header("Foo", "B2", nth=2))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {
        "h": {"foo": [{"c": [1, 1]}, {"d": [" B"]}, {"c": [3, 3]}]}
    }
    assert report.diffs[0].header_changes == [FieldChange("Foo", "changed", "B", "B2")]


def test_same_name_fields_reordered() -> None:
    """Same-name order matters to the header hash (bottom-up, S06 §6.2 step 8)."""
    start = message([*DEFAULT_HEADERS, ("Foo", "C"), ("Foo", "B"), ("Foo", "A")])
    chain = build_chain(start, [ALICE, list_hop(reorder_headers("Foo", [3, 1, 2]))])
    assert_roundtrip(chain, hops=2, instances=2)
    steps = recipe_of(chain.message, 2)["h"]["foo"]
    assert all(set(s) <= {"c", "d"} for s in steps)


def test_several_same_name_fields_added_and_removed() -> None:
    start = message([*DEFAULT_HEADERS, ("Foo", "1"), ("Foo", "2")])
    mod = compose(
        remove_header("Foo", nth=1),
        add_header("Foo", "3", at=-1),
        add_header("Foo", "4", at=-1),
    )
    chain = build_chain(start, [ALICE, list_hop(mod)])
    report = assert_roundtrip(chain, hops=2, instances=2)
    kinds = sorted((c.kind, c.old, c.new) for c in report.diffs[0].header_changes)
    assert kinds == [("added", None, "3"), ("added", None, "4"), ("removed", "1", None)]


# -- body recipes ----------------------------------------------------------------------------------


def test_footer_appended() -> None:
    chain = build_chain(message(), [ALICE, list_hop(append_body("-- ", "list footer"))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"b": [{"c": [1, 3]}]}
    (diff,) = report.diffs
    assert diff.header_changes == []
    assert diff.body_changed is True
    assert diff.body_diff == [
        "--- before",
        "+++ after",
        "@@ -1,3 +1,5 @@",
        " Line one.",
        " Line two.",
        " Line three.",
        "+-- ",
        "+list footer",
    ]


def test_line_inserted_at_the_top() -> None:
    chain = build_chain(message(), [ALICE, list_hop(prepend_body("[EXTERNAL] Be careful."))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"b": [{"c": [2, 4]}]}
    assert report.diffs[0].body_diff == [
        "--- before",
        "+++ after",
        "@@ -1,3 +1,4 @@",
        "+[EXTERNAL] Be careful.",
        " Line one.",
        " Line two.",
        " Line three.",
    ]


def test_line_replaced_in_the_middle_spec_example_c() -> None:
    """SPEC-NOTES §4.5 (c): line 10 of a 40-line body replaced."""
    body = "".join(f"{'old line 10' if n == 10 else f'line {n}'}\r\n" for n in range(1, 41))
    chain = build_chain(message(body=body), [ALICE, list_hop(replace_body_line(10, "new 10"))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {
        "b": [{"c": [1, 9]}, {"d": ["old line 10"]}, {"c": [11, 40]}]
    }
    assert report.diffs[0].body_diff == [
        "--- before",
        "+++ after",
        "@@ -7,7 +7,7 @@",
        " line 7",
        " line 8",
        " line 9",
        "-old line 10",
        "+new 10",
        " line 11",
        " line 12",
        " line 13",
    ]


def test_line_deleted() -> None:
    chain = build_chain(message(), [ALICE, list_hop(delete_body_line(2))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {
        "b": [{"c": [1, 1]}, {"d": ["Line two."]}, {"c": [2, 2]}]
    }
    assert report.diffs[0].body_diff == [
        "--- before",
        "+++ after",
        "@@ -1,3 +1,2 @@",
        " Line one.",
        "-Line two.",
        " Line three.",
    ]


def test_empty_body_gets_a_footer() -> None:
    chain = build_chain(message(body=b""), [ALICE, list_hop(append_body("footer"))])
    assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"b": []}


def test_body_emptied() -> None:
    chain = build_chain(message(), [ALICE, list_hop(set_body(b""))])
    assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"b": [{"d": ["Line one.", "Line two.", "Line three."]}]}


def test_body_without_final_crlf_kept_by_a_header_change() -> None:
    start = message(body=b"Line one.\r\nno final line end")
    chain = build_chain(start, [ALICE, list_hop(set_header("Subject", "Re: Hello"))])
    assert_roundtrip(chain, hops=2, instances=2)
    assert chain.message.endswith(b"\r\n\r\nLine one.\r\nno final line end")


def test_body_without_final_crlf_then_footer() -> None:
    """A11: a trailing partial line is a line; copying it emits it with a CRLF, which the
    body hash cannot tell apart (S06 §6.1 adds the missing CRLF)."""
    start = message(body=b"Line one.\r\nno final line end")
    chain = build_chain(start, [ALICE, list_hop(append_body("footer"))])
    report = chain.analyze()
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert recipe_of(chain.message, 2) == {"b": [{"c": [1, 2]}]}
    m1 = report.instances[0].message_bytes()
    assert m1 is not None
    assert without_dkim2(m1) == without_dkim2(chain.instance_bytes[1]) + b"\r\n"


def test_trailing_empty_lines_survive_a_footer() -> None:
    start = message(body=b"Text\r\n\r\n\r\n")
    chain = build_chain(start, [ALICE, list_hop(append_body("footer"))])
    assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {"b": [{"c": [1, 3]}]}


def test_trailing_empty_lines_removed_is_no_change() -> None:
    """Empty lines at the end are outside the body hash (S06 §6.1): the hop is a forwarder."""
    start = message(body=b"Text\r\n\r\n\r\n")
    chain = build_chain(start, [ALICE, list_hop(set_body(b"Text\r\n"))])
    report = chain.analyze()
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert chain.signed[1].role == "forwarder"
    assert [x.instance for x in report.instances] == [1]
    assert report.hops[1].introduced_instance is None


def test_non_ascii_utf8_lines_and_fields() -> None:
    start = message(
        [*DEFAULT_HEADERS[:2], ("Subject", "Grüße aus Köln")],
        body="Première ligne\r\n日本語の行\r\nDritte Zeile: Straße\r\n",
    )
    mod = compose(
        set_header("Subject", "[liste] Grüße aus Köln"),
        replace_body_line(2, "二行目"),
        append_body("— pied de page —"),
    )
    chain = build_chain(start, [ALICE, list_hop(mod)])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert recipe_of(chain.message, 2) == {
        "h": {"subject": [{"d": [" Grüße aus Köln"]}]},
        "b": [{"c": [1, 1]}, {"d": ["日本語の行"]}, {"c": [3, 3]}],
    }
    (diff,) = report.diffs
    assert diff.header_changes == [
        FieldChange("Subject", "changed", "Grüße aus Köln", "[liste] Grüße aus Köln")
    ]
    assert "-日本語の行" in diff.body_diff
    assert "+二行目" in diff.body_diff
    assert "+— pied de page —" in diff.body_diff


# -- hops that change nothing, selectors, hashes ---------------------------------------------------


def test_forwarder_adds_no_instance() -> None:
    fwd = Hop("example.net", "<fwd@example.net>", ["<carol@dest.test>"])
    chain = build_chain(message(), [ALICE, list_hop(), fwd])
    report = assert_roundtrip(chain, hops=3, instances=1)
    assert [s.role for s in chain.signed] == ["originator", "forwarder", "forwarder"]
    assert [(h.instance, h.introduced_instance) for h in report.hops] == [
        (1, 1),
        (1, None),
        (1, None),
    ]
    assert report.diffs == []
    assert chain.message.count(b"Message-Instance:") == 1


def test_trace_and_whitespace_changes_are_no_change() -> None:
    """Unsigned fields (S06 §4) and whitespace the header hash folds away (S06 §6.2) do not
    change the hashes: the hop is a forwarder and adds no instance."""
    mod = compose(
        add_header("Received", "from a by b; Thu, 15 Jan 2027 10:00:01 +0000"),
        add_header("X-Spam-Score", "0.1"),
        add_header("Authentication-Results", "mx.example.net; dkim2=pass"),
        set_header("Subject", "  Hello  "),
        set_header("To", "Bob\r\n  <bob@example.net>"),
    )
    chain = build_chain(message(), [ALICE, list_hop(mod)])
    report = chain.analyze()
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert chain.signed[1].role == "forwarder"
    assert [x.instance for x in report.instances] == [1]


def test_folded_field_changed_is_rebuilt_unfolded() -> None:
    """Literals carry the unfolded value (S06 §5.1); folding is invisible to the hash."""
    start = message([*DEFAULT_HEADERS[:2], ("Subject", "a long\r\n subject")])
    chain = build_chain(start, [ALICE, list_hop(set_header("Subject", "short"))])
    report = chain.analyze()
    assert verdicts(report) == []
    assert recipe_of(chain.message, 2) == {"h": {"subject": [{"d": [" a long subject"]}]}}
    m1 = report.instances[0].message_bytes()
    assert m1 is not None
    assert without_dkim2(m1) == without_dkim2(chain.instance_bytes[1]).replace(
        b"a long\r\n subject", b"a long subject"
    )


def test_dkim2_field_names_in_any_case() -> None:
    """Field names are case-insensitive; the signing input lower-cases them (S06 §9.6)."""
    chain = build_chain(message(), [ALICE, list_hop(append_body("footer"))])
    raw = chain.message.replace(b"DKIM2-Signature:", b"dkim2-SIGNATURE:").replace(
        b"Message-Instance:", b"MESSAGE-instance:"
    )
    report = chain.analyze(raw)
    assert verdicts(report) == []
    assert report.result == State.PASS
    assert len(report.instances) == 2


def test_two_selectors_rsa_and_ed25519_in_one_signature() -> None:
    hop = Hop(
        "example.com",
        "<alice@example.com>",
        ["<list@lists.example.org>"],
        selectors=("rsa1", "ed1"),
    )
    chain = build_chain(message(), [hop, list_hop(append_body("footer"), selectors=("rsa2",))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert [(s.selector, s.algorithm, s.result, s.key_bits) for s in report.hops[0].selectors] == [
        ("rsa1", "rsa-sha256", "pass", 2048),
        ("ed1", "ed25519-sha256", "pass", 256),
    ]
    assert [(s.selector, s.result) for s in report.hops[1].selectors] == [("rsa2", "pass")]


def test_sha256_and_sha512_hashes() -> None:
    alice = Hop(
        "example.com",
        "<alice@example.com>",
        ["<list@lists.example.org>"],
        hashes=("sha256", "sha512"),
    )
    mod = compose(set_header("Subject", "[l] Hello"), append_body("footer"))
    chain = build_chain(message(), [alice, list_hop(mod, hashes=("sha512", "sha256"))])
    report = assert_roundtrip(chain, hops=2, instances=2)
    for inst in report.instances:
        assert sorted((c.algorithm, c.part) for c in inst.checks) == [
            ("sha256", "body"),
            ("sha256", "header"),
            ("sha512", "body"),
            ("sha512", "header"),
        ]


def test_sha512_only() -> None:
    alice = Hop(
        "example.com", "<alice@example.com>", ["<list@lists.example.org>"], hashes=("sha512",)
    )
    chain = build_chain(message(), [alice, list_hop(append_body("f"), hashes=("sha512",))])
    assert_roundtrip(chain, hops=2, instances=2)


# -- envelope forms --------------------------------------------------------------------------------


def test_nd_hop_then_the_named_domain() -> None:
    """S06 §9.3: the arrival domain signs with nd=, the sending domain signs next."""
    hops = [
        Hop("example.com", "<alice@example.com>", ["<bob@inbound.example.net>"]),
        Hop("inbound.example.net", nd="outbound.example.org"),
        Hop(
            "outbound.example.org",
            "<fwd@outbound.example.org>",
            ["<carol@dest.test>"],
            modify=append_body("forwarded"),
        ),
    ]
    chain = build_chain(message(), hops)
    report = assert_roundtrip(chain, hops=3, instances=2)
    assert chain.envelopes[1] is None
    assert report.hops[1].next_domain == "outbound.example.org"
    assert report.hops[1].mail_from is None
    assert [h.custody_link for h in report.hops] == ["first", "ok", "ok"]
    assert report.hops[2].introduced_instance == 2


def test_null_sender_dsn() -> None:
    """A DSN: MAIL FROM <> (mf=PD4=), sent back to the hop's mf= (S06 §12)."""
    dsn = message(
        [
            ("From", "Mail Delivery System <mailer-daemon@mx.example.net>"),
            ("To", "alice@example.com"),
            ("Subject", "Undelivered Mail Returned to Sender"),
        ],
        body="The message could not be delivered.\r\n",
    )
    chain = build_chain(dsn, [Hop("mx.example.net", "<>", ["<alice@example.com>"])])
    report = assert_roundtrip(chain, hops=1, instances=1)
    assert report.hops[0].mail_from == "<>"
    assert b"mf=PD4=;" in chain.message


def test_null_sender_hop_after_a_forward() -> None:
    """An mf=<> hop links to the previous hop by its d= (SPEC-NOTES §11 A19)."""
    hops = [
        Hop("example.com", "<alice@example.com>", ["<bob@example.net>"]),
        Hop("example.net", "<>", ["<carol@dest.test>"], modify=prepend_body("auto-reply")),
    ]
    chain = build_chain(message(), hops)
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert report.hops[1].custody_link == "ok"


def test_exploded_flag_and_nonce() -> None:
    hops = [
        Hop(
            "example.com",
            "<alice@example.com>",
            ["<list@lists.example.org>"],
            nonce="dsn-key:42/abc",
        ),
        list_hop(append_body("footer"), flags=("exploded", "feedhere")),
    ]
    chain = build_chain(message(), hops)
    report = assert_roundtrip(chain, hops=2, instances=2)
    assert report.hops[0].nonce == "dsn-key:42/abc"
    assert report.hops[1].flags == ["exploded", "feedhere"]
    assert report.exploded is True
    assert report.replay_key is not None and report.replay_key.startswith("sha256:")


def test_several_recipients_in_rt() -> None:
    alice = Hop(
        "example.com",
        "<alice@example.com>",
        ["<bob@example.net>", "<carol@example.net>", "<dave@other.test>"],
    )
    chain = build_chain(message(), [alice])
    report = chain.analyze(envelope=alice.envelope)
    assert report.result == State.PASS
    assert report.hops[0].rcpt_to == [
        "<bob@example.net>",
        "<carol@example.net>",
        "<dave@other.test>",
    ]


# -- long chains -----------------------------------------------------------------------------------


def test_six_hops_every_kind_of_change() -> None:
    start = message([*DEFAULT_HEADERS, ("Foo", "B"), ("Foo", "A")])
    hops = [
        Hop("example.com", "<alice@example.com>", ["<list@lists.example.org>"]),
        Hop(
            "lists.example.org",
            "<bounces@lists.example.org>",
            ["<bob@example.net>"],
            modify=compose(set_header("Subject", "[list] Hello"), append_body("-- ", "footer")),
            selectors=("rsa1", "ed2"),
        ),
        Hop(
            "example.net",
            "<bob+fwd@example.net>",
            ["<carol@gw.example.org>"],
            modify=prepend_body("[EXTERNAL]"),
            hashes=("sha256", "sha512"),
        ),
        Hop("gw.example.org", nd="mx.example.org"),
        Hop(
            "mx.example.org",
            "<relay@mx.example.org>",
            ["<carol@inbox.test>"],
            modify=compose(insert_header_above("Foo", "NEW", nth=2), delete_body_line(3)),
            flags=("exploded",),
        ),
        Hop(
            "inbox.test",
            "<store@inbox.test>",
            ["<carol@mailbox.inbox.test>"],
            modify=replace_body_line(2, "Line ONE."),
            nonce="n-6",
        ),
    ]
    chain = build_chain(start, hops)
    report = assert_roundtrip(chain, hops=6, instances=5)
    assert [s.role for s in chain.signed] == [
        "originator",
        "reviser",
        "reviser",
        "forwarder",
        "reviser",
        "reviser",
    ]
    assert [h.introduced_instance for h in report.hops] == [1, 2, 3, None, 4, 5]
    assert [(d.before, d.after, d.hop) for d in report.diffs] == [
        (1, 2, 2),
        (2, 3, 3),
        (3, 4, 5),
        (4, 5, 6),
    ]
    assert report.diffs[2].header_changes == [FieldChange("Foo", "added", None, "NEW")]


def _revision_chain(revision: str, length: int) -> Chain:
    """A chain of ``length`` hops whose signers all follow ``revision``.

    Every revision: the message carries Auto-Submitted (unsigned up to -07, signed from -08)
    and the From domain is the originator's (-07 on: From-Authentic); hop k (from 2) appends
    a footer line.  -07 on: the first body line is not UTF-8 and hop 2 rewrites it, so its
    recipe needs a "u" step.  -08 on: odd hops sign with two groups (ed25519 and RSA, or
    ML-DSA-44 alone) and record two hash groups.
    """
    headers = [("From", "Alice <a@h1.example>"), *DEFAULT_HEADERS[1:]]
    headers.append(("Auto-Submitted", "auto-generated"))
    body: bytes = b"Line one.\r\nLine two.\r\n"
    if revision >= "07":
        body = b"Caf\xe9 au lait (ISO-8859-1).\r\n" + body
    groups = revision >= "08"
    hops = []
    for k in range(1, length + 1):
        mods: list[Mod] = []
        if k >= 2:
            mods.append(append_body(f"footer {k}"))
        if k == 2 and revision >= "07":
            mods.append(replace_body_line(1, "Café au lait (UTF-8)."))
        odd = k % 2 == 1
        hops.append(
            Hop(
                f"h{k}.example",
                f"<a@h{k}.example>",
                [f"<b@h{k + 1}.example>"],
                modify=compose(*mods) if mods else None,
                revision=revision,
                selectors=("ed1", "rsa1") if groups and odd else ("ed1",),
                selector_groups=[("pq1",)] if groups and odd else (),
                hash_groups=[("sha256",), ("sha512",)] if groups and odd else (),
            )
        )
    return build_chain(message(headers, body), hops)


@pytest.mark.parametrize("revision", ["06", "07", "08", "09"])
@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 6])
def test_chains_of_each_length_under_each_revision(revision: str, length: int) -> None:
    """A chain the signer makes for revision R verifies as pass under R, every instance
    rebuilt byte for byte."""
    chain = _revision_chain(revision, length)
    report = assert_roundtrip(chain, hops=length, instances=length, revision=revision)
    assert report.revision == revision
    assert report.level == "fully-verified"
    for k, inst in enumerate(report.instances, 1):
        assert inst.body is not None
        assert inst.body.to_bytes().count(b"footer") == k - 1
    if revision >= "07" and length >= 2:
        assert recipe_of(chain.message, 2)["b"][0] == {
            "u": ["Q2Fm6SBhdSBsYWl0IChJU08tODg1OS0xKS4="]
        }
    if revision >= "08":
        first = report.hops[0]
        assert [(s.selector, s.algorithm, s.group, s.result) for s in first.selectors] == [
            ("ed1", "ed25519-sha256", 1, "pass"),
            ("rsa1", "rsa-sha256", 1, "pass"),
            ("pq1", "mldsa44", 2, "pass"),
        ]
