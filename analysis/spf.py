"""SPF (RFC 7208): is the connecting server allowed to send for the envelope's domain?

Theory of operation
-------------------
:func:`evaluate` runs RFC 7208's ``check_host()`` (§4) for the identity the envelope gives
and returns an :class:`SpfReport`.  The evaluation itself is pyspf's (module ``spf``,
``spf.query.check``, RFC mode ``strict=True``); this module is the one boundary around it:

1. **The envelope.**  ``mail_from`` is the SMTP reverse-path as given; angle brackets, an
   RFC 5321 §4.1.2 source route (``@a,@b:``) and anything after the closing ``>`` are
   dropped.  Empty (``<>`` or ``""``) is the null sender: RFC 7208 §2.4 then checks the
   HELO identity, with ``postmaster@<HELO>`` as the sender.  Otherwise the domain is what
   follows the *last* ``@`` (a quoted local-part may hold an ``@``), and an empty
   local-part becomes ``postmaster`` (§4.3).  A reverse-path without ``@`` is read as a
   bare domain, as pyspf does.
2. **Initial processing (§4.3).**  A domain that is empty, an address literal, not a valid
   DNS name (:func:`analysis.resolvers.dns_name`: labels of 1-63 octets, at most 253 in
   all, letters, digits, ``-`` and ``_``; U-labels become A-labels), or a single label
   gives ``none`` without any DNS question (finding ``spf.invalid-domain``).
3. **The client address.**  ``ip=None`` (or empty) gives ``none`` and ``spf.no-ip``; text
   that is not an address (brackets and an ``IPv6:`` prefix, as in Received fields, are
   accepted; an IPv6 zone index such as ``%eth0`` is not) gives ``none`` and
   ``spf.invalid-ip``.  An IPv4-mapped IPv6 address
   (``::ffff:192.0.2.1``) is evaluated as the IPv4 address (§5: "MUST still be considered
   an IPv4 address"); pyspf does this itself and the report shows the IPv4 form.
4. **DNS.**  pyspf asks DNS through the module-level function ``spf.DNSLookup(name,
   qtype, strict, timeout)``.  This module replaces it, once, at import, with
   :func:`_pyspf_dns`, a dispatcher that reads the evaluation's :class:`_Session` from a
   :class:`contextvars.ContextVar` set around each evaluation.  Concurrent evaluations in
   threads (or tasks) therefore each use their own injected
   :class:`~analysis.lookup.DnsLookup`, and pyspf never does I/O of its own: with no
   session set, the dispatcher raises pyspf's ``TempError``.  Each
   :class:`~analysis.lookup.DnsAnswer` becomes exactly what pyspf's dnspython driver
   (``DNSLookup_dnspython``) returns: a list of ``((name, type), value)`` pairs keyed by
   the name asked (CNAMEs are already followed by the lookup and never appear, as with
   that driver); TXT values are tuples of ``bytes`` (one string, since the answer's
   character-strings are already joined, §3.3); MX values ``(preference, exchange)``;
   A/AAAA address text; PTR names.  Statuses map as follows:

   ==========================================  ==========================================
   :class:`~analysis.lookup.LookupStatus`       what pyspf sees
   ==========================================  ==========================================
   ``found``                                    the records
   ``nodata``, ``nxdomain``                     an empty answer (pyspf counts a void
                                                lookup, §4.6.4; §5: RCODE 3 is "no
                                                error and zero answer records")
   ``servfail``, ``timeout``, ``budget``,       ``TempError`` (§5: "the topmost
   ``error``                                    check_host() returns temperror")
   ``invalid-name``                             an empty answer, *not* counted as a void
                                                lookup (no question was sent); for the
                                                checked domain §4.3 already gave none
   ==========================================  ==========================================

   The SPF RR type (99) is never asked (§3.1, §14.1: no longer used); pyspf asks it only
   in its "harsh" mode, which is not used.  Answers are remembered per evaluation, so
   pyspf asking a name again (it does not cache empty answers) costs no second question.
5. **The trace.**  A subclass of ``spf.query`` observes, without changing, what pyspf
   does: ``dns_spf`` (which domain's record was read), ``check1`` (entering an included
   or redirected record), ``validate_mechanism`` (whose returned tuple announces, when
   pyspf unpacks it in its evaluation loop, that the term is being evaluated),
   ``cidrmatch`` / ``dns_a`` / ``validated_ptrs`` / the included record's result (whether
   the term matched), ``check_lookups`` (which terms were counted), ``dns`` (every DNS
   question and its answer, and which ones were void).  The trace is a bounded list of
   :class:`SpfStep`; ``matched`` follows the deciding term through ``include:`` and
   ``redirect=`` (``include:_spf.example.net (ip4:192.0.2.0/24)``).
6. **The HELO check (§2.3).**  With a non-null MAIL FROM and a HELO name, the HELO
   identity is checked separately; its result is ``helo_result`` and, when it differs
   from the MAIL FROM result, a note (``spf.helo-differs``).  Its trace steps follow the
   MAIL FROM steps (``identity="helo"``).
7. **Findings and summary.**  Each result except ``pass`` gives one finding: ``spf.fail``
   (state fail), ``spf.softfail``, ``spf.neutral`` and ``spf.none`` (warnings, state
   none), ``spf.temperror``, and for a permerror one naming its cause
   (``spf.too-many-lookups``, ``spf.too-many-void-lookups``, ``spf.too-many-mx``,
   ``spf.multiple-records``, ``spf.include-without-record``,
   ``spf.redirect-without-record``, ``spf.record-too-long``, ``spf.syntax``).  An envelope
   that cannot be evaluated gives ``spf.no-ip``, ``spf.invalid-ip``,
   ``spf.invalid-domain`` or ``spf.no-identity``; a reconstructed envelope adds
   ``spf.reconstructed`` (info); a different HELO result ``spf.helo-differs`` (info); a
   defect ``spf.analyser-error``.  The summary is one sentence naming who must act: the
   domain's DNS administrator, the sending server's operator, or a forwarder that does
   not rewrite the envelope sender (SRS).

RFC 7208 §4.6.4 limits
----------------------
pyspf enforces them (its ``MAX_LOOKUP``, ``MAX_VOID_LOOKUPS``, ``MAX_MX``, ``MAX_PTR``;
``tests/analysis/test_spf_limits.py`` proves each): more than 10 terms that query DNS
(``include``, ``a``, ``mx``, ``ptr``, ``exists``, ``redirect``) is a permerror; more than
2 void lookups is a permerror; an ``mx`` term whose name has more than 10 MX records is a
permerror; of more than 10 PTR names only the first 10 are validated.

Interpretations and corrections of pyspf (each marked "RFC differs" in the code)
--------------------------------------------------------------------------------
* **Void lookups are counted per DNS question**, as pyspf does, not per term: §4.6.4
  speaks of "terms for which DNS queries return" nothing, but pyspf's maintainer reads
  every empty answer as a void lookup (sdgathman/pyspf#40, #44), and so does this module.
  The consequence, shown in the finding's detail which lists the void questions: for an
  IPv6 client, ``mx`` names without AAAA records each count.
* **ptr (§5.5)**: "If a DNS error occurs while doing the PTR RR lookup, then this
  mechanism fails to match.  If a DNS error occurs while doing an A RR lookup, then that
  domain name is skipped and the search continues."  pyspf turns both into a temperror;
  this module applies the RFC (the same holds for ``%{p}``, which becomes ``unknown``,
  §7.3).
* **Macro expansion longer than 253 octets (§4.8)**: the RFC removes labels from the
  left until the name fits; pyspf removes one label only, so :meth:`_Query.dns` removes
  the rest before asking.
* **Names the lookup layer refuses** (``invalid-name``: e.g. a ``%{l}`` local-part with
  ``+`` in an ``exists:`` name): no question is sent and the term does not match; pyspf
  does the same for names with empty or over-long labels.
* **redirect= is counted when it is followed**, like the mechanisms, which pyspf counts
  when it evaluates them; pyspf counts redirect= when it parses the record, even when a
  term matches first.  §4.6.4 counts terms "during SPF evaluation" (the test suite leaves
  the moment open).  This differs from pyspf only when a record's tenth DNS term matches
  and the record also holds a redirect=.
* **%{p}** is not counted as one of the 10 DNS terms (pyspf); its PTR names are limited
  to 10 like those of ``ptr`` (§4.6.4).
* **exp= (§6.2)**: pyspf fetches it while parsing; an error there is ignored as §6.2
  says.  ``explanation`` is reported only for a ``fail`` result (§6.2: the explanation
  goes with a fail) and only from the record that decided (an ``include``'s exp= is not
  used; after ``redirect=`` the target's is, §6.1, §6.2).
* **``none`` for an included domain without a record** is a permerror (§5.2), and a
  redirect to a domain without a record is a permerror (§6.1); pyspf agrees.
* **An exception from pyspf other than its PermError/TempError** (a defect) gives
  ``temperror`` with ``spf.analyser-error``: no statement about the domain can be made,
  and a retry with a fixed analyser may succeed.
* **%{t}** (exp= only) is the injected ``now`` when given; otherwise pyspf's own clock.

Analyser bounds (named below; the lead moves them into :mod:`analysis.limits`)
------------------------------------------------------------------------------
pyspf's parser is quadratic in places (a failing top-label check over a long label, and
macro validation per label), so an SPF record longer than :data:`limits.MAX_SPF_RECORD_CHARS`
is not evaluated (permerror, ``spf.record-too-long``; RFC 7208 §3.4 advises records
under 450 octets), and an exp= text longer than :data:`limits.MAX_SPF_EXPLANATION_CHARS` is
ignored.  At most :data:`limits.MAX_SPF_DNS_QUESTIONS` questions per check reach the lookup
(above the RFC's worst case; a temperror if ever reached).  The trace keeps
:data:`limits.MAX_SPF_TRACE_STEPS` steps of :data:`limits.MAX_SPF_TRACE_TEXT_CHARS`
characters; every value copied into the report is cut at ``limits.MAX_REPORT_TEXT_CHARS`` with "…".
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import spf as pyspf  # type: ignore[import-untyped]

from analysis import limits
from analysis.findings import Finding, Severity, State, Step, note
from analysis.lookup import DnsAnswer, DnsLookup, DnsQuery, LookupStatus, RecordType
from analysis.resolvers import InvalidKeyName, host_name

__all__ = [
    "RESULTS",
    "SOURCES",
    "SpfReport",
    "SpfStep",
    "evaluate",
]

# -- RFC 7208 §4.6.4 limits (enforced by pyspf; named here for the report and the tests) ------

# -- analyser bounds -------------------------------------------------------------------------

#: Most DNS records shown in one trace step.
_TRACE_RECORDS_SHOWN = 4
#: Most items listed in a finding's detail (counted terms, void questions, records).
_DETAIL_ITEMS = 12

#: RFC 7208 §2.6 results.
RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
#: Where the envelope came from (see :func:`evaluate`).
SOURCES = ("smtp", "given", "reconstructed", "none")

_SPEC = "RFC 7208"


# -- bounded text -------------------------------------------------------------------------


def _cap(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, visibly ("…")."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _show(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    """Text for display: control and other unprintable characters escaped, then capped."""
    text = text[: limit * 4]  # no need to escape what will be cut anyway
    if not text.isprintable():
        text = "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
        )
    return _cap(text, limit)


def _items(values: list[str], limit: int = _DETAIL_ITEMS) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# -- the report -----------------------------------------------------------------------------


@dataclass
class SpfStep:
    """One step of an evaluation, for the report's trace.

    ``kind`` is ``record`` (a domain's SPF record was read; ``text`` is the record),
    ``term`` (a term was evaluated), ``redirect`` (``redirect=`` was followed), ``default``
    (no term matched), ``dns`` (a DNS question and its answer), or ``note``.
    ``depth`` is 0 for the checked domain's record, 1 inside an included record, and so on.
    """

    identity: str  # "mailfrom" or "helo"
    depth: int
    kind: str
    domain: str
    text: str
    outcome: str

    def settle(self, outcome: str) -> None:
        self.outcome = _show(outcome, limits.MAX_SPF_TRACE_TEXT_CHARS)

    def to_json(self) -> dict[str, object]:
        return {
            "identity": self.identity,
            "depth": self.depth,
            "kind": self.kind,
            "domain": self.domain,
            "text": self.text,
            "outcome": self.outcome,
        }


@dataclass
class SpfReport:
    """The SPF result of one message's envelope (RFC 7208)."""

    result: str  # RESULTS: of the MAIL FROM identity, or of HELO for a null MAIL FROM
    identity: str  # "mailfrom" or "helo"
    domain: str  # the domain checked ("" when none could be named)
    helo_result: str | None  # the separate HELO check (§2.3); None without HELO or IP
    ip: str | None  # the client address evaluated (IPv4 for an IPv4-mapped address)
    helo: str
    mail_from: str  # as given
    source: str  # SOURCES
    source_detail: str
    record: str | None  # the checked domain's SPF record
    matched: str | None  # the term that decided, through include/redirect
    explanation: str | None  # the exp= text, for a fail
    lookups: int  # DNS-querying terms counted (§4.6.4)
    void_lookups: int
    trace: list[SpfStep]
    findings: list[Finding]
    summary: str
    trace_omitted: int = 0  # steps beyond limits.MAX_SPF_TRACE_STEPS

    def to_json(self) -> dict[str, object]:
        return {
            "result": self.result,
            "identity": self.identity,
            "domain": self.domain,
            "helo_result": self.helo_result,
            "ip": self.ip,
            "helo": self.helo,
            "mail_from": self.mail_from,
            "source": self.source,
            "source_detail": self.source_detail,
            "record": self.record,
            "matched": self.matched,
            "explanation": self.explanation,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "trace": [s.to_json() for s in self.trace],
            "trace_omitted": self.trace_omitted,
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary,
        }


# -- the DNS dispatcher -----------------------------------------------------------------------


class _InvalidName(Exception):
    """The lookup refused the name (``invalid-name``); :meth:`_Query.dns` handles it."""


PyspfAnswer = list[tuple[tuple[str, str], object]]


@dataclass
class _Trace:
    """The bounded list of steps of one evaluation (both identities)."""

    steps: list[SpfStep] = field(default_factory=list)
    omitted: int = 0
    identity: str = "mailfrom"

    def add(self, depth: int, domain: str, kind: str, text: str, outcome: str) -> SpfStep | None:
        if len(self.steps) >= limits.MAX_SPF_TRACE_STEPS:
            self.omitted += 1
            return None
        step = SpfStep(
            identity=self.identity,
            depth=depth,
            kind=kind,
            domain=_show(domain, 255),
            text=_show(text, limits.MAX_SPF_TRACE_TEXT_CHARS),
            outcome=_show(outcome, limits.MAX_SPF_TRACE_TEXT_CHARS),
        )
        self.steps.append(step)
        return step


@dataclass
class _Session:
    """What one evaluation's DNS questions go through (found by the dispatcher)."""

    lookup: DnsLookup
    trace: _Trace
    answers: dict[tuple[str, str], DnsAnswer] = field(default_factory=dict)
    asked: int = 0
    query: _Query | None = None  # the check running now (for the trace's depth)
    failed_name: str = ""  # the first question of this check that failed (temporary)

    def ask(self, name: str, qtype: str) -> PyspfAnswer:
        try:
            rtype = RecordType(qtype.upper())
        except ValueError:
            # Type SPF (99): RFC 7208 §3.1 and §14.1 retire it; never asked.
            return []
        key = (name.lower().rstrip("."), rtype.value)
        answer = self.answers.get(key)
        if answer is None:
            if self.asked >= limits.MAX_SPF_DNS_QUESTIONS:
                self.failed_name = self.failed_name or name
                raise pyspf.TempError(
                    f"more than {limits.MAX_SPF_DNS_QUESTIONS} DNS questions in one SPF check "
                    "(the analyser's bound)"
                )
            self.asked += 1
            question = DnsQuery(name, rtype)
            answer = self.lookup.resolve_many([question]).get(question) or DnsAnswer(
                question, LookupStatus.ERROR, detail="the lookup gave no answer to this question"
            )
            self.answers[key] = answer
        self._trace_answer(answer)
        status = answer.status
        if status is LookupStatus.FOUND:
            return _pyspf_records(name, rtype, answer.records)
        if status in (LookupStatus.NXDOMAIN, LookupStatus.NODATA):
            return []
        if status is LookupStatus.INVALID_NAME:
            raise _InvalidName(answer.detail or "not a valid DNS name")
        detail = f" ({answer.detail})" if answer.detail else ""
        self.failed_name = self.failed_name or name
        raise pyspf.TempError(f"{rtype.value} {name}: {status.value}{detail}")

    def _trace_answer(self, answer: DnsAnswer) -> None:
        depth, domain = self.query.position() if self.query is not None else (0, "")
        question = f"{answer.query.rtype.value} {answer.query.name}"
        if answer.status is LookupStatus.FOUND:
            shown = [
                f'"{r}"' if answer.query.rtype is RecordType.TXT else r for r in answer.records
            ]
            outcome = f"found: {_items(shown, _TRACE_RECORDS_SHOWN)}"
        elif answer.status is LookupStatus.INVALID_NAME:
            outcome = "not asked: not a valid DNS name"
        else:
            outcome = answer.status.value + (f" ({answer.detail})" if answer.detail else "")
        self.trace.add(depth, domain, "dns", question, outcome)


def _pyspf_records(name: str, rtype: RecordType, records: tuple[str, ...]) -> PyspfAnswer:
    """``records`` in the shape of pyspf's ``DNSLookup_dnspython``."""
    key = (name, rtype.value)
    out: PyspfAnswer = []
    for record in records:
        if rtype is RecordType.TXT:
            # One character-string: the answer's strings are already joined (§3.3).  A
            # non-ASCII record stays non-ASCII, so pyspf reports it (§4.5, §3.1).
            out.append((key, (record.encode("utf-8", "surrogatepass"),)))
        elif rtype is RecordType.MX:
            preference, _, exchange = record.partition(" ")
            if preference.isdigit() and exchange.strip():
                out.append((key, (int(preference), exchange.strip())))
        elif rtype in (RecordType.A, RecordType.AAAA):
            try:
                address = ipaddress.ip_address(record.strip())
            except ValueError:
                continue
            if address.version == (4 if rtype is RecordType.A else 6):
                out.append((key, str(address)))
        else:  # PTR, CNAME: names
            out.append((key, record))
    return out


_CURRENT: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
    "analysis_spf_session", default=None
)


