"""MIME and size bombs, header bombs, and the amplifiers of issue #11 (findings 1, 2 and 9).

Every case here is a message an attacker (or a long honest chain) can send, up to the 25 MB
message limit, and each says what the engine must conclude: the exact DKIM2 result, the
finding that decides it (a limit's own code and sentence where one is reached), the verdict
of the whole message and, where another mechanism's bound applies, the note that names it.
Unlike the other categories, each case also has a budget (:class:`~.model.Budget`): the
seconds each engine run and the CLI may take (about ten times what they take, so only a
hang or a blow-up fails), the memory ``analyze_message`` may allocate, as a multiple of the
message (tracemalloc: exact and repeatable), and what its stored report must show (a diff's
cut marker, a trimmed part), never more than ``limits.MAX_REPORT_BYTES``.

* MIME bombs.  The engine does not parse MIME (a DKIM2 body is octets, S06 §6.1), so it has
  no MIME depth limit and these messages verify as they were signed; the intake does take
  deliveries apart (dkim2web/intake/mime.py: depth at most ``MAX_DEPTH`` = 10, at most
  ``MAX_PARTS`` = 1,000 entities, at most 20 attached originals analysed), so four of them
  are delivered there too, and the delivered message must still come out as signed.
* Header bombs: at and past ``MAX_HEADER_FIELDS`` and ``MAX_HEADER_BYTES``; a 1 MB Subject of
  encoded words and 1 MB folded fields; 10,000 DKIM2-Signature, Received,
  Authentication-Results fields and ARC sets (past the field limit, so refused as a whole),
  and a few thousand of each (within it, so each mechanism's own limit speaks).
* Long lines: megabyte lines, a 20 MB line, 25 MB of short lines with CRLF and with bare LF,
  and a second hop rewriting both ends of them (finding 2: memory in proportion to lines).
* Amplifiers: 16 hops each rewriting one short line between 2.2 MB lines (finding 1: the
  diffs cut each long line and say by how much, the report stays far below 4 MB); 50 hops
  each adding a footer to 25 MB (finding 9: pass, not "contains invalid JSON"); recipes that
  copy an amplified instance down many instances, or emit long field names many times, past
  the reconstruction bounds (TEMPERROR ``limits.reconstruction-too-large``, which names the
  bound and says nothing against the signers); reports past ``MAX_REPORT_BYTES`` (trimmed,
  saying which parts).
* The message limit: exactly 25 MiB verifies; one KiB more is refused by the engine and by
  each web path before anything is stored (the upload form, the API's 413, SMTP's 552).

Messages are made on first use and kept (``Case.raw`` accepts a function): collecting the
corpus makes none, and each process makes each once for all the paths it runs.  Chains are
signed here hop by hop with the engine's signer (``analysis.dkim2.sign``) without keeping
every hop's copy (:func:`relay`); hand-made instances (the reconstruction bounds) are signed
by the independent re-signer of tests/support/chains.py.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization

from analysis import limits
from analysis.dkim2.sign import sign
from tests.support import chains

from .model import ApiRequest, Budget, Case, E, Expect, IntakeRequest, Refusal, UploadRequest
from .world import API, AUTHOR, AUTHOR_FROM, FINAL_RCPT, INTAKE, T0, UPLOAD, Builder, zone_of

Make = Callable[[], bytes]

MB = 1024 * 1024
LIMIT = limits.MAX_MESSAGE_BYTES
#: Body octets that leave room under the message limit for the header and a chain's fields.
ROOM = LIMIT - 64 * 1024

PASS = E("pass", v="pass")
TOO_MANY_FIELDS = E(
    "permerror",
    "limits.too-many-header-fields",
    "Message has more header fields than the analyser accepts",
    v="permerror",
).because(f"More than {limits.MAX_HEADER_FIELDS} header fields.")
TOO_MANY_DKIM2 = ("limits.too-many-dkim2-fields", "PERMERROR too many DKIM2 header fields")
RECONSTRUCTION = "limits.reconstruction-too-large"

#: Budgets.  Seconds: each run may take about ten times what it takes on a developer's
#: machine, and at least 5 s (a loaded one).  Memory: what ``analyze_message`` allocates
#: besides the message, up to 4 times the message (bench/verify.py's goal for ``dkim2
#: verify``: 4 times, the message included) plus model.MEMORY_SLACK; a body of megabytes is
#: never copied (analysis.message.Body), so a large message may allocate once its size.
SMALL = Budget(seconds=5, memory=4)
LARGE = Budget(seconds=10, memory=1)
#: A file saved with bare LF is converted to CRLF once (1.5 times a file of 2-octet lines).
LF_FILE = Budget(seconds=10, memory=2)

#: The message limit, as the web side words it.
LIMIT_WORDS = f"25.0 MB ({LIMIT} bytes)"


# -- chains ---------------------------------------------------------------------------------------


def relays(hops: int) -> list[str]:
    """The signers of a chain of ``hops``: example.com, then relay1.example ..."""
    return [AUTHOR, *(f"relay{k}.example" for k in range(1, hops))]


def relay(start: bytes, hops: int, change: Callable[[int, bytes], bytes] | None = None) -> bytes:
    """``start`` signed by example.com and relayed by ``hops - 1`` relays, each first making
    its ``change(k, message)`` (k from 1), the last one delivering to the intake address.

    Hop k signs at T0 + 60 k with Ed25519 (``ed1``), for the next hop's domain; only the
    message on its way is kept (a 25 MB chain of 50 hops would otherwise hold 50 copies)."""
    msg = start
    for k, domain in enumerate(relays(hops)):
        received = msg
        if k and change is not None:
            msg = change(k, msg)
        msg = sign(
            msg,
            domain=domain,
            keys=[chains.signing_key("ed1")],
            timestamp=T0 + 60 * k,
            mail_from=AUTHOR_FROM if k == 0 else f"<bounces@{domain}>",
            rcpt_to=[FINAL_RCPT if k == hops - 1 else f"<in@relay{k + 1}.example>"],
            previous=received if msg != received else None,
        ).message
    return msg


def sent(body: bytes, headers: Sequence[tuple[str, str]] = chains.DEFAULT_HEADERS) -> bytes:
    """A message of ``headers`` and ``body`` signed by example.com for the intake address."""
    return relay(chains.message(headers, body), 1)


@functools.cache
def signed() -> bytes:
    """The corpus's plain message, signed by example.com (header bombs are put above it)."""
    return sent(chains.DEFAULT_BODY.encode())


