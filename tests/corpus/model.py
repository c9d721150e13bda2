"""What a corpus case is, what it must produce, and how an outcome is read from a report.

A :class:`Case` is one input (a message, as bytes) with the keys its signers published (a
``dns.json`` zone), the envelope of its final delivery, the clock, the DKIM2 revision to
judge by, and the exact outcome the engine must reach (:class:`Expect`): the DKIM2 result,
the first finding that decides it (code and sentence, or none), codes that must also be
reported, and the verdict of the whole message.  The same case may go through the web paths
(``paths``); each has a request shape and, where the web side refuses the input before the
engine sees it, the exact refusal (:class:`Refusal`).

Outcomes are read from the JSON every path produces (the engine's ``to_json``, the CLI's
``--json`` line, the stored report of the upload view, the API and the intake), so one
reader serves all paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Zone = dict[str, dict[str, list[list[str]]]]

#: Web paths a case may take besides the engine and the CLI, which every message case takes.
WEB_PATHS = ("upload", "api", "intake", "browser")

#: Finding states that decide a DKIM2 result against the message.
FAILING = ("fail", "permerror", "temperror")


@dataclass(frozen=True)
class Expect:
    """The engine's outcome for a case."""

    result: str  # DKIM2 result: pass, fail, permerror, temperror, none
    failure: tuple[str, str] | None  # (code, message) of the first finding that decides it
    verdict: str  # the whole message's verdict (analysis.verdict.RESULTS)
    notes: tuple[str, ...] = ()  # codes that must be reported too (notes, warnings)
    #: Text the deciding finding's detail must contain (the reason, where a case is about it).
    why: str = ""
    #: (code, text): a finding of that code whose detail contains the text must be reported.
    says: tuple[tuple[str, str], ...] = ()
    #: DMARC's (result, Author Domain or None), where a case is about the From field.
    dmarc: tuple[str, str | None] | None = None

    def because(self, why: str) -> Expect:
        return dataclasses.replace(self, why=why)


def E(
    result: str,
    code: str | None = None,
    message: str | None = None,
    *,
    v: str,
    notes: tuple[str, ...] | str = (),
    says: tuple[tuple[str, str], ...] = (),
    dmarc: tuple[str, str | None] | None = None,
) -> Expect:
    """``E("permerror", "sig.syntax", "PERMERROR DKIM2-Signature i=? syntax error", v="fail")``."""
    failure = None if code is None else (code, message or "")
    listed = (notes,) if isinstance(notes, str) else tuple(notes)
    return Expect(result, failure, v, listed, says=says, dmarc=dmarc)


@dataclass(frozen=True)
class Refusal:
    """A web path refusing the input before it is stored: the HTTP status (or SMTP reply
    code), the API's error code, and the exact sentence shown (API ``message``, the upload
    form's error, or the start of the SMTP reply text)."""

    status: int
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class UploadRequest:
    """How the case is sent to the upload view (``reports:new``)."""

    filename: str = "message.eml"
    files: int = 1  # copies of the message sent as files
    paste: bool = False  # sent as the pasted source instead of a file
    mail_from: str | None = None  # the form's MAIL FROM (default: the case's envelope)
    rcpt_to: str | None = None  # the form's RCPT TO text (default: the case's envelope)
    refusal: Refusal | None = None  # None: stored (302) and analysed
    stored_filename: str | None = None  # the filename stored (default: as sent)


@dataclass(frozen=True)
class ApiRequest:
    """How the case is sent to ``POST /api/analyses``."""

    content_type: str = "message/rfc822"  # "multipart/form-data" for a file part
    files: int = 1  # multipart: "message" file parts
    filename: str | None = None  # the filename parameter (query, or field when multipart)
    params: tuple[tuple[str, str], ...] = ()  # more query parameters (or fields)
    as_text_field: bool = False  # multipart: "message" as a text field, not a file
    body: bytes | None = None  # the request body instead of the message (a broken multipart)
    refusal: Refusal | None = None  # None: 201 and analysed
    stored_filename: str | None = None  # the filename stored (default: as sent)


@dataclass(frozen=True)
class IntakeRequest:
    """How the case is delivered over SMTP to the intake (loopback)."""

    mail_from: str | None = None  # default: the case's MAIL FROM
    refusal: Refusal | None = None  # None: 250 after DATA and analysed with the SMTP envelope


@dataclass(frozen=True)
class Budget:
    """What a size case may cost the engine, and what its stored report must show.

    Time is a budget, not a benchmark: ``seconds`` is about ten times what the case takes
    on a developer's machine, so only a hang or a blow-up (quadratic work, a copy per hop)
    passes it; bench/verify.py measures speed.  Memory is the tracemalloc peak of
    ``analyze_message`` and its stored report, above what was allocated before (the
    message itself is made before the run): at most ``memory`` times the message plus
    :data:`MEMORY_SLACK` (tracemalloc counts every Python allocation, and the same input
    allocates the same on every run, so the check is not flaky).
    """

    seconds: float  # each engine run (DKIM2 alone, every mechanism) and the CLI run
    memory: float  # the peak, as a multiple of the message's size (plus MEMORY_SLACK)
    #: Texts the stored report must contain (a diff's cut marker, a limit's name).
    says: tuple[str, ...] = ()
    #: The parts the report budget trimmed (``report["trimmed"]["parts"]``), in order;
    #: () where the report fits without trimming.
    trimmed: tuple[str, ...] = ()
    slow: bool = False  # marked ``slow`` (runs in the normal suite; lets one leave it out)