def _pyspf_dns(name: object, qtype: object, strict: object = True, timeout: object = None) -> Any:
    """pyspf's ``DNSLookup``: answer from the evaluation's injected lookup, never the net."""
    session = _CURRENT.get()
    if session is None:
        raise pyspf.TempError(
            "no DNS lookup is set: pyspf is used only through analysis.spf.evaluate"
        )
    return session.ask(str(name), str(qtype))


def _install() -> None:
    """Make :func:`_pyspf_dns` pyspf's only way to DNS (idempotent)."""
    if pyspf.DNSLookup is not _pyspf_dns:
        pyspf.DNSLookup = _pyspf_dns


_install()


# -- observing pyspf's evaluation ---------------------------------------------------------------


@dataclass
class _TermState:
    """One term as it is evaluated."""

    text: str
    kind: str  # pyspf's mechanism name: a, mx, ip4, ip6, ptr, exists, include, all
    arg: str
    qualifier: str  # the result the term gives when it matches
    step: SpfStep | None
    matched: bool | None = None
    inner: _Frame | None = None  # the included record's evaluation

    def decide(self, matched: bool, why: str = "") -> None:
        self.matched = matched
        if self.step is not None:
            if matched:
                self.step.settle(f"match: {self.qualifier}" + (f" ({why})" if why else ""))
            else:
                self.step.settle("no match" + (f" ({why})" if why else ""))