def above(lines: bytes, count: int) -> Make:
    """The signed message with ``count`` copies of the field ``lines`` added on top."""
    return lambda: lines * count + signed()


def filled_to(total: int) -> Make:
    """The signed message with X-Filler fields added on top, ``total`` fields in all."""
    return lambda: b"X-Filler: 1\r\n" * (total - len(chains.split(signed())[0])) + signed()


def with_message_limit(octets: int, make: Make) -> bytes:
    """``make()`` with the signer allowed messages of ``octets``: a file saved with bare LF is
    within the limit as saved, while its CRLF form (what was signed) is larger."""
    saved = limits.MAX_MESSAGE_BYTES
    limits.MAX_MESSAGE_BYTES = octets
    try:
        return make()
    finally:
        limits.MAX_MESSAGE_BYTES = saved


# -- MIME -----------------------------------------------------------------------------------------

MIME_HEADERS = (*chains.DEFAULT_HEADERS, ("MIME-Version", "1.0"))


def multipart(boundary: str, body: bytes) -> bytes:
    return sent(body, [*MIME_HEADERS, ("Content-Type", f'multipart/mixed; boundary="{boundary}"')])


def nested(depth: int) -> bytes:
    """Multiparts nested ``depth`` deep (boundary ``bK`` at depth K), a text part innermost."""
    opening = [
        f'--b{k - 1}\r\nContent-Type: multipart/mixed; boundary="b{k}"\r\n\r\n'.encode()
        for k in range(2, depth + 1)
    ]
    closing = [f"--b{k - 1}--\r\n".encode() for k in range(depth, 1, -1)]
    inner = f"--b{depth}\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n--b{depth}--\r\n"
    return multipart("b1", b"".join(opening) + inner.encode() + b"".join(closing))


def parts(boundary: str, count: int, *, header: bool = True, close: bool = True) -> bytes:
    """A multipart of ``count`` text parts (``header=False``: each starts with its empty
    line; ``close=False``: no closing delimiter)."""
    head = b"Content-Type: text/plain\r\n" if header else b""
    delimiter = b"--" + boundary.encode()
    body = b"".join(delimiter + b"\r\n" + head + b"\r\npart %d\r\n" % k for k in range(count))
    return multipart(boundary, body + (delimiter + b"--\r\n" if close else b""))


