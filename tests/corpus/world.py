"""The corpus's world: signers, the final delivery, the clock, and small case builders.

Chains are built with :mod:`tests.support.chains` (its keys are made once per process, so
signatures differ between runs while every verdict stays the same).  Signers follow the
newest revision's rules (-09) unless a case says otherwise.  The final hop signs for the
intake address the web tests create with a fixed token, so the same bytes verify with the
same envelope through every path: the engine, the CLI, the upload view, the API and a real
SMTP delivery to the intake.

Timestamps are an hour before the time the corpus was built, so the web paths (which verify
with the real clock) and the engine (which is given :data:`NOW`) agree.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import Any

from analysis.dkim2 import NEWEST
from tests.support import chains
from tests.support.chains import Chain, Hop, Mod, build_chain

from .model import (
    ApiRequest,
    BrowserCheck,
    Case,
    Expect,
    IntakeRequest,
    UploadRequest,
    Zone,
)

#: The first hop's ``t=``; hop k signs at T0 + 60 * k.
T0 = int(time.time()) // 60 * 60 - 3600
#: The clock the engine and the CLI verify with (the web paths use the real one).
NOW = T0 + 3600

#: The token of the intake address the web tests create for their user.
INTAKE_TOKEN = "c0de" * 8
INTAKE_ADDRESS = f"a-{INTAKE_TOKEN}@intake.localhost"
FINAL_RCPT = f"<{INTAKE_ADDRESS}>"

AUTHOR = "example.com"
AUTHOR_FROM = "<alice@example.com>"
LIST = "lists.example.org"
LIST_FROM = "<list-bounces@lists.example.org>"
FORWARDER = "forwarder.example.net"
FORWARDER_FROM = "<fwd@forwarder.example.net>"

#: Paths of the representative subsets.
WEB = frozenset({"upload", "api", "intake"})
UPLOAD = frozenset({"upload"})
API = frozenset({"api"})
INTAKE = frozenset({"intake"})
BROWSER = frozenset({"browser"})


def author(
    rcpt: str = FINAL_RCPT, *, modify: Mod | None = None, revision: str = NEWEST, **kw: Any
) -> Hop:
    """The originator, example.com, sending to ``rcpt``."""
    return Hop(AUTHOR, AUTHOR_FROM, [rcpt], modify=modify, revision=revision, **kw)


def mailing_list(
    rcpt: str = FINAL_RCPT, *, modify: Mod | None = None, revision: str = NEWEST, **kw: Any
) -> Hop:
    """The list, lists.example.org, relaying to ``rcpt`` (a change: ``modify``)."""
    return Hop(LIST, LIST_FROM, [rcpt], modify=modify, revision=revision, **kw)


def forwarder(
    rcpt: str = FINAL_RCPT, *, modify: Mod | None = None, revision: str = NEWEST, **kw: Any
) -> Hop:
    return Hop(FORWARDER, FORWARDER_FROM, [rcpt], modify=modify, revision=revision, **kw)


def timed(hops: Sequence[Hop]) -> list[Hop]:
    """``hops`` with ``t=`` on the corpus clock (hop k at T0 + 60 k), unless a hop set its own."""
    out = []
    for k, hop in enumerate(hops):
        if hop.timestamp is None:
            hop = dataclasses.replace(hop, timestamp=T0 + 60 * k)
        out.append(hop)
    return out


def chain(start: bytes, hops: Sequence[Hop]) -> Chain:
    return build_chain(start, timed(hops))


def one_hop(start: bytes | None = None, **kw: Any) -> Chain:
    """example.com sends straight to the intake address."""
    return chain(start if start is not None else chains.message(), [author(**kw)])


def two_hops(start: bytes | None = None, *, modify: Mod | None = None, **kw: Any) -> Chain:
    """example.com -> the list (which appends a footer unless ``modify`` says otherwise) ->
    the intake address."""
    change = modify if modify is not None else chains.append_body("-- ", "list footer")
    return chain(
        start if start is not None else chains.message(),
        [author(f"<list@{LIST}>"), mailing_list(modify=change, **kw)],
    )


def zone_of(*domains: str) -> Zone:
    return chains.zone_for(domains)


DEFAULT_UPLOAD = UploadRequest()
DEFAULT_API = ApiRequest()
DEFAULT_INTAKE = IntakeRequest()
DEFAULT_BROWSER = BrowserCheck()


class Builder:
    """Collects the cases of one category."""

    def __init__(self, category: str) -> None:
        self.category = category
        self.cases: list[Case] = []

    def add(
        self,
        name: str,
        title: str,
        raw: bytes,
        expect: Expect,
        *,
        of: Chain | None = None,
        zone: Zone | None = None,
        mail_from: str | bool | None = True,
        rcpt_to: Iterable[str] | None = None,
        now: int = NOW,
        revision: str = "auto",
        paths: Iterable[str] = (),
        upload: UploadRequest = DEFAULT_UPLOAD,
        api: ApiRequest = DEFAULT_API,
        intake: IntakeRequest = DEFAULT_INTAKE,
        browser: BrowserCheck = DEFAULT_BROWSER,
        xfail: str = "",
        xfail_on: frozenset[str] | None = None,
    ) -> Case:
        """One case.  ``of``: the chain it was made from (its zone, and its final envelope
        unless ``mail_from``/``rcpt_to`` say otherwise; ``mail_from=None``: no envelope)."""
        if zone is None:
            zone = of.zone if of is not None else {}
        if mail_from is True:
            env = of.envelope if of is not None else None
            mf: str | None = env.mail_from if env is not None else None
            rcpts = tuple(env.rcpt_to) if env is not None else ()
        else:
            mf = mail_from or None
            rcpts = ()
        if rcpt_to is not None:
            rcpts = tuple(rcpt_to)
        if mf is not None and not rcpts:
            rcpts = (FINAL_RCPT,)
        case = Case(
            id=f"{self.category}/{name}",
            title=title,
            raw=raw,
            expect=expect,
            zone=zone,
            mail_from=mf,
            rcpt_to=rcpts,
            now=now,
            revision=revision,
            paths=frozenset(paths),
            upload=upload,
            api=api,
            intake=intake,
            browser=browser,
            xfail=xfail,
            xfail_on=xfail_on,
        )
        if any(c.id == case.id for c in self.cases):
            raise ValueError(f"two corpus cases named {case.id}")
        self.cases.append(case)
        return case


# -- editing one DKIM2 field as bytes (after signing; resign where the case needs it) ---------


def field_edit(msg: bytes, kind: str, number: int, old: bytes, new: bytes) -> bytes:
    """Replace the first ``old`` by ``new`` inside one DKIM2 field (``kind``: chains.MI or
    chains.SIG), leaving every other octet of the message alone."""
    raw = chains.get_field(msg, kind, number)
    if old not in raw:
        raise ValueError(f"{old!r} is not in {raw!r}")
    return chains.replace_field(msg, kind, number, raw.replace(old, new, 1))


def field_append(msg: bytes, kind: str, number: int, text: bytes) -> bytes:
    """Add ``text`` at the end of one DKIM2 field's value (before its final CRLF)."""
    raw = chains.get_field(msg, kind, number)
    return chains.replace_field(msg, kind, number, raw[:-2] + text + b"\r\n")


def without_final_semicolon(msg: bytes, kind: str, number: int) -> bytes:
    raw = chains.get_field(msg, kind, number)
    body = raw[:-2].rstrip(b" \t")
    if not body.endswith(b";"):
        raise ValueError(f"no final semicolon in {raw!r}")
    return chains.replace_field(msg, kind, number, body[:-1] + b"\r\n")