@dataclass
class _Frame:
    """The evaluation of one record: the checked domain's, an included or redirected one."""

    domain: str
    record: str | None
    recursion: int
    depth: int
    kind: str  # top, include, redirect
    current: _TermState | None = None
    matched: _TermState | None = None
    redirect: _Frame | None = None

    def close(self) -> None:
        """The loop over terms ended without an exception."""
        if self.current is not None and self.current.matched is None:
            self.current.decide(False, "no outcome was observed")

    def redirect_term(self) -> str:
        for token in (self.record or "").split(" "):
            if token.lower().startswith("redirect="):
                return token
        return "redirect="


class _Term(tuple[Any, ...]):
    """pyspf's parsed mechanism; unpacking it (pyspf's evaluation loop) calls the hook."""

    hook: Callable[[_Term], None]

    def __new__(cls, items: tuple[Any, ...], hook: Callable[[_Term], None]) -> _Term:
        term = super().__new__(cls, items)
        term.hook = hook
        return term

    def __iter__(self) -> Iterator[Any]:
        self.hook(self)
        return super().__iter__()


class _Query(pyspf.query):  # type: ignore[misc]
    """pyspf's query, observed (see the module docs, step 5) and corrected where the RFC
    differs (ptr errors, long macro expansions, record and exp= bounds)."""

    def __init__(
        self,
        *,
        ip: str,
        sender: str,
        local: str,
        domain: str,
        helo: str,
        identity: str,
        receiver: str,
        now: float | None,
        session: _Session,
    ) -> None:
        super().__init__(
            i=ip, s=sender, h=helo, receiver=receiver or None, strict=True, querytime=0
        )
        # pyspf's split_email splits at the first "@"; the domain follows the last (§4.3).
        self.l, self.o, self.d = local, domain, domain
        self.ident = identity
        if now is not None:
            self.t = str(int(now))
        self.session = session
        self.trace = session.trace
        self.frames: list[_Frame] = []
        self.top: _Frame | None = None
        self.in_ptr_validation = False
        self.in_explanation = False
        self.exp_text: str | None = None
        self.void_questions: list[str] = []
        self.counted_terms: list[str] = []
        self.error_domain: str | None = None
        self.error_term: tuple[str, str] | None = None  # (term, domain of its record)
        self.spf_records: dict[str, list[str]] = {}

    # -- where we are ----------------------------------------------------------------------

    def position(self) -> tuple[int, str]:
        if self.frames:
            return self.frames[-1].depth, self.frames[-1].domain
        return 0, str(self.d)

    def _term(self) -> _TermState | None:
        if not self.frames:
            return None
        term = self.frames[-1].current
        return term if term is not None and term.matched is None else None

    def _note(self, text: str, outcome: str) -> None:
        depth, domain = self.position()
        self.trace.add(depth, domain, "note", text, outcome)

    # -- DNS -------------------------------------------------------------------------------

    def dns(
        self, name: str, qtype: str, cnames: Any = None, ignore_void: bool = False
    ) -> list[Any]:
        name = str(name)
        stripped = name.rstrip(".")
        if len(stripped) > 253:
            # RFC differs: §4.8 removes labels from the left until the name fits in 253
            # octets; pyspf's expand() removes one label only.  The first dot after which
            # at most 253 octets remain is where the name starts (no dot: the last label).
            cut = stripped.find(".", len(stripped) - 254)
            name = stripped[cut + 1 :] if cut >= 0 else stripped.rpartition(".")[2]
        before = self.void_lookups
        try:
            result: list[Any] = super().dns(name, qtype, cnames=cnames, ignore_void=ignore_void)
        except _InvalidName as exc:
            # No question was sent: no answer, and not a void lookup (§4.6.4 counts answers).
            self._note(f"{qtype} {name}", f"not asked: {exc}; treated as no answer")
            return []
        finally:
            if self.void_lookups > before:
                self.void_questions.append(f"{qtype} {name}")
        return result

    def dns_spf(self, domain: str) -> str | None:
        # The record of the checked domain (no frame yet), of an include target (the
        # current term is an include), or of a redirect= target (after the terms).
        if not self.frames:
            depth = 0
        else:
            frame = self.frames[-1]
            term = frame.current
            nested = term is not None and term.kind == "include" and term.matched is None
            depth = frame.depth + (1 if nested else 0)
            if not nested:  # a redirect= followed: counted now (see check_lookups)
                frame.close()
                text = frame.redirect_term()
                self.trace.add(depth, frame.domain, "redirect", text, "followed: no term matched")
                self._count(frame, text)
        try:
            record: str | None = super().dns_spf(domain)
        except (pyspf.PermError, pyspf.TempError) as exc:
            kind = "permerror" if isinstance(exc, pyspf.PermError) else "temperror"
            self.trace.add(depth, domain, "record", f"SPF record of {domain}", f"{kind}: {exc}")
            self.error_domain = self.error_domain or domain
            raise
        if record is not None and len(record) > limits.MAX_SPF_RECORD_CHARS:
            self.error_domain = self.error_domain or domain
            self.trace.add(depth, domain, "record", record, "not evaluated: too long")
            raise pyspf.PermError(_TOO_LONG % (len(record), limits.MAX_SPF_RECORD_CHARS))
        self.trace.add(
            depth,
            domain,
            "record",
            record if record is not None else f"no SPF record at {domain}",
            "read" if record is not None else "none",
        )
        return record

    def dns_txt(self, domainname: str, rr: str = "TXT", ignore_void: bool = False) -> list[Any]:
        texts: list[Any] = super().dns_txt(domainname, rr, ignore_void=ignore_void)
        if self.in_explanation and any(len(t) > limits.MAX_SPF_EXPLANATION_CHARS for t in texts):
            self._note(f"exp= text at {domainname}", "ignored: longer than the analyser's bound")
            return []
        if not self.in_explanation:
            spf_texts = [t for t in texts if pyspf.RE_SPF.match(t)]
            self.spf_records[str(domainname).lower()] = [
                t.decode("utf-8", "replace") for t in spf_texts
            ]
        return texts

    def get_explanation(self, spec: str) -> str | None:
        self.in_explanation = True
        failed = self.session.failed_name
        try:
            text: str | None = super().get_explanation(spec)
        finally:
            self.in_explanation = False
            self.session.failed_name = failed  # an exp= failure is ignored (§6.2)
        return text

    def set_explanation(self, exp: str) -> None:
        super().set_explanation(exp)
        self.exp_text = exp

    # -- records and terms -----------------------------------------------------------------

    def check1(self, spf: str | None, domain: str, recursion: int) -> Any:
        parent = self.frames[-1] if self.frames else None
        if parent is None:
            kind, depth = "top", 0
        elif recursion > parent.recursion:
            kind, depth = "include", parent.depth + 1
        else:
            kind, depth = "redirect", parent.depth
        frame = _Frame(str(domain), spf, recursion, depth, kind)
        if parent is None:
            self.top = frame
        elif kind == "include" and parent.current is not None:
            parent.current.inner = frame
        elif kind == "redirect":
            parent.redirect = frame
        self.frames.append(frame)
        try:
            result = super().check1(spf, domain, recursion)
        except (pyspf.PermError, pyspf.TempError) as exc:
            self._fail(frame, exc)
            raise
        finally:
            self.frames.pop()
        frame.close()
        if spf and frame.matched is None and frame.redirect is None:
            self.trace.add(
                depth, str(domain), "default", "no term matched", f"{result[0]} (RFC 7208 §4.7)"
            )
        if kind == "include" and parent is not None and parent.current is not None:
            if result[0] == "none":
                return result  # pyspf raises next (§5.2: permerror); the term shows it
            parent.current.decide(result[0] == "pass", f"the included record gave {result[0]}")
            if parent.current.matched:
                parent.matched = parent.current
        return result

    def _fail(self, frame: _Frame, exc: Exception) -> None:
        kind = "permerror" if isinstance(exc, pyspf.PermError) else "temperror"
        self.error_domain = self.error_domain or frame.domain
        term = frame.current
        if term is not None and term.matched is None:
            if self.error_term is None:
                self.error_term = (term.text, frame.domain)
            term.matched = False
            if term.step is not None:
                term.step.settle(f"{kind}: {exc}")
        elif frame.redirect is None:  # not already shown in the redirected record's steps
            self.trace.add(
                frame.depth, frame.domain, "note", "evaluation stopped", f"{kind}: {exc}"
            )

    def validate_mechanism(self, mech: str) -> Any:
        parsed = super().validate_mechanism(mech)
        if not self.frames:
            return parsed
        frame = self.frames[-1]
        return _Term(tuple(parsed), lambda term: self._begin(frame, term))

    def _begin(self, frame: _Frame, term: _Term) -> None:
        """pyspf's evaluation loop has reached ``term`` in ``frame``'s record."""
        frame.close()
        text, kind, arg = str(term[0]), str(term[1]), str(term[2])
        step = self.trace.add(frame.depth, frame.domain, "term", text, "evaluating")
        state = _TermState(text, kind, arg, str(term[4]), step)
        frame.current = state
        if kind == "all":
            state.decide(True)
        elif (kind == "ip4" and self.v != "in-addr") or (kind == "ip6" and self.v != "ip6"):
            state.decide(False, "the client address is of the other family")
        if state.matched:
            frame.matched = state

    def check_lookups(self) -> None:
        frame = self.frames[-1] if self.frames else None
        if frame is not None and frame.current is None:
            # RFC differs: pyspf counts redirect= while parsing the record (the only call
            # made before the first term is evaluated); §4.6.4 counts terms "during SPF
            # evaluation", and mechanisms are counted when evaluated, so redirect= is
            # counted when it is followed (dns_spf below), or not at all.
            return
        self._count(frame, None)

    def _count(self, frame: _Frame | None, text: str | None) -> None:
        if frame is not None:
            term = self._term()
            if text is None:
                text = term.text if term is not None else frame.redirect_term()
            self.counted_terms.append(f"{text} ({frame.domain})")
        super().check_lookups()

    def _settle(self, matched: bool, kinds: tuple[str, ...]) -> None:
        term = self._term()
        if term is not None and term.kind in kinds:
            term.decide(matched)
            if matched:
                self.frames[-1].matched = term

    def cidrmatch(self, ipaddrs: Any, n: int) -> bool:
        matched = bool(super().cidrmatch(ipaddrs, n))
        self._settle(matched, ("a", "mx", "ip4", "ip6"))
        return matched

    def dns_a(self, domainname: str, A: str = "A") -> list[Any]:
        if self.in_ptr_validation:
            try:
                found: list[Any] = super().dns_a(domainname, A)
            except pyspf.TempError as exc:
                # RFC differs: §5.5 "If a DNS error occurs while doing an A RR lookup, then
                # that domain name is skipped and the search continues"; pyspf gives up.
                self._note(f"{A} {domainname}", f"skipped: {exc} (RFC 7208 §5.5)")
                return []
            return found
        addresses: list[Any] = super().dns_a(domainname, A)
        self._settle(bool(addresses), ("exists",))
        return addresses

    def validated_ptrs(self) -> list[Any]:
        self.in_ptr_validation = True
        try:
            names: list[Any] = super().validated_ptrs()
        except pyspf.TempError as exc:
            # RFC differs: §5.5 "If a DNS error occurs while doing the PTR RR lookup, then
            # this mechanism fails to match" (and %{p} is "unknown", §7.3); pyspf gives up.
            self._note("PTR lookup", f"failed: {exc}; no name validated (RFC 7208 §5.5)")
            names = []
        finally:
            self.in_ptr_validation = False
        term = self._term()
        if term is not None and term.kind == "ptr":
            self._settle(bool(pyspf.domainmatch(names, term.arg)), ("ptr",))
        return names