def lookalikes(count: int) -> bytes:
    """One part, then ``count`` lines that begin like its delimiter and are longer."""
    body = b"--edge\r\n\r\nfirst\r\n" + b"--edgeless line, not a delimiter\r\n" * count
    return multipart("edge", body + b"--edge--\r\n")


def attached(count: int) -> bytes:
    """A forward with ``count`` copies of a signed message attached (message/rfc822)."""
    part = b"--fwd\r\nContent-Type: message/rfc822\r\n\r\n" + signed() + b"\r\n"
    intro = b"--fwd\r\nContent-Type: text/plain\r\n\r\nThe messages, attached.\r\n"
    return multipart("fwd", intro + part * count + b"--fwd--\r\n")


# -- header bombs ---------------------------------------------------------------------------------


def with_field(name: str, value: str) -> bytes:
    """The plain message with one more field (before the body), signed."""
    headers = [*chains.DEFAULT_HEADERS, (name, value)]
    return sent(chains.DEFAULT_BODY.encode(), headers)


def folded(piece: str, octets: int) -> str:
    """``piece`` repeated over folded lines, about ``octets`` in all."""
    return "\r\n".join([piece] * (octets // (len(piece) + 2)))


def encoded_subject(octets: int) -> bytes:
    """A Subject of RFC 2047 encoded words, one per folded line, about ``octets``."""
    text = "Grüße aus der Größenordnung eines Megabytes "
    word = "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="
    value = folded(" " + word, octets)
    headers = [(n, value if n == "Subject" else v) for n, v in chains.DEFAULT_HEADERS]
    return sent(chains.DEFAULT_BODY.encode(), headers)


def dkim1_signed_field(octets: int) -> bytes:
    """A DKIM1 signature (RSA, example.com ``rsa1``) over From and a folded In-Reply-To of
    about ``octets`` of one-letter words; then example.com's DKIM2 signature."""
    msg = chains.message(
        [*chains.DEFAULT_HEADERS, ("In-Reply-To", folded(" a" * 40, octets))],
        chains.DEFAULT_BODY,
    )
    pem = chains.private_key("rsa1").private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    field = dkim.sign(msg, b"rsa1", AUTHOR.encode(), pem, include_headers=[b"from", b"in-reply-to"])
    return relay(bytes(field) + msg, 1)


def arc_sets(count: int) -> Make:
    """``count`` ARC sets (i=1 to count, newest on top) of short, unverifiable fields."""

    def make() -> bytes:
        sets = [
            f"ARC-Seal: i={i}; cv=pass\r\nARC-Message-Signature: i={i}\r\n"
            f"ARC-Authentication-Results: i={i}; mx\r\n".encode()
            for i in range(count, 0, -1)
        ]
        return b"".join(sets) + signed()

    return make


# -- long lines -----------------------------------------------------------------------------------


def short_lines(octets: int) -> bytes:
    return b"x\r\n" * (octets // 3)


def rewrite_ends(msg: bytes) -> bytes:
    """``msg`` with the first and the last line of its body rewritten."""
    head, sep, body = msg.partition(b"\r\n\r\n")
    start = body.index(b"\r\n") + 2
    stop = body.rindex(b"\r\n", 0, len(body) - 2) + 2
    return head + sep + b"first\r\n" + body[start:stop] + b"last\r\n"


def both_ends(octets: int) -> bytes:
    """Short lines signed by example.com; relay1 rewrites the first and the last line."""
    return relay(chains.message(body=short_lines(octets)), 2, lambda _, m: rewrite_ends(m))


def as_lf(make: Make) -> Make:
    """The message ``make`` signs (its CRLF form may pass the limit), saved with bare LF
    (2-octet short lines: the LF file is two thirds of it, within the limit)."""
    return lambda: with_message_limit(2 * LIMIT, make).replace(b"\r\n", b"\n")


# -- amplifiers -----------------------------------------------------------------------------------


def finding_1() -> bytes:
    """Issue #11 finding 1: 8 lines of 2.2 MB, each after a short line; 15 relays, relay k
    rewriting short line k mod 8 (bench/verify.py memory_shapes' shape)."""
    long = b"y" * 2_200_000
    body = b"".join(b"short line %d\r\n" % k + long + b"\r\n" for k in range(8))

    def change(k: int, msg: bytes) -> bytes:
        head, _, old = msg.partition(b"\r\n\r\n")
        lines = old.split(b"\r\n")
        lines[2 * (k % 8)] = b"hop %d was here" % k
        return head + b"\r\n\r\n" + b"\r\n".join(lines)

    return relay(chains.message(body=body), 16, change)


def footers(hops: int, octets: int) -> bytes:
    """About ``octets`` of text lines; each of the ``hops - 1`` relays appends a footer."""
    text = b"The quick brown fox jumps over the lazy dog, again and again.\r\n"
    return relay(
        chains.message(body=text * (octets // len(text))),
        hops,
        lambda k, m: m + b"-- footer added by relay%d.example\r\n" % k,
    )


def undo_chain(recipes: Sequence[Any], contents: Sequence[bytes]) -> bytes:
    """Instances m=1..n (instance m holds ``contents[m - 1]`` and has the recipe
    ``recipes[m - 1]``, None: no r=), all covered by one signature of example.com; the
    message is the newest instance."""
    fields = [
        chains.instance_field(m, content, recipe)
        for m, (content, recipe) in enumerate(zip(contents, recipes, strict=True), 1)
    ]
    signature = chains.signature_field(
        1, len(fields), domain=AUTHOR, mail_from=AUTHOR_FROM, rcpt_to=(FINAL_RCPT,), t=T0
    )
    return chains.resign(chains.prepend_fields(contents[-1], signature, *reversed(fields)))


#: The content the reconstruction cases start from (about 100 KB).
FILLER = chains.message(body=("y" * 78 + "\r\n") * 1200)


def named(name: str, count: int) -> bytes:
    """``count`` fields ``name:`` with empty values (what ``{"d": [""]}`` steps rebuild)."""
    return (name.encode() + b":\r\n") * count


def copies_down(count: int) -> bytes:
    """The newest recipe emits 3.5 times the message in fields of a 1,000-octet name (within
    RECIPE_OUTPUT_FACTOR); every recipe below copies them all down: each undo is allowed,
    together they pass TOTAL_RECONSTRUCTION_FACTOR times the message."""
    name = "n" * 1000
    literals = 7 * len(FILLER) // 2 // (len(name) + 3)
    amplified = named(name, literals) + FILLER
    copy_all = {"h": {name: [{"c": [1, literals]}]}}
    recipes = [None, *[copy_all] * (count - 2), {"h": {name: [{"d": [""] * literals}]}}]
    return undo_chain(recipes, [*[amplified] * (count - 1), FILLER])


def literals_many_times(count: int) -> bytes:
    """Each recipe emits three times the message in fields of a long name of its own: the
    literals rebuilt together pass RECONSTRUCTION_MEMORY_FACTOR times the message."""
    names = [f"n{k}" + "n" * 1000 for k in range(1, count)]
    literals = 3 * len(FILLER) // (len(names[0]) + 3)
    contents = [
        *(b"".join(named(n, literals) for n in names[m - 1 :]) + FILLER for m in range(1, count)),
        FILLER,
    ]
    recipes = [None, *({"h": {n: [{"d": [""] * literals}]}} for n in names)]
    return undo_chain(recipes, contents)


def one_amplifying_recipe() -> bytes:
    """One recipe emitting 100 fields of a 60,000-octet name: 6 MB from a 0.2 MB message,
    past RECIPE_OUTPUT_FACTOR times it."""
    name = "n" * 60_000
    recipes = [None, {"h": {name: [{"d": [""] * 100}]}}]
    return undo_chain(recipes, [named(name, 100) + FILLER, FILLER])


def instances_at_limit() -> bytes:
    """MAX_INSTANCES instances, each copying all 900 fields of 1,000 octets (each instance
    the size of the message): the honest shape the reconstruction bounds must let through."""
    pads = [("Foo", "f" * 990) for _ in range(900)]
    content = chains.message([*chains.DEFAULT_HEADERS, *pads])
    identity = {"h": {"foo": [{"c": [1, len(pads)]}]}}
    count = limits.MAX_INSTANCES
    return undo_chain([None, *[identity] * (count - 1)], [content] * count)


def listed_instance_fields() -> bytes:
    """2,800 signed fields of 190 octets that are not UTF-8: the instance's field list
    (512 K characters, each written \\ufffd in the stored JSON) takes the report past 4 MB."""
    junk = b"Comments: " + b"\xff" * 190 + b"\r\n"
    return trace_fields(2100, 100, 900, 150) + relay(
        junk * 2800 + chains.message(body=b"hi\r\n"), 1
    )


def long_trace_texts() -> bytes:
    """200 Received fields and 100 Authentication-Results fields, each with 2,100 octets that
    are not UTF-8 (kept as 2,000 characters each, written \\ufffd: 12,000 octets of JSON)."""
    return trace_fields(2100, 100, 2100, 200) + signed()


def trace_fields(result_octets: int, results: int, received_octets: int, received: int) -> bytes:
    """Authentication-Results fields with a reason of ``result_octets`` octets that are not
    UTF-8, above Received fields whose "from" names are ``received_octets`` of them."""
    reason = b"\xfe" * result_octets
    name = b"\xfd" * received_octets
    date = b"Thu, 15 Jan 2027 10:00:00 +0000"
    return b"".join(
        [b'Authentication-Results: mx.example.net; dkim2=pass reason="' + reason + b'"\r\n']
        * results
        + [b"Received: from " + name + b" by mx.example.net; " + date + b"\r\n"] * received
    )


# -- the message limit ----------------------------------------------------------------------------


@functools.cache
def exactly(octets: int) -> bytes:
    """A signed message of exactly ``octets`` (body lines of 998 octets, SMTP's longest)."""
    line = b"z" * 998 + b"\r\n"
    fixed = len(sent(b""))  # the header and the signature fields (their size never varies)
    full, rest = divmod(octets - fixed, len(line))
    msg = sent(line * full + b"z" * rest)
    if len(msg) != octets:
        raise ValueError(f"made {len(msg)} octets, not {octets}")
    return msg


def over_limit() -> bytes:
    """The message of exactly the limit with a 1,024-octet field added: one KiB over."""
    return b"X-Padding: " + b"p" * (1024 - 13) + b"\r\n" + exactly(LIMIT)


def build() -> list[Case]:
    b = Builder("sizes")

    def add(
        name: str,
        title: str,
        make: Make,
        expect: Expect,
        budget: Budget,
        *,
        hops: int = 1,
        **kw: Any,
    ) -> None:
        """One case whose message ``make`` makes on first use; the chain of ``hops`` signers
        (:func:`relay`) publishes its keys and its last hop's envelope is the final one."""
        domains = relays(hops)
        case = b.add(
            name,
            title,
            functools.cache(make),  # type: ignore[arg-type]
            expect,
            zone=zone_of(*domains),
            mail_from=AUTHOR_FROM if hops == 1 else f"<bounces@{domains[-1]}>",
            **kw,
        )
        case.budget = budget

    # -- MIME bombs (the engine hashes MIME as octets; the intake walks it, bounded) --------------
    add(
        "mime-nested-100",
        "multiparts nested 100 deep (the intake looks 10 deep)",
        lambda: nested(100),
        PASS,
        SMALL,
        paths=INTAKE,
    )
    add(
        "mime-nested-10000",
        "multiparts nested 10,000 deep (0.7 MB of nothing but openings and closings)",
        lambda: nested(10_000),
        PASS,
        SMALL,
    )
    add(
        "mime-parts-10000",
        "a multipart of 10,000 parts (the intake reads 1,000)",
        lambda: parts("p", 10_000),
        PASS,
        SMALL,
        paths=INTAKE,
    )
    add(
        "mime-never-closes",
        "a multipart of 1,000 parts whose closing delimiter never comes",
        lambda: parts("open", 1000, close=False),
        PASS,
        SMALL,
    )
    add(
        "mime-boundary-71",
        "a boundary of 71 characters (RFC 2046 §5.1.1 allows 70)",
        lambda: parts("b" * 71, 1000),
        PASS,
        SMALL,
    )
    add(
        "mime-boundary-10000",
        "a boundary of 10,000 characters, 100 parts",
        lambda: parts("b" * 10_000, 100),
        PASS,
        SMALL,
    )
    add(
        "mime-parts-without-header",
        "10,000 parts that start with their empty line (no header)",
        lambda: parts("p", 10_000, header=False),
        PASS,
        SMALL,
    )
    add(
        "mime-delimiter-lookalikes",
        "100,000 lines that begin like the boundary's delimiter and go on",
        lambda: lookalikes(100_000),
        PASS,
        SMALL,
        paths=INTAKE,
    )
    add(
        "mime-attached-messages-1000",
        "a forward of 1,000 attached messages (the intake analyses 20)",
        lambda: attached(1000),
        PASS,
        SMALL,
        paths=INTAKE,
    )

    # -- header bombs -----------------------------------------------------------------------------
    add(
        "header-fields-at-limit",
        f"{limits.MAX_HEADER_FIELDS:,} header fields in all (the limit): verified",
        filled_to(limits.MAX_HEADER_FIELDS),
        PASS,
        SMALL,
    )
    add(
        "header-fields-past-limit",
        f"{limits.MAX_HEADER_FIELDS + 1:,} header fields in all, one past the limit",
        filled_to(limits.MAX_HEADER_FIELDS + 1),
        TOO_MANY_FIELDS,
        SMALL,
    )
    add(
        "header-fields-100000",
        "100,000 header fields of 7 octets (0.7 MB)",
        above(b"X-A:1\r\n", 100_000),
        TOO_MANY_FIELDS,
        SMALL,
        paths=UPLOAD,
    )
    add(
        "header-block-past-limit",
        "100,000 header fields of 23 octets: a 2.3 MB header block",
        above(b"X-Filler-Field: 12345\r\n", 100_000),
        E(
            "permerror",
            "limits.header-too-large",
            "Header block is larger than the analyser accepts",
            v="permerror",
        ).because(f"the limit is {limits.MAX_HEADER_BYTES}."),
        SMALL,
    )
    add(
        "subject-encoded-words-1mb",
        "a signed Subject of 1 MB of RFC 2047 encoded words, one per folded line",
        lambda: encoded_subject(1_000_000),
        PASS,
        SMALL,
    )
    add(
        "folded-field-1mb",
        "a signed Comments field of 1 MB folded over 20,000 lines",
        lambda: with_field("Comments", folded(" folded text" * 4, 1_000_000)),
        PASS,
        SMALL,
    )
    add(
        "folded-field-1mb-of-one-letter-words",
        "a signed Comments field of 1 MB of one-letter words (500,000 WSP runs)",
        lambda: with_field("Comments", folded(" a" * 40, 1_000_000)),
        PASS,
        SMALL,
    )
    add(
        "dkim1-signed-field-1mb",
        "a DKIM1 signature over a 1 MB field of one-letter words",
        lambda: dkim1_signed_field(1_000_000),
        PASS,
        SMALL,
    )
    add(
        "dkim2-signatures-10000",
        "10,000 DKIM2-Signature fields (past the header field limit first)",
        above(b"DKIM2-Signature: i=1\r\n", 10_000),
        TOO_MANY_FIELDS,
        SMALL,
    )
    add(
        "dkim2-signatures-4000",
        "4,000 DKIM2-Signature fields (within the field limit, past MAX_SIGNATURES)",
        above(b"DKIM2-Signature: i=1\r\n", 4000),
        E("permerror", *TOO_MANY_DKIM2, v="fail").because(
            f"4001 DKIM2-Signature and 1 Message-Instance fields; the limits are "
            f"{limits.MAX_SIGNATURES} and {limits.MAX_INSTANCES}"
        ),
        SMALL,
    )
    received = b"Received: from a.example by b.example; Thu, 15 Jan 2027 10:00:00 +0000\r\n"
    add(
        "received-10000",
        "10,000 Received fields",
        above(received, 10_000),
        TOO_MANY_FIELDS,
        SMALL,
    )
    add(
        "received-4000",
        "4,000 Received fields (the analyser reads the newest 200)",
        above(received, 4000),
        PASS,
        Budget(
            seconds=5,
            memory=4,
            says=(
                f"the message has 4000 Received fields; the analyser reads the newest "
                f"{limits.MAX_RECEIVED_FIELDS}, so the oldest 3800",
            ),
        ),
    )
    results = b"Authentication-Results: mx.example.net; dkim2=pass header.d=example.com\r\n"
    add(
        "authres-10000",
        "10,000 Authentication-Results fields",
        above(results, 10_000),
        TOO_MANY_FIELDS,
        SMALL,
    )
    add(
        "authres-4000",
        "4,000 Authentication-Results fields (the analyser reads the topmost 100)",
        above(results, 4000),
        PASS,
        Budget(
            seconds=5,
            memory=4,
            says=(
                "the message has 4000 Authentication-Results and ARC-Authentication-Results "
                f"fields; the analyser reads the topmost {limits.MAX_AUTHRES_FIELDS}",
            ),
        ),
    )
    add(
        "arc-sets-10000",
        "10,000 ARC sets (30,000 fields)",
        arc_sets(10_000),
        TOO_MANY_FIELDS,
        SMALL,
    )
    add(
        "arc-sets-1000",
        "1,000 ARC sets (3,000 fields; ARC stops at 50)",
        arc_sets(1000),
        PASS,
        Budget(
            seconds=5,
            memory=4,
            says=(
                f"ARC instances run from 1 to {limits.MAX_ARC_INSTANCES} (§4.2.1), and a chain "
                f"of more than {limits.MAX_ARC_INSTANCES} sets fails (§5.2)",
            ),
        ),
    )
    add(
        "dkim1-signatures-4000",
        "4,000 DKIM-Signature fields (20 are verified)",
        above(
            b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=old; "
            b"h=from:to:subject; bh=AAAA; b=AAAA\r\n",
            4000,
        ),
        PASS,
        Budget(
            seconds=5,
            memory=4,
            says=(
                f"4000 DKIM-Signature fields: the topmost {limits.MAX_DKIM1_SIGNATURES} were "
                f"verified, the next {limits.MAX_DKIM1_UNVERIFIED_LISTED} are listed as not "
                "verified and 3960 more are only counted",
            ),
        ),
    )

    # -- long lines -------------------------------------------------------------------------------
    add(
        "lines-2mb",
        "a body of ten lines of 2.6 MB",
        lambda: sent((b"w" * (ROOM // 10 - 2) + b"\r\n") * 10),
        PASS,
        LARGE,
    )
    add(
        "line-20mb",
        "a body of one line of 20 MB",
        lambda: sent(b"v" * (20 * MB) + b"\r\n"),
        PASS,
        LARGE,
    )
    add(
        "short-lines-25mb",
        "25 MB of 3-octet lines (8.7 million lines)",
        lambda: sent(short_lines(ROOM)),
        PASS,
        LARGE,
    )
    add(
        "short-lines-25mb-bare-lf",
        "25 MB of 2-octet lines saved with bare LF (13 million lines; 39 MB as CRLF)",
        as_lf(lambda: sent(short_lines(ROOM * 3 // 2))),
        E("pass", v="pass", notes="message.lf-line-ends"),
        LF_FILE,
    )
    add(
        "short-lines-both-ends-rewritten",
        "finding 2: a relay rewrote the first and the last of 8.7 million short lines",
        lambda: both_ends(ROOM),
        PASS,
        dataclasses.replace(LARGE, slow=True),
        hops=2,
    )
    add(
        "short-lines-both-ends-rewritten-bare-lf",
        "finding 2: the same over 13 million lines, saved with bare LF",
        as_lf(lambda: both_ends(ROOM * 3 // 2)),
        E("pass", v="pass", notes="message.lf-line-ends"),
        dataclasses.replace(LF_FILE, slow=True),
        hops=2,
    )
    add(
        "short-lines-appended-after-signing",
        "1,000 lines appended to 25 MB of short lines after signing",
        lambda: sent(short_lines(ROOM)) + b"appended after signing\r\n" * 1000,
        E(
            "fail",
            "hash.body-mismatch",
            "FAIL: Message Instance m=1 body hash sha256 mismatch",
            v="fail",
        ),
        LARGE,
    )
    add(
        "empty-lines-25mb",
        "a body of 13 million empty lines (all outside the body hash)",
        lambda: sent(b"\r\n" * (ROOM // 2)),
        PASS,
        LARGE,
    )

    # -- amplifiers -------------------------------------------------------------------------------
    add(
        "finding-1-16-hops-over-megabyte-lines",
        "finding 1: 16 hops, each rewriting one short line between 2.2 MB lines",
        finding_1,
        PASS,
        Budget(
            seconds=10,
            memory=1,
            says=(
                " … [2,199,000 more octets cut]",
                f"4 lines longer than {limits.MAX_DIFF_LINE_OCTETS:,} octets were cut "
                "(each says how much)",
            ),
            slow=True,
        ),
        hops=16,
        paths=UPLOAD,
    )
    add(
        "finding-9-50-hops-each-adding-a-footer",
        "finding 9: 50 hops over 25 MB, each adding a footer",
        lambda: footers(50, ROOM - 50 * 1500),
        PASS,
        dataclasses.replace(LARGE, slow=True),
        hops=50,
    )
    add(
        "hops-past-limit",
        f"{limits.MAX_SIGNATURES + 1} hops, each adding a footer (BCP01 §7.5)",
        lambda: footers(limits.MAX_SIGNATURES + 1, 100_000),
        E("permerror", *TOO_MANY_DKIM2, v="fail").because(
            f"{limits.MAX_SIGNATURES + 1} DKIM2-Signature and {limits.MAX_INSTANCES + 1} "
            "Message-Instance fields"
        ),
        SMALL,
        hops=limits.MAX_SIGNATURES + 1,
    )
    add(
        "instances-at-limit-each-message-sized",
        f"{limits.MAX_INSTANCES} instances, each the size of the message (the work bound "
        "lets an honest chain through)",
        instances_at_limit,
        PASS,
        SMALL,
    )
    too_large = (
        "TEMPERROR: Message-Instance m={m} not undone: the analyser's bound on reconstruction "
        "was reached"
    )
    add(
        "reconstruction-copies-down-30-instances",
        "recipes copying an amplified instance down 30 instances (past the work bound)",
        lambda: copies_down(30),
        E("temperror", RECONSTRUCTION, too_large.format(m=11), v="temperror").because(
            f"({limits.TOTAL_RECONSTRUCTION_FACTOR} times the message, plus "
            f"{limits.RECIPE_OUTPUT_SLACK}), the analyser's bound on the work of rebuilding"
        ),
        SMALL,
    )
    add(
        "reconstruction-literals-many-times",
        "recipes emitting 1,000-octet field names many times (past the memory bound)",
        lambda: literals_many_times(8),
        E("temperror", RECONSTRUCTION, too_large.format(m=5), v="temperror").because(
            f"octets in memory besides the message ({limits.RECONSTRUCTION_MEMORY_FACTOR} "
            f"times its size, plus {limits.RECONSTRUCTION_MEMORY_SLACK}), the analyser's bound"
        ),
        SMALL,
    )
    add(
        "recipe-output-past-limit",
        "one recipe emitting 6 MB of fields from a 0.2 MB message",
        one_amplifying_recipe,
        E(
            "temperror",
            "limits.recipe-output-too-large",
            "TEMPERROR: Message-Instance m=2 not undone: its recipe would make more than the "
            "analyser's bound",
            v="temperror",
        ),
        SMALL,
    )
    add(
        "report-fields-not-utf8",
        "2,800 signed fields that are not UTF-8: each part's own bound, counted in stored "
        "octets (6 a replaced octet), keeps the report within 4 MB with nothing trimmed",
        listed_instance_fields,
        PASS,
        Budget(seconds=5, memory=4, trimmed=()),
        paths=API,
    )
    add(
        "report-trace-texts-not-utf8",
        "200 Received and 100 Authentication-Results of 2,100 octets that are not UTF-8: "
        "each text is cut to its room in stored octets, nothing trimmed",
        long_trace_texts,
        PASS,
        Budget(seconds=5, memory=4, trimmed=()),
    )

    # -- the message limit ------------------------------------------------------------------------
    add(
        "message-at-limit",
        f"a message of exactly {LIMIT:,} octets (the limit)",
        lambda: exactly(LIMIT),
        PASS,
        LARGE,
        paths=API,
    )
    add(
        "message-over-limit",
        f"a message of {LIMIT + 1024:,} octets, one KiB over the limit",
        over_limit,
        E(
            "permerror",
            "limits.message-too-large",
            "Message is larger than the analyser accepts",
            v="permerror",
        ).because(f"{LIMIT + 1024} octets; the limit is {LIMIT}."),
        LARGE,
        paths=UPLOAD | API | INTAKE,
        upload=UploadRequest(
            refusal=Refusal(
                413,
                "",
                f"message.eml is 25.0 MB ({LIMIT + 1024} bytes); the limit is {LIMIT_WORDS} "
                "per message. Nothing was stored.",
            )
        ),
        api=ApiRequest(
            refusal=Refusal(
                413, "message_too_large", f"The message is larger than the limit of {LIMIT} bytes."
            )
        ),
        intake=IntakeRequest(
            refusal=Refusal(
                552, "", f"5.3.4 Message too big: the limit is {LIMIT} bytes; nothing was stored"
            )
        ),
    )
    return b.cases