#: Octets a size case may allocate besides its memory factor (the interpreter's own
#: small objects, the report's JSON text, a DNS zone of fifty signers).
MEMORY_SLACK = 8 * 1024 * 1024


class RawBytes:
    """``Case.raw``: the message, given as bytes or as a function making them on first use.

    A size case's message (up to 25 MB, some signed over fifty hops) is made when a test
    first reads it, then kept with the case: collecting the corpus makes none of them, and
    every path of one process (engine, CLI, web) reads the same bytes.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, case: object, owner: type | None = None) -> bytes:
        if case is None:
            raise AttributeError("a case's message has no default")  # a required field
        value = case.__dict__[self.slot]
        if callable(value):
            value = case.__dict__[self.slot] = value()
        assert isinstance(value, bytes)
        return value

    def __set__(self, case: object, value: bytes | Callable[[], bytes]) -> None:
        case.__dict__[self.slot] = value


@dataclass(frozen=True)
class BrowserCheck:
    """What the result page in Chromium must show as text (hostile markup escaped)."""

    shown: tuple[str, ...] = ()


@dataclass
class Case:
    id: str  # "<category>/<name>"
    title: str
    raw: bytes = RawBytes()  # a descriptor: the bytes, or a function making them
    expect: Expect
    zone: Zone = field(default_factory=dict)
    mail_from: str | None = None  # the final delivery's envelope (None: no envelope)
    rcpt_to: tuple[str, ...] = ()
    now: int = 0  # the verification clock for the engine and the CLI
    revision: str = "auto"
    paths: frozenset[str] = frozenset()
    upload: UploadRequest = UploadRequest()
    api: ApiRequest = ApiRequest()
    intake: IntakeRequest = IntakeRequest()
    browser: BrowserCheck = BrowserCheck()
    #: A finding this case exposes: the case is marked xfail(strict=True) with this reason,
    #: on the paths of ``xfail_on`` (None: every path it takes).
    xfail: str = ""
    xfail_on: frozenset[str] | None = None
    #: A size case's budget of time and memory (None: the corpus's rule of under 1 s each,
    #: measured and printed, not asserted).
    budget: Budget | None = None

    def __repr__(self) -> str:
        return f"Case({self.id!r})"  # not the message: a size case's is megabytes

    @property
    def category(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]

    def takes(self, path: str) -> bool:
        return path in ("engine", "cli") or path in self.paths

    def fails_on(self, path: str) -> str:
        """The xfail reason on ``path`` ("" where the case is expected to pass)."""
        if self.xfail_on is not None and path not in self.xfail_on:
            return ""
        return self.xfail


@dataclass(frozen=True)
class Outcome:
    result: str
    failure: tuple[str, str] | None
    codes: frozenset[str]
    verdict: str | None = None
    detail: str = ""  # the deciding finding's detail
    details: tuple[tuple[str, str], ...] = ()  # (code, detail) of every finding
    dmarc: tuple[str, str | None] | None = None  # DMARC's (result, Author Domain)

    def problems(self, expect: Expect, *, verdict: bool = True) -> list[str]:
        """What differs from ``expect`` (empty: the outcome is the expected one)."""
        out = []
        if self.result != expect.result:
            out.append(f"DKIM2 result {self.result!r}, expected {expect.result!r}")
        if self.failure != expect.failure:
            out.append(f"first failure {self.failure!r}, expected {expect.failure!r}")
        missing = [c for c in expect.notes if c not in self.codes]
        if missing:
            out.append(f"codes {missing} not reported (reported: {sorted(self.codes)})")
        if expect.why and expect.why not in self.detail:
            out.append(f"the deciding finding's detail {self.detail!r} lacks {expect.why!r}")
        for code, text in expect.says:
            if not any(c == code and text in d for c, d in self.details):
                out.append(f"no {code} finding says {text!r}: {self.details!r}")
        if verdict and expect.dmarc is not None and self.dmarc != expect.dmarc:
            out.append(f"DMARC {self.dmarc!r}, expected {expect.dmarc!r}")
        if verdict and self.verdict != expect.verdict:
            out.append(f"verdict {self.verdict!r}, expected {expect.verdict!r}")
        return out


def outcome_of(dkim2: Mapping[str, Any], verdict: str | None = None) -> Outcome:
    """The outcome in a DKIM2 report (``ChainReport.to_json()`` or the ``dkim2`` section of a
    whole-message report)."""
    findings = dkim2.get("findings") or []
    deciding = next((f for f in findings if f.get("state") in FAILING), None)
    return Outcome(
        str(dkim2.get("result")),
        None if deciding is None else (deciding["code"], deciding["message"]),
        frozenset(str(f["code"]) for f in findings),
        verdict,
        "" if deciding is None else str(deciding.get("detail") or ""),
        tuple((str(f["code"]), str(f.get("detail") or "")) for f in findings),
    )


def outcome_of_message_report(report: Mapping[str, Any]) -> Outcome:
    """The outcome in a whole-message report (``MessageReport.to_json()``, as stored)."""
    outcome = outcome_of(report.get("dkim2") or {}, str(report.get("result")))
    dmarc = report.get("dmarc")
    if not isinstance(dmarc, Mapping):
        return outcome
    return dataclasses.replace(
        outcome, dmarc=(str(dmarc.get("result")), dmarc.get("author_domain") or None)
    )