_TOO_LONG = "SPF record of %d characters is longer than the analyser's bound of %d"


# -- one check -------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What one check_host() run gave."""

    result: str
    domain: str
    record: str | None = None
    matched: str | None = None
    explanation: str | None = None
    lookups: int = 0
    void_lookups: int = 0
    problem: str = ""  # pyspf's message for a permerror/temperror
    problem_term: str = ""
    term_domain: str = ""  # the record holding problem_term
    error_domain: str = ""
    failed_name: str = ""  # for a temperror: the name whose question failed
    void_questions: list[str] = field(default_factory=list)
    counted_terms: list[str] = field(default_factory=list)
    spf_records: list[str] = field(default_factory=list)
    analyser_error: str = ""
    top_answer: str = ""  # the checked domain's TXT answer, for a none result


def _chain(frame: _Frame | None, depth: int = 0) -> str | None:
    """The deciding term, followed through include and redirect."""
    if frame is None or depth > 30:
        return None
    term = frame.matched
    if term is None:
        if frame.redirect is not None:
            inner = _chain(frame.redirect, depth + 1)
            text = frame.redirect_term()
            return f"{text} ({inner})" if inner else text
        return None
    if term.kind == "include" and term.inner is not None:
        inner = _chain(term.inner, depth + 1)
        return f"{term.text} ({inner})" if inner else term.text
    return term.text


