"""What changed, even without a recipe (analysis.change_search, issue #12 point 2).

A corpus of messages signed with DKIM2 (one hop, tests.support.chains) or DKIM1 (dkimpy's
signer, tests.support.mailauth) and edited after signing, as an intermediary or a copy
would (tests.support.changes).  For each, the search names the exact edit, who likely made
it, and the diff of the change: the diff between the body (or header fields) as signed and
as edited, exactly.  Where no usual edit explains the change, it says so in words, never
"no changes".  The budget of a hostile message is hit and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from analysis import change_search, dkim1, limits
from analysis.change_search import KINDS, ChangeSearch, SearchBudget, search_body
from analysis.dkim2 import analyze
from analysis.dkim2.history import body_diff, header_changes
from analysis.dkim2.sign import sign
from analysis.message import Body, parse_message
from analysis.resolvers import StaticResolver
from tests.support.chains import Hop, build_chain, signing_key, split, zone_for
from tests.support.changes import (
    ALTERNATIVE,
    HOP,
    LONG,
    LONG_SUBJECT,
    MIXED,
    TEXT,
    WIDE,
    Edit,
    add_field,
    add_footer_part,
    append_lines,
    both,
    break_at,
    dkim1_search,
    dkim1_signed,
    dkim2_report,
    dkim2_search,
    html_footer,
    lose_fold,
    lose_last_line_feed,
    on_body,
    part_to_base64,
    prepend_lines,
    remove_field,
    replace_text,
    set_field,
    text_part_banner,
    text_part_footer,
    to_quoted_printable,
    wrap_at,
    wrap_in_multipart,
)
from tests.support.mailauth import NOW

TAGGED = "[lunch] Lunch on Friday"
FOOTER = ("-- ", "lunch list", "unsubscribe: lunch-leave@example.com")
BANNER = ("CAUTION: this message comes from outside the company.", "")
LIST_ID = add_field("List-Id", "Lunch <lunch.example.com>")
DOUBLED = on_body(lambda body: body.replace(b"\r\n", b"\r\r\n"))
RELAY = " (as a relay does for a receiver without 8BITMIME, RFC 6152)"
COPY = (
    "This is a change that copying a message makes (a mail program saving it, a copy and "
    "paste), not one a hop makes: your copy changed it: upload the original file."
)


@dataclass(frozen=True)
class Case:
    id: str
    start: bytes
    edit: Edit
    part: str  # DKIM2: "body" or "header"; DKIM1: the c= value
    kinds: tuple[str, ...]
    made_by: str
    words: str  # the edits' words, " | " between two


DKIM2_CASES = (
    Case(
        "footer",
        TEXT,
        append_lines(*FOOTER),
        "body",
        ("footer-appended",),
        "hop",
        'a footer of 3 lines was appended at the end of the body, beginning "-- "',
    ),
    Case(
        "banner",
        TEXT,
        prepend_lines(*BANNER),
        "body",
        ("banner-prepended",),
        "hop",
        "a banner of 2 lines was added at the start of the body, beginning "
        '"CAUTION: this message comes from outside the company."',
    ),
    Case(
        "part-footer",
        ALTERNATIVE,
        text_part_footer,
        "body",
        ("footer-appended",),
        "hop",
        "a footer of 1 line was appended at the end of MIME part 1 (text/plain), beginning "
        '"-- lunch list"',
    ),
    Case(
        "html-footer",
        ALTERNATIVE,
        html_footer,
        "body",
        ("footer-appended",),
        "hop",
        "a footer of 1 line was appended at the end of the HTML of MIME part 2 (text/html), "
        'before </body>, beginning "<p>Sent through the lunch list</p>"',
    ),
    Case(
        "part-banner",
        ALTERNATIVE,
        text_part_banner,
        "body",
        ("banner-prepended",),
        "hop",
        "a banner of 1 line was added at the start of MIME part 1 (text/plain), beginning "
        '"[External sender] Be careful with links."',
    ),
    Case(
        "footer-part",
        MIXED,
        add_footer_part,
        "body",
        ("footer-part-added",),
        "hop",
        'a MIME part (text/plain) was added at the end of the message, beginning "Lunch list '
        'footer"',
    ),
    Case(
        "wrapped-body",
        TEXT,
        wrap_in_multipart,
        "body",
        ("footer-part-added",),
        "hop",
        "the message was wrapped in a multipart/mixed with a footer part (text/plain) added "
        "after it",
    ),
    Case(
        "doubled-line-ends",
        TEXT,
        DOUBLED,
        "body",
        ("line-ends-rewritten",),
        "copy",
        "the line ends of 8 lines were doubled to CR CR LF (a file copied in text mode on Windows)",
    ),
    Case(
        "last-line-feed-lost",
        TEXT,
        lose_last_line_feed,
        "body",
        ("line-ends-rewritten",),
        "copy",
        "1 line ends in a bare CR instead of CR LF (a last line end cut short, or old Mac "
        "line ends)",
    ),
    Case(
        "dot-stuffed",
        TEXT,
        replace_text("\r\n.NET", "\r\n..NET"),
        "body",
        ("dot-stuffed",),
        "copy",
        "1 line starts with the extra dot SMTP adds in transit (dot-stuffing, RFC 5321 "
        "§4.5.2), kept when the message was saved",
    ),
    Case(
        "trailing-spaces",
        TEXT,
        replace_text("Hi Bob,\r\n", "Hi Bob,  \r\n"),
        "body",
        ("trailing-whitespace",),
        "copy",
        "spaces or tabs were added at the end of 1 line",
    ),
    Case(
        "separator-space-lost",
        TEXT,
        replace_text("\r\n-- \r\n", "\r\n--\r\n"),
        "body",
        ("trailing-whitespace",),
        "copy",
        'the signature separator "-- " lost its trailing space (1 line, RFC 3676 §4.3)',
    ),
    Case(
        "wrapped-at-72",
        LONG,
        wrap_at(72),
        "body",
        ("lines-wrapped",),
        "copy",
        "long lines of the body were wrapped at 72 characters (3 line breaks added)",
    ),
    Case(
        "broken-at-998",
        WIDE,
        break_at(998),
        "body",
        ("lines-wrapped",),
        "hop",
        "2 lines of the body longer than 998 octets were broken by a relay (RFC 5322 §2.1.1 "
        "limits a line to 998 octets)",
    ),
    Case(
        "quoted-printable-body",
        TEXT,
        to_quoted_printable,
        "body",
        ("transfer-encoding-changed",),
        "hop",
        "the body was re-encoded from 8bit to quoted-printable" + RELAY,
    ),
    Case(
        "base64-part",
        MIXED,
        part_to_base64,
        "body",
        ("transfer-encoding-changed",),
        "hop",
        "MIME part 1 (text/plain) was re-encoded from 8bit to base64" + RELAY,
    ),
    Case(
        "subject-tag",
        TEXT,
        set_field("Subject", TAGGED),
        "header",
        ("subject-tag",),
        "hop",
        'the Subject was tagged "[lunch]"',
    ),
    Case(
        "subject-external",
        TEXT,
        set_field("Subject", "*EXTERNAL* Lunch on Friday"),
        "header",
        ("subject-tag",),
        "hop",
        'the Subject was tagged "*EXTERNAL*"',
    ),
    Case(
        "list-id",
        TEXT,
        LIST_ID,
        "header",
        ("header-field-added",),
        "hop",
        "a List-Id field was added",
    ),
    Case(
        "list-fields",
        TEXT,
        both(
            LIST_ID,
            add_field("List-Unsubscribe", "<mailto:lunch-leave@example.com>"),
            add_field("List-Post", "<mailto:lunch@example.com>"),
        ),
        "header",
        ("header-field-added",),
        "hop",
        "3 List-* fields (List-Post, List-Unsubscribe, List-Id) were added",
    ),
    Case(
        "tag-and-list-id",
        TEXT,
        both(set_field("Subject", TAGGED), LIST_ID),
        "header",
        ("subject-tag", "header-field-added"),
        "hop",
        'the Subject was tagged "[lunch]" | a List-Id field was added',
    ),
    Case(
        "from-rewritten",
        TEXT,
        both(
            set_field("From", "Alice via Lunch <lunch@example.com>"),
            add_field("X-Original-From", "Alice <alice@example.com>"),
        ),
        "header",
        ("header-field-changed",),
        "hop",
        "the From field was rewritten (X-Original-From keeps the original)",
    ),
    Case(
        "field-removed",
        TEXT,
        both(remove_field("Message-ID"), add_field("X-Original-Message-ID", "<lunch@example.com>")),
        "header",
        ("header-field-removed",),
        "hop",
        "a Message-ID field was removed (X-Original-Message-ID keeps it)",
    ),
    Case(
        "refolded",
        TEXT,
        set_field("Subject", "Lunch on Fri\r\n day"),
        "header",
        ("header-field-refolded",),
        "hop",
        "the Subject field was refolded, with a line break where it had no space",
    ),
    Case(
        "fold-lost",
        LONG_SUBJECT,
        lose_fold,
        "header",
        ("header-field-refolded",),
        "copy",
        "1 folded line of the Subject field lost its leading whitespace, so it no longer "
        "continues it (an editor or a copy and paste trims lines)",
    ),
    Case(
        "quoted-printable-header",
        TEXT,
        to_quoted_printable,
        "header",
        ("transfer-encoding-changed",),
        "hop",
        "Content-Transfer-Encoding was changed from 8bit to quoted-printable",
    ),
    Case(
        "wrapped-header",
        TEXT,
        wrap_in_multipart,
        "header",
        ("footer-part-added",),
        "hop",
        "Content-Type was changed from text/plain; charset=utf-8 to multipart/mixed (the "
        "message was wrapped to add a footer part)",
    ),
)

DKIM1_CASES = (
    Case(
        "footer",
        TEXT,
        append_lines(*FOOTER),
        "relaxed/simple",
        ("footer-appended",),
        "hop",
        'a footer of 3 lines was appended at the end of the body, beginning "-- "',
    ),
    Case(
        "banner",
        TEXT,
        prepend_lines(*BANNER),
        "relaxed/relaxed",
        ("banner-prepended",),
        "hop",
        "a banner of 2 lines was added at the start of the body, beginning "
        '"CAUTION: this message comes from outside the company."',
    ),
    Case(
        "html-footer",
        ALTERNATIVE,
        html_footer,
        "relaxed/simple",
        ("footer-appended",),
        "hop",
        "a footer of 1 line was appended at the end of the HTML of MIME part 2 (text/html), "
        'before </body>, beginning "<p>Sent through the lunch list</p>"',
    ),
    Case(
        "footer-part",
        MIXED,
        add_footer_part,
        "relaxed/simple",
        ("footer-part-added",),
        "hop",
        'a MIME part (text/plain) was added at the end of the message, beginning "Lunch list '
        'footer"',
    ),
    Case(
        "wrapped-body",
        TEXT,
        wrap_in_multipart,
        "relaxed/relaxed",
        ("footer-part-added",),
        "hop",
        "the message was wrapped in a multipart/mixed with a footer part (text/plain) added "
        "after it",
    ),
    Case(
        "doubled-line-ends",
        TEXT,
        DOUBLED,
        "relaxed/simple",
        ("line-ends-rewritten",),
        "copy",
        "the line ends of 8 lines were doubled to CR CR LF (a file copied in text mode on Windows)",
    ),
    Case(
        "dot-stuffed",
        TEXT,
        replace_text("\r\n.NET", "\r\n..NET"),
        "relaxed/relaxed",
        ("dot-stuffed",),
        "copy",
        "1 line starts with the extra dot SMTP adds in transit (dot-stuffing, RFC 5321 "
        "§4.5.2), kept when the message was saved",
    ),
    Case(
        "trailing-tab",
        TEXT,
        replace_text("Hi Bob,\r\n", "Hi Bob,\t\r\n"),
        "simple/simple",
        ("trailing-whitespace",),
        "copy",
        "spaces or tabs were added at the end of 1 line",
    ),
    Case(
        "separator-space-lost",
        TEXT,
        replace_text("\r\n-- \r\n", "\r\n--\r\n"),
        "simple/simple",
        ("trailing-whitespace",),
        "copy",
        'the signature separator "-- " lost its trailing space (1 line, RFC 3676 §4.3)',
    ),
    Case(
        "wrapped-at-76",
        LONG,
        wrap_at(76),
        "relaxed/relaxed",
        ("lines-wrapped",),
        "copy",
        "long lines of the body were wrapped at 76 characters (3 line breaks added)",
    ),
    Case(
        "quoted-printable-body",
        TEXT,
        to_quoted_printable,
        "relaxed/simple",
        ("transfer-encoding-changed",),
        "hop",
        "the body was re-encoded from 8bit to quoted-printable" + RELAY,
    ),
    Case(
        "base64-part",
        MIXED,
        part_to_base64,
        "relaxed/relaxed",
        ("transfer-encoding-changed",),
        "hop",
        "MIME part 1 (text/plain) was re-encoded from 8bit to base64" + RELAY,
    ),
)


def _named(search: ChangeSearch | None) -> tuple[str, tuple[str, ...], str | None, str]:
    assert search is not None
    return (
        search.outcome,
        tuple(e.kind for e in search.edits),
        search.made_by,
        " | ".join(e.words for e in search.edits),
    )


def _true_body_diff(signed: bytes, edited: bytes) -> tuple[list[str], bool, str]:
    """The diff between the body as signed and as edited (the parser's view of it)."""
    diff = body_diff(Body.of(split(signed)[1]), parse_message(edited).body)
    lines = ["--- as signed (the change undone)", "+++ as analysed", *diff.lines[2:]]
    return lines, diff.truncated, diff.note


@pytest.mark.parametrize("case", DKIM2_CASES, ids=lambda c: c.id)
def test_the_search_names_the_edit_of_a_dkim2_instance_and_its_exact_diff(case: Case) -> None:
    chain = build_chain(case.start, [HOP])
    edited = case.edit(chain.message)
    report = chain.analyze(edited)
    (instance,) = report.instances
    (search,) = [s for s in instance.change_searches if s.part == case.part]
    assert _named(search) == ("identified", case.kinds, case.made_by, case.words)
    diff = (search.body_diff, search.body_diff_truncated, search.body_diff_note)
    if case.part == "body":
        assert diff == _true_body_diff(chain.message, edited)
        assert search.header_changes == []
    else:
        signed_fields = parse_message(chain.message).fields
        assert search.header_changes == header_changes(signed_fields, parse_message(edited).fields)
        assert search.header_changes and diff == ([], False, "")


@pytest.mark.parametrize("case", DKIM1_CASES, ids=lambda c: c.id)
def test_the_search_names_the_edit_of_a_dkim1_body_and_its_exact_diff(case: Case) -> None:
    signed = dkim1_signed(case.start, case.part)
    edited = case.edit(signed)
    report = dkim1.verify(dkim1.prepare(parse_message(edited)), {}, now=NOW)
    (sig,) = report.signatures
    assert sig.body_hash_matches is False  # (no key is published: failed_step is "key")
    assert _named(sig.change_search) == ("identified", case.kinds, case.made_by, case.words)
    assert sig.change_search is not None
    search = sig.change_search
    diff = (search.body_diff, search.body_diff_truncated, search.body_diff_note)
    assert diff == _true_body_diff(signed, edited)


def test_the_corpus_holds_every_kind_and_dkim1_every_body_kind() -> None:
    dkim2 = {k for c in DKIM2_CASES for k in c.kinds}
    dkim1_kinds = {k for c in DKIM1_CASES for k in c.kinds}
    body_kinds = {k for c in DKIM2_CASES if c.part == "body" for k in c.kinds}
    assert dkim2 | {"revision-rules"} == set(KINDS)  # revision-rules: its own test below
    assert dkim1_kinds == body_kinds
    assert len(DKIM2_CASES) + len(DKIM1_CASES) >= 20


# -- the sentence, the diff and the JSON of one search --------------------------------------------


def test_a_footer_a_hop_added_is_named_with_the_hop_and_the_diff() -> None:
    report = dkim2_report(TEXT, append_lines(*FOOTER))
    (instance,) = report.instances
    (search,) = instance.change_searches
    assert search.sentence == (
        "The body changed after hop 1 (example.com) signed Message-Instance m=1: a footer of 3 "
        'lines was appended at the end of the body, beginning "-- ". Undoing this makes the '
        "body hash Message-Instance m=1 records match. It was made by hop 1 (example.com) "
        "after signing, or a mail system after it, without recording it (a hop that changes "
        "a message adds a Message-Instance whose recipe undoes the change)."
    )
    assert search.body_diff == [
        "--- as signed (the change undone)",
        "+++ as analysed",
        "@@ -6,3 +6,6 @@",
        " ",
        " -- ",
        " Alice",
        "+-- ",
        "+lunch list",
        "+unsubscribe: lunch-leave@example.com",
    ]
    data = report.to_json()["instances"][0]["change_searches"][0]
    assert data == {
        "part": "body",
        "outcome": "identified",
        "kind": "footer-appended",
        "edits": [
            {
                "kind": "footer-appended",
                "words": 'a footer of 3 lines was appended at the end of the body, beginning "-- "',
            }
        ],
        "made_by": "hop",
        "sentence": search.sentence,
        "header_changes": [],
        "body_diff": search.body_diff,
        "body_diff_truncated": False,
        "body_diff_note": "",
        "candidates_tried": 3,
        "octets_hashed": search.octets,
    }
    # Three candidates, each the body less 1, 2 and 3 footer lines of 38, 12 and 5 octets.
    size = len(parse_message(report.message.raw).body)
    assert search.octets == 3 * size - (38 + 50 + 55)


def test_a_change_a_copy_makes_tells_to_upload_the_original_file() -> None:
    search = dkim2_search(TEXT, replace_text("\r\n.NET", "\r\n..NET"), "body")
    assert search.sentence == (
        "The body changed after hop 1 (example.com) signed Message-Instance m=1: 1 line starts "
        "with the extra dot SMTP adds in transit (dot-stuffing, RFC 5321 §4.5.2), kept when "
        "the message was saved. Undoing this makes the body hash Message-Instance m=1 records "
        f"match. {COPY}"
    )


def test_a_dkim1_sentence_names_the_signature() -> None:
    sig = dkim1_search(TEXT, append_lines(*FOOTER))
    assert sig.change_search is not None
    assert sig.change_search.sentence == (
        "The body changed after DKIM-Signature 1 (d=example.com) was made: a footer of 3 lines "
        'was appended at the end of the body, beginning "-- ". Undoing this makes its body '
        "hash (bh=) match. It was made by a mail system that handled the message after it was "
        "signed (a mailing list, a forwarder or a security gateway)."
    )
    assert sig.to_json()["change_search"] == sig.change_search.to_json()


def test_nothing_is_searched_when_the_hashes_match() -> None:
    chain = build_chain(TEXT, [HOP])
    report = chain.analyze()
    assert [i.change_searches for i in report.instances] == [[]]
    assert "change_searches" not in report.to_json()["instances"][0]
    d1 = dkim1.verify(dkim1.prepare(parse_message(dkim1_signed(TEXT))), {}, now=NOW)
    assert d1.signatures[0].change_search is None
    assert "change_search" not in d1.signatures[0].to_json()


def test_a_dkim1_signature_with_l_searches_the_signed_octets() -> None:
    """l= covers a prefix: a footer appended after it changes nothing, dot-stuffing inside
    it is found."""
    footer = dkim1_search(TEXT, append_lines(*FOOTER), length=True)
    assert (footer.body_hash_matches, footer.change_search) == (True, None)
    dots = dkim1_search(TEXT, replace_text("\r\n.NET", "\r\n..NET"), length=True)
    assert dots.body_length == 197
    assert _named(dots.change_search)[:3] == ("identified", ("dot-stuffed",), "copy")


def test_a_rebuilt_instance_names_the_hop_whose_recipe_does_not_undo_the_change() -> None:
    """The list appends a footer, then records a recipe as if the footer had already been
    there: the instance it records (m=2) verifies, the rebuilt m=1 does not."""
    first = build_chain(TEXT, [HOP])
    footed = append_lines(*FOOTER)(first.message)
    tagged = set_field("Subject", TAGGED)(footed)
    second = sign(
        tagged,
        domain="lists.example",
        keys=[signing_key("ed1")],
        timestamp=HOP_T + 60,
        mail_from="<lunch-bounces@lists.example>",
        rcpt_to=["<bob@example.net>"],
        previous=footed,
    ).message
    report = analyze(
        second,
        lookup=StaticResolver(zone_for(["example.com", "lists.example"])),
        now=HOP_T + 120,
    )
    m1, m2 = report.instances
    assert (m1.instance, m2.instance, m2.change_searches) == (1, 2, [])
    (search,) = m1.change_searches
    assert _named(search) == (
        "identified",
        ("footer-appended",),
        "hop",
        'a footer of 3 lines was appended at the end of the body, beginning "-- "',
    )
    assert search.sentence.endswith(
        "It was made by hop 2 (lists.example), or a system before it, since hop 2 recorded "
        "Message-Instance m=2 with a recipe that does not undo it."
    )


HOP_T = 1_800_000_000


def test_a_header_hash_made_by_older_rules_is_no_change() -> None:
    """An -06 signer leaves Auto-Submitted out of the header hash; -09 rules hash it."""
    start = TEXT.replace(b"MIME-Version", b"Auto-Submitted: auto-generated\r\nMIME-Version")
    old = Hop("example.com", "<alice@example.com>", ["<bob@example.net>"], revision="06")
    report = dkim2_report(start, lambda msg: msg, hops=[old])
    (instance,) = report.instances
    (search,) = instance.change_searches
    assert _named(search) == (
        "identified",
        ("revision-rules",),
        "signer",
        "the header hash was computed by -06 and -07 rules, which leave Auto-Submitted out of "
        "it, which the -09 rules judging the chain hash",
    )
    assert search.sentence == (
        "Nothing changed the signed header fields: hop 1 (example.com) computed the header "
        "hash Message-Instance m=1 records by -06 and -07 rules, which leave Auto-Submitted "
        "out of it, which the -09 rules judging the chain hash, so it matches under those "
        "rules only. The Draft revisions section says which rule splits them."
    )


# -- what the search could not identify -----------------------------------------------------------

UNIDENTIFIED_BODY = (
    "footers, banners and MIME parts added, line ends, dot-stuffing, whitespace, wrapped "
    "lines and transfer encodings"
)


def _could_not(after: str, tried: int, hash_words: str, families: str = UNIDENTIFIED_BODY) -> str:
    subject = "The body" if families == UNIDENTIFIED_BODY else "The signed header fields"
    return (
        f"{subject} changed in a way that could not be identified after {after}: none of the "
        f"{tried} usual edits tried ({families}) makes {hash_words} match, so something else "
        "rewrote it."
    )


DKIM2_AFTER = "hop 1 (example.com) signed Message-Instance m=1"
DKIM2_BODY_HASH = "the body hash Message-Instance m=1 records"
DKIM1_AFTER = "DKIM-Signature 1 (d=example.com) was made"


@pytest.mark.parametrize(
    ("edit", "tried"),
    [
        pytest.param(replace_text("noon", "one"), 19, id="a-word-changed"),
        pytest.param(both(append_lines(*FOOTER), replace_text("noon", "one")), 25, id="two-edits"),
        pytest.param(
            append_lines(
                *(f"footer line {k}" for k in range(limits.MAX_CHANGE_SEARCH_EDGE_LINES + 1))
            ),
            58,
            id="a-footer-longer-than-the-search-tries",
        ),
    ],
)
def test_a_dkim2_body_change_no_usual_edit_explains_is_not_identified(
    edit: Edit, tried: int
) -> None:
    search = dkim2_search(TEXT, edit, "body")
    assert (search.outcome, search.edits, search.made_by, search.body_diff) == (
        "unidentified",
        [],
        None,
        [],
    )
    assert search.sentence == _could_not(DKIM2_AFTER, tried, DKIM2_BODY_HASH)


HEADER_FAMILIES = (
    "Subject tags, fields added, removed or rewritten, refolded fields and transfer "
    "encodings, alone and in pairs"
)


@pytest.mark.parametrize(
    ("edit", "tried"),
    [
        pytest.param(set_field("From", "Mallory <mallory@example.org>"), 68, id="from-replaced"),
        pytest.param(
            both(set_field("Subject", TAGGED), LIST_ID, set_field("From", "Lunch <l@example.com>")),
            94,
            id="three-edits",
        ),
    ],
)
def test_a_dkim2_header_change_no_usual_edit_explains_is_not_identified(
    edit: Edit, tried: int
) -> None:
    search = dkim2_search(TEXT, edit, "header")
    assert (search.outcome, search.edits, search.header_changes) == ("unidentified", [], [])
    assert search.sentence == _could_not(
        DKIM2_AFTER, tried, "the header hash Message-Instance m=1 records", HEADER_FAMILIES
    )


@pytest.mark.parametrize(
    ("edit", "tried"),
    [
        pytest.param(replace_text("table for two", "table for six"), 20, id="a-word-changed"),
        pytest.param(replace_text("Hi Bob,\r\n\r\nShall", "Shall"), 17, id="lines-deleted"),
    ],
)
def test_a_dkim1_body_change_no_usual_edit_explains_is_not_identified(
    edit: Edit, tried: int
) -> None:
    sig = dkim1_search(TEXT, edit)
    search = sig.change_search
    assert search is not None
    assert (search.outcome, search.kind, search.made_by) == ("unidentified", None, None)
    assert search.sentence == _could_not(DKIM1_AFTER, tried, "its body hash (bh=)")


# -- the budget -----------------------------------------------------------------------------------


def test_the_search_stops_at_its_candidate_limit_and_says_so() -> None:
    """The banner is the 9th candidate: found with 9 allowed, not with 8."""
    at = dkim1_search(TEXT, prepend_lines(*BANNER), budget=SearchBudget(candidates=9))
    assert at.change_search is not None and at.change_search.outcome == "identified"
    past = dkim1_search(TEXT, prepend_lines(*BANNER), budget=SearchBudget(candidates=8))
    assert past.change_search is not None
    assert (past.change_search.outcome, past.change_search.tried) == ("stopped", 8)
    assert past.change_search.sentence == (
        f"The body changed in a way that could not be identified after {DKIM1_AFTER}: the "
        "search stopped at the analyser's limit of 8 candidate edits per message, after 8 "
        f"candidate edits ({UNIDENTIFIED_BODY}), before any made its body hash (bh=) match."
    )


def test_the_search_stops_at_its_octet_limit_and_says_so() -> None:
    """The search reads the body once, then hashes its three candidates: it finds the
    footer with exactly that many octets allowed, not with one fewer."""
    free = dkim1_search(TEXT, append_lines(*FOOTER)).change_search
    assert free is not None and free.tried == 3
    size = len(parse_message(append_lines(*FOOTER)(dkim1_signed(TEXT))).body)
    needed = size + free.octets
    at = dkim1_search(TEXT, append_lines(*FOOTER), budget=SearchBudget(octets=needed))
    assert at.change_search is not None and at.change_search.outcome == "identified"
    past = dkim1_search(TEXT, append_lines(*FOOTER), budget=SearchBudget(octets=needed - 1))
    assert past.change_search is not None
    assert (past.change_search.outcome, past.change_search.tried) == ("stopped", 2)
    assert past.change_search.sentence == (
        f"The body changed in a way that could not be identified after {DKIM1_AFTER}: the "
        f"search stopped at the analyser's limit of {needed - 1:,} octets read and hashed per "
        f"message, after 2 candidate edits ({UNIDENTIFIED_BODY}), before any made its body "
        "hash (bh=) match."
    )


def test_a_search_the_budget_has_no_room_for_is_not_searched_and_says_so() -> None:
    budget = SearchBudget(candidates=3)
    relaxed = dkim1_signed(TEXT, "relaxed/relaxed")
    raw = dkim1_signed(relaxed, "simple/simple")
    edited = append_lines(*FOOTER)(raw)
    report = dkim1.verify(dkim1.prepare(parse_message(edited)), {}, now=NOW, change_budget=budget)
    first, second = (s.change_search for s in report.signatures)
    assert first is not None and second is not None
    assert (first.outcome, first.kind, second.outcome, second.tried) == (
        "identified",
        "footer-appended",
        "stopped",
        0,
    )
    assert second.sentence == (
        "The body changed in a way that could not be identified after DKIM-Signature 2 "
        "(d=example.com) was made: the analyser's limit of 3 candidate edits per message was "
        "spent by the searches before this one, so it was not searched."
    )


def _many_parts(parts: int) -> bytes:
    head = TEXT.split(b"\r\n\r\n", 1)[0].replace(
        b"Content-Type: text/plain; charset=utf-8", b'Content-Type: multipart/mixed; boundary="p"'
    )
    body = b"".join(
        b"--p\r\nContent-Type: text/plain\r\n\r\npart %d of the hostile message\r\n" % k
        for k in range(parts)
    )
    return head + b"\r\n\r\n" + body + b"--p--\r\n"


def test_a_message_of_ten_thousand_parts_reads_fifty_and_stops_at_the_octet_limit() -> None:
    raw = _many_parts(10_000)
    view = change_search._BodyView(parse_message(raw).body, parse_message(raw).fields)
    assert len(view.parts) == limits.MAX_CHANGE_SEARCH_PARTS
    search = dkim2_search(raw, replace_text("part 5000 of", "part 5001 of"), "body")
    assert search.outcome == "stopped"
    assert search.octets <= limits.MAX_CHANGE_SEARCH_OCTETS
    assert search.tried < limits.MAX_CHANGE_SEARCH_CANDIDATES
    assert (
        "the search stopped at the analyser's limit of 67,108,864 octets read and hashed per "
        f"message, after {search.tried:,} candidate edits"
    ) in search.sentence


def test_a_huge_body_is_read_once_tried_twice_and_the_search_stops() -> None:
    """20 MiB: reading it and two candidates fit in the 64 MiB budget, a third does not."""
    assert limits.MAX_CHANGE_SEARCH_OCTETS == 64 * 1024 * 1024
    line = b"the same line of a very large message body\r\n"
    body = line * (20 * 1024 * 1024 // len(line))
    start = TEXT.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
    search = dkim2_search(start, append_lines("x", "y", "z", "q"), "body")
    assert (search.outcome, search.tried) == ("stopped", 2)
    # The body as received (12 octets of lines appended) less "q", then less "z" and "q".
    assert search.octets == 2 * (len(body) + 12) - 9
    assert (
        "the search stopped at the analyser's limit of 67,108,864 octets read and hashed per "
        "message, after 2 candidate edits "
    ) in search.sentence


def test_search_body_alone_finds_the_footer_of_any_hash() -> None:
    """The module knows no mechanism: the caller's predicate decides what matches."""
    signed = Body.of(b"one\r\ntwo\r\n")
    received = Body.of(b"one\r\ntwo\r\nthree\r\n")
    context = change_search.Context("it was written", "the digest", "someone")
    found = search_body(
        received,
        lambda b: b.to_bytes() == signed.to_bytes(),
        fields=[],
        budget=SearchBudget(),
        context=context,
    )
    assert _named(found) == (
        "identified",
        ("footer-appended",),
        "hop",
        'a footer of 1 line was appended at the end of the body, beginning "three"',
    )
    assert found.body_diff == [
        "--- as signed (the change undone)",
        "+++ as analysed",
        "@@ -1,2 +1,3 @@",
        " one",
        " two",
        "+three",
    ]


# -- the limits on the candidates themselves, at the limit and one past it -------------------------


@pytest.mark.parametrize(
    ("lines", "outcome"),
    [
        (limits.MAX_CHANGE_SEARCH_EDGE_LINES, "identified"),
        (limits.MAX_CHANGE_SEARCH_EDGE_LINES + 1, "unidentified"),
    ],
)
def test_footers_are_tried_up_to_their_line_limit(lines: int, outcome: str) -> None:
    sig = dkim1_search(TEXT, append_lines(*(f"footer line {k}" for k in range(lines))))
    assert sig.change_search is not None and sig.change_search.outcome == outcome


@pytest.mark.parametrize(
    ("lines", "outcome"),
    [
        (limits.MAX_CHANGE_SEARCH_PART_EDGE_LINES, "identified"),
        (limits.MAX_CHANGE_SEARCH_PART_EDGE_LINES + 1, "unidentified"),
    ],
)
def test_banners_are_tried_up_to_their_line_limit(lines: int, outcome: str) -> None:
    sig = dkim1_search(TEXT, prepend_lines(*(f"banner line {k}" for k in range(lines))))
    assert sig.change_search is not None and sig.change_search.outcome == outcome


@pytest.mark.parametrize(
    ("lines", "outcome"),
    [
        (limits.MAX_CHANGE_SEARCH_LINES, "identified"),
        (limits.MAX_CHANGE_SEARCH_LINES + 1, "unidentified"),
    ],
)
def test_wrapping_is_undone_in_texts_up_to_the_line_limit(lines: int, outcome: str) -> None:
    """LONG's body has 6 lines, 3 of them after wrapping; short lines make up the rest."""
    filler = b"".join(b"%d\r\n" % k for k in range(lines - 8))
    start = LONG.replace(b"\r\n\r\nAlice\r\n", b"\r\n\r\n" + filler + b"Alice\r\n")
    assert parse_message(wrap_at(72)(start)).body.to_bytes().count(b"\r\n") == lines
    sig = dkim1_search(start, wrap_at(72))
    assert sig.change_search is not None and sig.change_search.outcome == outcome


@pytest.mark.parametrize(
    ("comments", "outcome"),
    [(15, "identified"), (16, "unidentified")],
)
def test_header_edits_are_paired_among_the_first_ones_only(comments: int, outcome: str) -> None:
    """A tagged Subject and an added Keywords field: the removal of Keywords is single edit
    9 + ``comments`` (the tag; four Content-Transfer-Encoding edits; the removals of the
    Comments fields, MIME-Version, Content-Type and Content-Transfer-Encoding, fields often
    added), paired with the tag only among the first MAX_CHANGE_SEARCH_PAIRED."""
    assert limits.MAX_CHANGE_SEARCH_PAIRED == 24
    start = TEXT.replace(b"MIME-Version", b"Comments: agenda\r\n" * comments + b"MIME-Version")
    edit = both(set_field("Subject", TAGGED), add_field("Keywords", "lunch"))
    assert dkim2_search(start, edit, "header").outcome == outcome


def test_the_public_names() -> None:
    assert change_search.__all__ == [
        "KINDS",
        "ChangeSearch",
        "Context",
        "Edit",
        "SearchBudget",
        "search_body",
        "search_header",
    ]
