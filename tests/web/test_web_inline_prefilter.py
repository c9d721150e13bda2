"""An inline forward is looked for line by line only in a text that can hold one, and the
answer is the same as looking in every text line by line: in whatever case the marker or the
copied header lines are written, quoted or starred, at the top or further down."""

from __future__ import annotations

import pytest

from dkim2web.intake import inline
from dkim2web.intake.inline import InlineForward


def every_line(text: str, *, part: str = "") -> InlineForward | None:
    """find_in_text as it was before the whole-text look (the reference)."""
    lines = [inline._clean(x) for x in text.splitlines()]
    for n, line in enumerate(lines):
        for pattern, client in inline._MARKERS:
            if pattern.fullmatch(line):
                excerpt = [x for x in lines[n + 1 : n + 1 + inline.MAX_EXCERPT_LINES] if x][
                    : inline.MAX_EXCERPT_LINES
                ]
                headers = [x for x in excerpt if inline._HEADER_LINE.match(x)]
                return InlineForward(client, line[:200], part, [h[:300] for h in headers])
    for n, line in enumerate(lines):
        if n == 0 or not inline._HEADER_LINE.match(line) or not line.lower().startswith("from"):
            continue
        run = [line]
        for nxt in lines[n + 1 : n + 8]:
            if not inline._HEADER_LINE.match(nxt):
                break
            run.append(nxt)
        names = {x.split(":", 1)[0].strip().lower() for x in run}
        if len(run) >= 3 and "subject" in names and names & {"sent", "date", "to"}:
            return InlineForward("a mail client", "", part, [h[:300] for h in run])
    return None


FIELDS = "From: Billing <b@billing.example>\nDate: Sat\nTo: me@x.example\nSubject: Invoice\n"
TEXTS = {
    "plain": "Hello,\nthe relays restart on Saturday, from noon.\n-- \nAlice\n",
    "gmail": "FYI\n\n---------- Forwarded message ---------\n" + FIELDS,
    "thunderbird upper": "\n-------- FORWARDED MESSAGE --------\n" + FIELDS,
    "apple, any case": "Look\n\nbEGIN FORWARDED MESSAGE:\n\n" + FIELDS,
    "apple quoted and starred": "> > **Begin forwarded message:**\n" + FIELDS,
    "outlook": "See below\n-----Original Message-----\n" + FIELDS.replace("Date", "Sent"),
    "a rule, no marker": "Notes\n---\nnothing forwarded here\n",
    "copied fields in capitals": "Have a look.\n\nFROM : b@billing.example\nSENT: Sat\n"
    "TO: me\nSUBJECT: Invoice\n",
    "copied fields quoted": "Look:\n> From: b@billing.example\n> To: me\n> Subject: x\n",
    "fields at the very top only": FIELDS,
    "from without a colon": "A letter from: nobody\nfrom the list\n",
    "forwarded, no marker": "I forwarded it yesterday.\n",
    "crlf": "Hi\r\n\r\n---------- Forwarded message ---------\r\n" + FIELDS.replace("\n", "\r\n"),
}


@pytest.mark.parametrize("name", TEXTS)
def test_the_answer_is_that_of_reading_every_line(name: str) -> None:
    assert inline.find_in_text(TEXTS[name], part="1") == every_line(TEXTS[name], part="1")


def test_what_is_found_and_what_is_not() -> None:
    found = {
        name: (f.client if (f := inline.find_in_text(text)) else None)
        for name, text in TEXTS.items()
    }
    assert found == {
        "plain": None,
        "gmail": "Gmail",
        "thunderbird upper": "a mail client",
        "apple, any case": "Apple Mail",
        "apple quoted and starred": "Apple Mail",
        "outlook": "Outlook",
        "a rule, no marker": None,
        "copied fields in capitals": "a mail client",
        "copied fields quoted": "a mail client",
        "fields at the very top only": None,
        "from without a colon": None,
        "forwarded, no marker": None,
        "crlf": "Gmail",
    }