def _check(
    session: _Session,
    *,
    ip: str,
    sender: str,
    local: str,
    domain: str,
    helo: str,
    identity: str,
    receiver: str,
    now: float | None,
) -> _Outcome:
    session.trace.identity = identity
    session.failed_name = ""
    try:
        query = _Query(
            ip=ip,
            sender=sender,
            local=local,
            domain=domain,
            helo=helo,
            identity=identity,
            receiver=receiver,
            now=now,
            session=session,
        )
        session.query = query
        result, _code, _text = query.check()
    except Exception as exc:  # a defect in pyspf or here: report it, never raise
        return _Outcome(
            result="temperror",
            domain=domain,
            analyser_error=_show(f"{type(exc).__name__}: {exc}", 300),
        )
    finally:
        session.query = None
    result = str(result)
    if result not in RESULTS:
        return _Outcome(
            result="temperror",
            domain=domain,
            analyser_error=f"pyspf returned the unknown result {result!r}",
        )
    outcome = _Outcome(
        result=result,
        domain=domain,
        lookups=int(query.lookups),
        void_lookups=int(query.void_lookups),
        void_questions=list(query.void_questions),
        counted_terms=list(query.counted_terms),
        error_domain=query.error_domain or "",
    )
    top = query.top
    if result == "none":
        outcome.top_answer = _txt_answer(session.answers.get((domain, "TXT")))
    if top is not None and top.record:
        outcome.record = _show(top.record)
    if result in ("permerror", "temperror"):
        outcome.problem = str(getattr(query, "prob", "") or "")
        terms = [str(m) for m in getattr(query, "mech", []) or []]
        tracked, tracked_domain = query.error_term or ("", "")
        outcome.problem_term = terms[-1] if terms else tracked
        outcome.term_domain = tracked_domain if tracked and not terms else ""
        outcome.failed_name = session.failed_name
        where = outcome.error_domain or domain
        outcome.spf_records = list(query.spf_records.get(where.lower(), []))
    else:
        matched = _chain(top)
        if matched is None and query.mechanism:
            matched = str(query.mechanism)  # pyspf's own record of the deciding term
        outcome.matched = _show(matched) if matched else None
    if result == "fail" and query.exp_text and query.exps.get("fail") is query.exp_text:
        outcome.explanation = _show(str(query.exp_text))
    return outcome


def _txt_answer(answer: DnsAnswer | None) -> str:
    """How the checked domain's TXT question was answered, for a ``none`` finding."""
    if answer is None:
        return ""
    if answer.status is LookupStatus.NXDOMAIN:
        return " (the name does not exist: NXDOMAIN)"
    if answer.status is LookupStatus.NODATA:
        return " (the name has no TXT record)"
    if answer.status is LookupStatus.FOUND:
        shown = [f'"{_show(r, 120)}"' for r in answer.records]
        return f" (its TXT records: {_items(shown, 4)})"
    return ""


# -- the envelope ------------------------------------------------------------------------------


def _reverse_path(mail_from: str) -> str:
    """The address of an SMTP reverse-path: no brackets, no source route, no parameters."""
    text = mail_from.strip()
    if text.startswith("<"):
        end = text.find(">")
        text = text[1:end] if end >= 0 else text[1:]
    text = text.strip()
    if text.startswith("@") and ":" in text:  # RFC 5321 §4.1.2 A-d-l, obsolete
        text = text.split(":", 1)[1]
    return text


def _split_sender(sender: str) -> tuple[str, str]:
    """(local-part, domain) of a non-null sender (RFC 7208 §4.3)."""
    if "@" not in sender:
        return "postmaster", sender
    local, _, domain = sender.rpartition("@")
    return local or "postmaster", domain


def _checked_domain(domain: str) -> tuple[str, str]:
    """(normalised domain, "") or ("", why it is not a domain check_host() can use, §4.3)."""
    text = domain.strip()
    if not text:
        return "", "the domain is empty"
    if text.startswith("["):
        return "", f"{_show(text, 100)} is an address literal, not a domain name"
    try:
        name = host_name(text).name
    except InvalidKeyName as exc:
        return "", str(exc)
    if "." not in name:
        return "", f"{name} is not a multi-label domain name"
    return name, ""


def _client_address(ip: str) -> tuple[str | None, str]:
    """(the address as pyspf will evaluate it, the text to give pyspf) or (None, why not)."""
    text = ip.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    if text[:5].lower() == "ipv6:":
        text = text[5:]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None, f"{_show(ip, 100)!r} is not an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        # A zone index (fe80::1%eth0) names an interface of the receiver, not a client.
        return None, f"{_show(ip, 100)!r} is not an IP address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped), str(address)  # §5: evaluated as IPv4
    return str(address), str(address)


# -- findings and summary ---------------------------------------------------------------------

_PERMERROR_CAUSES: tuple[tuple[str, str], ...] = (
    ("Too many DNS lookups", "spf.too-many-lookups"),
    ("Void lookup limit", "spf.too-many-void-lookups"),
    ("Two or more type TXT spf records", "spf.multiple-records"),
    ("No valid SPF record for included domain", "spf.include-without-record"),
    ("redirect domain has no SPF record", "spf.redirect-without-record"),
    ("SPF record of ", "spf.record-too-long"),
)


def _permerror_code(problem: str) -> str:
    """The finding code of a pyspf PermError message (every other one is a syntax error)."""
    for prefix, code in _PERMERROR_CAUSES:
        if problem.startswith(prefix):
            return code
    if problem.startswith("More than") and "MX records" in problem:
        return "spf.too-many-mx"
    if problem.startswith("More than") and "DNS lookups" in problem:
        return "spf.too-many-lookups"
    return "spf.syntax"


def _who(identity: str, domain: str) -> str:
    return f"the HELO name {domain}" if identity == "helo" else domain


def _permerror_detail(code: str, out: _Outcome) -> tuple[str, str]:
    """(detail for the finding, short cause for the summary)."""
    where = out.error_domain or out.domain
    in_where = f"the record of {where}"
    if where != out.domain:
        in_where += f" (reached from {out.domain})"
    term = out.problem_term
    if code == "spf.too-many-lookups":
        return (
            f"evaluating {out.domain}'s record and the records it reaches needed more than "
            f"{limits.SPF_DNS_TERM_LIMIT} terms that query DNS; counted: "
            f"{_items(out.counted_terms)}",
            f"it needs more than {limits.SPF_DNS_TERM_LIMIT} DNS lookups",
        )
    if code == "spf.too-many-void-lookups":
        return (
            f"more than {limits.SPF_VOID_LOOKUP_LIMIT} DNS questions found no record: "
            f"{_items(out.void_questions)}",
            f"more than {limits.SPF_VOID_LOOKUP_LIMIT} of its DNS lookups find nothing",
        )
    if code == "spf.too-many-mx":
        return (
            f"{term or 'an mx term'} in {in_where} names a domain with more than "
            f"{limits.SPF_MX_NAME_LIMIT} MX records",
            f"an mx term names more than {limits.SPF_MX_NAME_LIMIT} mail servers",
        )
    if code == "spf.multiple-records":
        records = [f'"{_show(r, 200)}"' for r in out.spf_records]
        listed = f": {_items(records, 4)}" if records else ""
        return (
            f"{where} publishes {len(records) or 'several'} TXT records starting with "
            f"v=spf1{listed}",
            f"{where} publishes more than one SPF record",
        )
    if code == "spf.include-without-record":
        target = out.problem.partition(":")[2].strip() or term
        return (
            f"{in_where} includes {target}, which publishes no SPF record",
            f"it includes {target}, which has no SPF record",
        )
    if code == "spf.redirect-without-record":
        return (
            f"{in_where} redirects to {term or 'a domain'}, which publishes no SPF record",
            f"it redirects to {term or 'a domain'}, which has no SPF record",
        )
    if code == "spf.record-too-long":
        return (
            f"{in_where}: {out.problem} (RFC 7208 §3.4 advises records under 450 octets)",
            f"the record of {where} is longer than the {limits.MAX_SPF_RECORD_CHARS} characters "
            "the analyser evaluates",
        )
    problem = out.problem + (f": {term}" if term and term not in out.problem else "")
    return f"{in_where}: {problem}", f"its record has an error ({_show(problem, 120)})"


def _result_findings(out: _Outcome, ip: str, identity: str) -> tuple[list[Finding], str]:
    """Findings for the identity check and the summary's middle part (who must act)."""
    domain = out.domain
    who = _who(identity, domain)
    data = {"identity": identity, "domain": domain, "ip": ip}
    admin = (
        f"the DNS administrator of the HELO name {domain}"
        if identity == "helo"
        else f"{domain}'s DNS administrator"
    )
    decided = f"the term {out.matched} decided" if out.matched else "no term matched"
    record = f"; record: {out.record}" if out.record else ""
    if out.analyser_error:
        return [
            Finding(
                "spf.analyser-error",
                State.TEMPERROR,
                "SPF temperror: the analyser could not complete the evaluation",
                Step.SPF,
                detail=out.analyser_error,
                spec=f"{_SPEC} §2.6.6",
                data=data,
            )
        ], (
            f"temperror — dkim2web could not complete the evaluation for {who} "
            f"({out.analyser_error}); this is a defect in the analyser, not in the domain's "
            "record."
        )
    if out.result == "pass":
        return [], f"pass — {ip} is allowed to send for {who} ({decided})."
    if out.result in ("fail", "softfail"):
        strength = "not" if out.result == "fail" else "probably not"
        actors = (
            f"if that server sends for {domain}, {admin} must list it in the SPF record; "
            "if the message was forwarded, the forwarder must rewrite the envelope sender "
            "(SRS); otherwise the sending server's operator must stop using "
            + ("that HELO name." if identity == "helo" else "that MAIL FROM domain.")
        )
        exp = f'; the domain explains: "{_show(out.explanation, 200)}"' if out.explanation else ""
        message = f"SPF {out.result}: {ip} is {strength} allowed to send for {who}"
        detail = f"{decided}{record}{exp}"
        spec = f"{_SPEC} §2.6.4" if out.result == "fail" else f"{_SPEC} §2.6.5"
        if out.result == "fail":
            finding = Finding(
                "spf.fail", State.FAIL, message, Step.SPF, detail=detail, spec=spec, data=data
            )
        else:
            finding = note("spf.softfail", message, Step.SPF, detail=detail, spec=spec, data=data)
        return [finding], f"{out.result} — {ip} is {strength} allowed to send for {who} " + (
            f"({decided}); {actors}"
        )
    if out.result == "neutral":
        why = (
            f"the term {out.matched} decided"
            if out.matched
            else "no term matched and the record has no all term, so the default applies "
            "(RFC 7208 §4.7)"
        )
        return [
            note(
                "spf.neutral",
                f"SPF neutral: {who} neither allows nor denies {ip}",
                Step.SPF,
                detail=f"{why}{record}",
                spec=f"{_SPEC} §2.6.2",
                data=data,
            )
        ], (
            f"neutral — {who}'s record neither allows nor denies {ip} ({decided}); {admin} "
            "can list the domain's servers and end the record in -all or ~all."
        )
    if out.result == "none":
        return [
            note(
                "spf.none",
                f"SPF none: {who} publishes no SPF record",
                Step.SPF,
                detail=f"no TXT record at {domain} starts with v=spf1{out.top_answer}",
                spec=f"{_SPEC} §4.5, §2.6.1",
                data=data,
            )
        ], (
            f"none — {who} publishes no SPF record, so no server is allowed or denied; "
            f"{admin} should publish one that lists its sending servers."
        )
    if out.result == "temperror":
        problem = out.problem or "a DNS lookup failed"
        evaluating = ""
        if out.problem_term:
            evaluating = f" (evaluating {out.problem_term}"
            evaluating += f" in the record of {out.term_domain})" if out.term_domain else ")"
        return [
            Finding(
                "spf.temperror",
                State.TEMPERROR,
                f"SPF temperror: a DNS lookup for {who} failed",
                Step.SPF,
                detail=problem + evaluating,
                spec=f"{_SPEC} §2.6.6, §4.4",
                data=data,
            )
        ], (
            f"temperror — a DNS lookup failed while checking {who} ({_show(problem, 160)}); "
            f"the DNS servers of {out.failed_name or out.error_domain or domain} must answer, "
            "and a later check may give a result."
        )
    code = _permerror_code(out.problem)
    detail, cause = _permerror_detail(code, out)
    where = out.error_domain or domain
    fixer = admin
    if where != domain and code not in ("spf.too-many-lookups", "spf.too-many-void-lookups"):
        fixer = f"{admin} (or the DNS administrator of {where})"
    return [
        Finding(
            code,
            State.PERMERROR,
            f"SPF permerror: the SPF record of {who} cannot be evaluated",
            Step.SPF,
            detail=detail,
            spec=f"{_SPEC} §2.6.7, §4.6",
            data=data,
        )
    ], f"permerror — {who}'s SPF record cannot be evaluated: {cause}; {fixer} must fix it."


# -- the entry point --------------------------------------------------------------------------


def evaluate(
    *,
    ip: str | None,
    helo: str,
    mail_from: str,
    lookup: DnsLookup,
    source: str,
    source_detail: str = "",
    receiver: str = "",
    now: float | None = None,
) -> SpfReport:
    """RFC 7208 check_host() for the envelope (see the module docs).

    ``mail_from`` is the SMTP reverse-path as given (``<>`` or ``""`` for the null
    sender); ``source`` says where the envelope came from (:data:`SOURCES`: ``smtp`` seen
    by the product's own intake, ``given`` typed by the user, ``reconstructed`` read back
    from the Received and Return-Path fields, ``none``); ``receiver`` is the ``%{r}``
    macro; ``now`` (unix time) the ``%{t}`` macro.  Never raises for anything in the
    envelope or in DNS.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    _install()
    helo_text = (helo or "").strip()
    sender = _reverse_path(mail_from or "")
    identity = "helo" if not sender else "mailfrom"
    if identity == "helo":
        local, raw_domain = "postmaster", helo_text
    else:
        local, raw_domain = _split_sender(sender)
    domain, refused = _checked_domain(raw_domain)
    shown_domain = domain or _show(raw_domain.strip().lower(), 255)
    findings: list[Finding] = []
    if source == "reconstructed":
        findings.append(
            note(
                "spf.reconstructed",
                "SPF: the envelope was reconstructed from the message's trace fields",
                Step.SPF,
                severity=Severity.INFO,
                detail=_show(source_detail)
                or "client address, HELO and MAIL FROM read from Received and Return-Path",
                spec=f"{_SPEC} §2.2, RFC 5321 §4.4",
            )
        )
    trace = _Trace()
    report = _Partial(
        identity=identity,
        domain=shown_domain,
        helo=_show(helo_text),
        mail_from=_show(mail_from or ""),
        source=source,
        source_detail=_show(source_detail),
        findings=findings,
        trace=trace,
    )
    if not sender and not helo_text:
        return report.unevaluated(
            "spf.no-identity",
            "SPF none: neither a MAIL FROM address nor a HELO name is known",
            "the MAIL FROM is null (<>) and no HELO name was given, so there is no domain to "
            "check (RFC 7208 §2.4)",
            "none — neither a MAIL FROM address nor a HELO name is known, so SPF could not "
            "be checked; give the envelope, or analyse a copy whose Received field names the "
            "HELO.",
            ip=None,
        )
    if ip is None or not ip.strip():
        return report.unevaluated(
            "spf.no-ip",
            "SPF none: no connecting IP address is known",
            "SPF judges the address of the server that handed the message over; none was "
            f"known (envelope source: {source}), so nothing could be evaluated",
            "none — no connecting IP address was known, so SPF could not be evaluated; "
            "send the message to the SMTP intake (which records it), type it with the "
            "envelope, or analyse a copy that keeps the receiver's Received field.",
            ip=None,
        )
    address, given_ip = _client_address(ip)
    if address is None:
        return report.unevaluated(
            "spf.invalid-ip",
            "SPF none: the connecting IP address is not an IP address",
            given_ip,
            "none — the connecting IP address given is not an IP address, so SPF could not "
            "be evaluated; give the client address as 192.0.2.1 or 2001:db8::1.",
            ip=None,
        )
    if not domain:
        what = "HELO name" if identity == "helo" else "MAIL FROM domain"
        return report.unevaluated(
            "spf.invalid-domain",
            f"SPF none: the {what} is not a domain SPF can check",
            refused,
            f"none — the {what} {shown_domain or '(empty)'} is not a valid domain name "
            "(RFC 7208 §4.3), so nothing was checked; the sending server's operator must use "
            f"a valid {what}.",
            ip=address,
        )
    session = _Session(lookup=lookup, trace=trace)
    token = _CURRENT.set(session)
    try:
        out = _check(
            session,
            ip=given_ip,
            sender=sender if identity == "mailfrom" else f"postmaster@{helo_text}",
            local=local,
            domain=domain,
            helo=helo_text,
            identity=identity,
            receiver=receiver,
            now=now,
        )
        helo_out: _Outcome | None = None
        helo_result: str | None = None
        if identity == "helo":
            helo_result = out.result
        elif helo_text:
            helo_domain, _why = _checked_domain(helo_text)
            if helo_domain:
                helo_out = _check(
                    session,
                    ip=given_ip,
                    sender=f"postmaster@{helo_text}",
                    local="postmaster",
                    domain=helo_domain,
                    helo=helo_text,
                    identity="helo",
                    receiver=receiver,
                    now=now,
                )
                helo_result = helo_out.result
            else:
                helo_result = "none"  # §4.3: not a domain check_host() can use
    finally:
        _CURRENT.reset(token)
    result_findings, middle = _result_findings(out, address, identity)
    findings.extend(result_findings)
    if helo_result is not None and identity == "mailfrom" and helo_result != out.result:
        helo_how = ""
        if helo_out is not None and helo_out.matched:
            helo_how = f" (the term {helo_out.matched} decided)"
        elif helo_out is not None and helo_out.problem:
            helo_how = f" ({_show(helo_out.problem, 160)})"
        findings.append(
            note(
                "spf.helo-differs",
                f"SPF: the HELO check gives {helo_result}, the MAIL FROM check {out.result}",
                Step.SPF,
                severity=Severity.INFO,
                detail=(
                    f"HELO name {_show(helo_text, 255)}: {helo_result}{helo_how}; MAIL FROM "
                    f"domain {domain}: {out.result}"
                ),
                spec=f"{_SPEC} §2.3",
            )
        )
    summary = f"SPF: {middle}"
    if source == "reconstructed":
        summary += " (The envelope was read back from the Received field.)"
    return SpfReport(
        result=out.result,
        identity=identity,
        domain=domain,
        helo_result=helo_result,
        ip=address,
        helo=report.helo,
        mail_from=report.mail_from,
        source=source,
        source_detail=report.source_detail,
        record=out.record,
        matched=out.matched,
        explanation=out.explanation,
        lookups=out.lookups,
        void_lookups=out.void_lookups,
        trace=trace.steps,
        findings=findings,
        summary=summary,
        trace_omitted=trace.omitted,
    )


@dataclass
class _Partial:
    """The parts of a report known before any evaluation."""

    identity: str
    domain: str
    helo: str
    mail_from: str
    source: str
    source_detail: str
    findings: list[Finding]
    trace: _Trace

    def unevaluated(
        self, code: str, message: str, detail: str, summary: str, *, ip: str | None
    ) -> SpfReport:
        """A ``none`` report for an envelope that cannot be evaluated."""
        self.findings.append(
            note(code, message, Step.SPF, detail=detail, spec=f"{_SPEC} §4.1, §4.3")
        )
        return SpfReport(
            result="none",
            identity=self.identity,
            domain=self.domain,
            helo_result=None,
            ip=ip,
            helo=self.helo,
            mail_from=self.mail_from,
            source=self.source,
            source_detail=self.source_detail,
            record=None,
            matched=None,
            explanation=None,
            lookups=0,
            void_lookups=0,
            trace=self.trace.steps,
            findings=self.findings,
            summary=f"SPF: {summary}",
        )
