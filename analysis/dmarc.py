"""DMARC (RFC 9989) as an engine mechanism: the From domain judged by every authenticated
identifier the other mechanisms found.

RFC 9989 (May 2026, obsoletes RFC 7489 and RFC 9091) is the text of
draft-ietf-dmarc-dmarcbis-41; section numbers below are that text's (read from the working
group's repository, ietf-wg-dmarc/draft-ietf-dmarc-dmarcbis, file
``draft-ietf-dmarc-dmarcbis-41.txt``; the commit after -41 changed only reference markup).
No maintained Python library implements RFC 9989 with an injectable DNS lookup (checkdmarc
sends its own queries), so the rules are implemented here by hand, each with its section.

Theory of operation
-------------------
1. **Author Domain** (§5.3.1, §4.2, §4.4): the domain of the address in the single From
   field.  No From field, two From fields, a From field without an address, or addresses
   in more than one domain end DMARC with ``permerror`` (see the choices below).  A U-label
   is converted to an A-label (§5.3.1, RFC 5890 §2.3.2.1).
2. **Policy discovery** (§4.10.1) is a DNS Tree Walk (§4.10) from the Author Domain, one
   question at a time, because each answer decides whether to go on: ``_dmarc.<author>``
   first; when no DMARC Policy Record is there, the walk goes on from the parent (or, for a
   name of more than eight labels, from its last seven labels, §4.10 step 4) up to the
   top-level domain, and stops at a record with ``psd=y`` or ``psd=n`` (§4.10 steps 2, 6).
   At most eight questions are asked per walk (§4.10).  At every name, TXT records that do
   not start with ``v=DMARC1`` are discarded, and several DMARC records at one name are
   all discarded (§4.10 step 2).
3. **Organizational Domain** (§4.10.2) of a walk's start: among the records found, from
   the longest name to the shortest, a ``psd=n`` record's name; else the name one label
   below a ``psd=y`` record (not the start's own); else the name with the fewest labels;
   with no record at all, the start itself.
4. **The record applied** (§4.10.1): the Author Domain's own record (its ``p=`` applies);
   else the Organizational Domain's; else the Public Suffix Domain's (the ``psd=y`` record).
   For the last two ``sp=`` applies when the Author Domain exists, ``np=`` when it does
   not, and ``p=`` when the tag that would apply is absent (§4.7 ``np``, ``sp``).  A record
   at a name between the Author Domain and its Organizational Domain is none of these and
   is not applied (the text lists only the three).  Whether
   the Author Domain exists is asked only when ``np=`` is present, by the response code
   (§3.2.13, Appendix A.4: NXDOMAIN means it does not exist, NOERROR with or without data
   means it does).
5. **Alignment** (§3.2.10, §4.4, §4.10.2): for each identifier, strict compares the
   domain with the Author Domain; relaxed compares Organizational Domains, each found by
   its own tree walk.  No walk is made where §4.10.2 says none is needed (the same domain
   as the author; strict mode), and walks of different identifiers (and the Author
   Domain's own walk beyond its first name) go in lock step, one batch of questions per
   level, since they do not depend on each other.  Names shared by walks are asked once.
6. **Result** (§5.3.5, §9.2): ``pass`` when an identifier that passed its own mechanism is
   aligned; ``fail`` when none is; ``none`` without a DMARC Policy Record; ``temperror``
   when a DNS question needed for the answer failed temporarily (§5.3.6); ``permerror``
   for a record with no usable ``p=`` (§4.10.1, §9.2) or a message without one Author
   Domain.  §4.3 counts SPF and DKIM only: :attr:`DmarcReport.result_without_dkim2` is that
   result; :attr:`DmarcReport.result` also counts a passing, aligned DKIM2 hop as a
   DKIM-authenticated identifier (as a receiver treating DKIM2 as DKIM's successor would;
   SPEC-NOTES §8.3), and a warning says when the two differ.
7. **Disposition** (§4.7 ``t``): for a failing message, the applied policy; with ``t=y``
   one level lower (reject becomes quarantine, quarantine becomes none).

Choices where the text leaves room
----------------------------------
* From with addresses in more than one domain: §5.3.1 lets a receiver go on ("MAY");
  this analyser does not (one Author Domain per report), and says so.  Several addresses
  in one domain give one Author Domain, so DMARC goes on (§5.3.1 counts domains).  Two
  From fields are outside the specification (§4.2, §4.4): ``permerror``.  The result word
  for "DMARC validation is not possible" (§5.3.1) is ``permerror`` (§9.2: a permanent
  error; a later attempt cannot do better), not ``none`` (which means "no policy").
* The From field is read strictly by RFC 5322 §3.4 with the obsolete syntax of §4.4
  (analysis.addresses).  A field that is not well-formed names no Author Domain, whatever
  a lenient reader would take from it (CVE-2023-27043: ``alice@example.org)<bob@example.org>``
  is alice's to one reader and bob's to another): ``permerror``
  (``dmarc.from-malformed``), like two From fields.  A field with no "@" at all is said
  to hold no address (``dmarc.from-no-address``), as for a bare name.
* A record without a valid ``p=`` (absent or an unknown value), or with an invalid
  ``sp=`` / ``np=``, and no syntactically valid ``rua=`` URI: §4.10.1 says "applies no
  DMARC processing"; the result is ``permerror``, which §9.2 describes as "the retrieval
  of an improperly formatted DMARC Policy Record".  With a valid ``rua=``, the record is
  treated as one with ``p=none`` and no ``sp=``/``np=`` (the policy is none whichever tag
  would apply); its other tags keep their values.  An absent ``p=`` follows the same rule
  (§4.7 ``p`` points to §4.10.1 for it).
* Record syntax (§4.7, §4.8): leading and trailing blanks of the whole record are
  ignored (DKIM's tag-list, which §4.7 follows, allows them); tag names and keyword values
  compare case-insensitively (ABNF strings, RFC 5234 §2.3), ``DMARC1`` case-sensitively
  (``%s``).  A tag that repeats keeps its first value (§4.8: syntax errors are "ignored
  outright"); a malformed tag or value is ignored and its default used.  ``pct``, ``rf``
  and ``ri`` (removed, Appendix C.5.2) are ignored like unknown tags and reported.
* Walk answers: NXDOMAIN, NODATA and a name too long to exist mean "no record there";
  SERVFAIL, timeout, an exhausted DNS budget or any other resolver error stop the walk
  (§4.10.1 leaves DNS errors to the receiver; §5.3.6: the message cannot pass or fail),
  so a walk that decides the result gives ``temperror``.  A failure in the walk of an
  identifier that did not pass, or in the existence question when the message passed or
  ``np=`` would not change the policy, changes nothing; when ``np=`` would change the
  policy of a failing message, the policy cannot be applied and the result is
  ``temperror`` (§5.3.6).
* The existence test asks for the Author Domain's CNAME records: the answer's response
  code says whether the name exists (Appendix A.4: "if any RR exists for a domain, then
  the domain exists"), without following a CNAME to a target that might not exist.  A
  NODATA answer at ``_dmarc.<author>`` already proves the Author Domain exists (RFC 8020),
  so no question is asked then.
* Alignment is shown for every identifier, for the postmaster: an identifier that did not
  pass is compared without DNS (same domain, or strict mode); otherwise it is "not
  checked", since §4.10.2 walks only for passing identifiers.  When the Author Domain has
  no DMARC record at all (or an unusable one), alignment of passing identifiers is still
  computed (default relaxed mode) for information; the result stays ``none``
  (``permerror``).  The From domain's Organizational Domain is reported as None when no
  check needed it (strict alignment, no passing identifier), and as the From domain itself
  when every passing identifier is that domain and it has its own record (§4.10.2 note).
* U-labels are converted by RFC 5890 §2.3.2.1 (NFC, lower case, "xn--" + Punycode), by
  hand: the standard library has only IDNA 2003, whose mapping (ß to "ss") gives a
  different name.  Labels with characters that cannot be in a U-label (punctuation,
  symbols, spaces) are refused; the full IDNA 2008 code point tables are not checked.
* An SPF identifier is taken as the MAIL FROM identity (§3.2.4), or the HELO identity
  standing in for a null MAIL FROM (RFC 7208 §2.4); the caller passes nothing else.
* Bounds (named below, for the lead to move to ``analysis/limits.py``): the From field's
  length, the identifiers read, and the identifier walks (beyond the limit, identifiers are
  not evaluated and the report says the evaluation is incomplete, as §11.5 describes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .addresses import AddressSyntaxError, a_label_domain, parse_address_list
from .findings import Finding, Severity, State, Step, note
from .lookup import DnsAnswer, DnsLookup, DnsQuery, LookupStatus, RecordType
from .message import ParsedMessage

__all__ = [
    "AlignmentCheck",
    "AppliedPolicy",
    "AuthenticatedIdentifier",
    "DmarcRecord",
    "DmarcReport",
    "WalkStep",
    "a_label_domain",
    "evaluate",
    "organizational_domain",
    "parse_record",
    "walk_names",
]

#: Most labels kept when a long name is shortened (RFC 9989 §4.10 step 4).
_SHORTENED_LABELS = 7

#: Most problems, unknown tags and records listed per record or name (the count is kept).
_MAX_LISTED = 10

#: Longest excerpt of a record quoted in a finding's detail.
_EXCERPT_CHARS = 200

_SPEC = "RFC 9989"
_POLICIES = ("none", "quarantine", "reject")
_KNOWN_TAGS = ("v", "p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf", "fo")
_OBSOLETE_TAGS = ("pct", "rf", "ri")  # Appendix C.5.2
_MECHANISMS = ("spf", "dkim", "dkim2")
_MECHANISM_WORDS = {"spf": "SPF", "dkim": "DKIM1", "dkim2": "DKIM2"}
_TAG_NAME = re.compile(r"[A-Za-z]+\Z")  # §4.8 dmarc-tag: 1*ALPHA
_TAG_VALUE = re.compile(r"[\x20-\x3a\x3c-\x7e]+\Z")  # §4.8 dmarc-value
# §4.8 dmarc-uri: an RFC 3986 URI (scheme ":" then URI characters), with "," and "!"
# percent-encoded; obs-dmarc-report-size ("!" 1*DIGIT [k/m/g/t]) may follow.
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~$&'()*+;=:@/?#\[\]]|%[0-9A-Fa-f]{2})+\Z"
)
_REPORT_SIZE = re.compile(r"!\d+[kmgtKMGT]?\Z")
_FO_VALUES = frozenset({"0", "1", "d", "s"})
_POLICY_LIKE = re.compile(r"(?:^|;)\s*p\s*=\s*(?:none|quarantine|reject)\b")


# -- small helpers ----------------------------------------------------------------------------


def _cut(text: str, limit: int = limits.MAX_REPORT_TEXT_CHARS) -> str:
    """``text`` at most ``limit`` characters long, cut visibly with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _excerpt(text: str) -> str:
    return repr(_cut(text, _EXCERPT_CHARS))


def _join(items: Sequence[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _listed(items: Sequence[str], total: int | None = None) -> str:
    shown = list(items[:_MAX_LISTED])
    more = (total if total is not None else len(items)) - len(shown)
    text = ", ".join(shown)
    return f"{text} and {more} more" if more > 0 else text


def _dmarc_name(domain: str) -> str:
    return f"_dmarc.{domain}"


def _owner_of(name: str) -> str:
    """The domain whose DNS administrator answers for ``name`` (its _dmarc label dropped)."""
    return name[len("_dmarc.") :] if name.startswith("_dmarc.") else name


# -- domain names (§5.3.1: U-labels become A-labels) ------------------------------------------


# -- the Author Domain (§5.3.1) ---------------------------------------------------------------


@dataclass(frozen=True)
class _Author:
    domain: str | None
    findings: tuple[Finding, ...]
    problem: str = ""  # for the summary when domain is None


def _malformed_from(text: str, error: AddressSyntaxError) -> _Author:
    """§5.3.1 with RFC 5322 §3.4: a From field that is not well-formed names no Author Domain.

    Readers disagree on such a field (CVE-2023-27043: ``alice@example.org)<bob@example.org>``
    is alice's address to one and bob's to another), so any domain taken from it could be
    the wrong one; the message is outside the specification, as with two From fields."""
    return _Author(
        None,
        (
            Finding(
                "dmarc.from-malformed",
                State.PERMERROR,
                "DMARC permerror: the From field is not a well-formed mailbox",
                Step.DMARC,
                detail=(
                    f"From: {_excerpt(text)} is not a well-formed mailbox (RFC 5322 §3.4): "
                    f"{error}; a receiver cannot tell whose domain it is, so there is no "
                    "Author Domain"
                ),
                spec=f"{_SPEC} §5.3.1; RFC 5322 §3.4",
            ),
        ),
        "the From field is not a well-formed mailbox",
    )


def _author_domain(message: ParsedMessage) -> _Author:
    """§5.3.1: exactly one From field whose addresses are all in one domain."""
    spec = f"{_SPEC} §5.3.1"
    fields = message.fields_named("from")
    if not fields:
        return _Author(
            None,
            (
                Finding(
                    "dmarc.no-from",
                    State.PERMERROR,
                    "DMARC permerror: the message has no From field",
                    Step.DMARC,
                    detail="no From header field was found, so there is no Author Domain",
                    spec=f"{spec}, §4.2",
                ),
            ),
            "the message has no From field",
        )
    if len(fields) > 1:
        shown = "; ".join(_cut(f.text(), 120) for f in fields[:3])
        return _Author(
            None,
            (
                Finding(
                    "dmarc.multiple-from-fields",
                    State.PERMERROR,
                    "DMARC permerror: the message has more than one From field",
                    Step.DMARC,
                    detail=f"{len(fields)} From header fields ({_cut(shown, 400)})",
                    spec=f"{_SPEC} §4.2, §4.4, §11.5",
                ),
            ),
            f"the message has {len(fields)} From fields",
        )
    value = fields[0].value
    if len(value) > limits.MAX_FROM_FIELD_CHARS:
        return _Author(
            None,
            (
                Finding(
                    "dmarc.from-too-long",
                    State.PERMERROR,
                    "DMARC permerror: the From field is too long to read",
                    Step.DMARC,
                    detail=(
                        f"the From field has {len(value)} octets; this analyser reads at most "
                        f"{limits.MAX_FROM_FIELD_CHARS}"
                    ),
                    spec=f"{spec}; {_SPEC} §11.5",
                ),
            ),
            "the From field is too long to read",
        )
    text = fields[0].text()
    try:
        mailboxes = parse_address_list(text)
    except AddressSyntaxError as exc:
        if "@" in text:
            return _malformed_from(text, exc)
        mailboxes = []  # only a name, or nothing like an address: said as "no address" below
    domains: list[str] = []
    converted: list[str] = []
    raw_domains: list[str] = []
    for mailbox in mailboxes:
        raw = mailbox.domain
        address = mailbox.address
        try:
            domain, was = a_label_domain(raw)
        except ValueError as exc:
            return _Author(
                None,
                (
                    Finding(
                        "dmarc.from-domain-invalid",
                        State.PERMERROR,
                        "DMARC permerror: the From address has no usable domain",
                        Step.DMARC,
                        detail=f"From address {_excerpt(address)}: {exc}",
                        spec=spec,
                    ),
                ),
                "the From address's domain is not a usable domain name",
            )
        raw_domains.append(raw)
        if was:
            converted.append(f"{_cut(raw, 120)} -> {domain}")
        if domain not in domains:
            domains.append(domain)
    if not domains:
        return _Author(
            None,
            (
                Finding(
                    "dmarc.from-no-address",
                    State.PERMERROR,
                    "DMARC permerror: the From field holds no address",
                    Step.DMARC,
                    detail=f"From: {_excerpt(text)} contains no address with a domain",
                    spec=spec,
                ),
            ),
            "the From field holds no address",
        )
    if len(domains) > 1:
        return _Author(
            None,
            (
                Finding(
                    "dmarc.multiple-author-domains",
                    State.PERMERROR,
                    "DMARC permerror: the From field names more than one domain",
                    Step.DMARC,
                    detail=(
                        f"the From field's {len(raw_domains)} addresses are in "
                        f"{len(domains)} domains ({_listed(domains)}); this analyser "
                        "evaluates one Author Domain"
                    ),
                    spec=f"{spec}, §11.5",
                ),
            ),
            f"the From field names {len(domains)} domains",
        )
    findings: list[Finding] = []
    if len(raw_domains) > 1:
        findings.append(
            note(
                "dmarc.multiple-from-addresses",
                "The From field holds several addresses in one domain",
                Step.DMARC,
                severity=Severity.INFO,
                detail=(
                    f"{len(raw_domains)} addresses, all in {domains[0]}, so there is one "
                    "Author Domain"
                ),
                spec=spec,
            )
        )
    if converted:
        findings.append(
            note(
                "dmarc.idn-author-domain",
                "The From domain was converted to its A-label form",
                Step.DMARC,
                severity=Severity.INFO,
                detail=f"{converted[0]} (RFC 5890 §2.3.2.1)",
                spec=spec,
            )
        )
    return _Author(domains[0], tuple(findings))


# -- the DMARC Policy Record (§4.7, §4.8) -----------------------------------------------------


@dataclass(frozen=True)
class DmarcRecord:
    """A record that starts with ``v=DMARC1``, its tags read by §4.7 and §4.8.

    ``p``, ``sp``, ``np`` hold a valid policy word or None; ``p_problem`` says why ``p``
    is unusable ("" when valid); ``psd``, ``testing``, ``adkim``, ``aspf`` hold the value in
    force (the default when absent or invalid).
    """

    text: str
    tags: dict[str, str]  # every known or obsolete tag's value as published (first one)
    p: str | None
    p_problem: str
    sp: str | None
    sp_invalid: bool
    np: str | None
    np_invalid: bool
    psd: str  # "y", "n", "u"
    testing: bool  # t=y
    adkim: str  # "r", "s"
    aspf: str
    rua_valid: bool
    problems: tuple[str, ...]
    problem_count: int
    unknown_tags: tuple[str, ...]
    unknown_count: int
    obsolete_tags: tuple[str, ...]

    @property
    def policy_usable(self) -> bool:
        """§4.10.1: a valid ``p=``, and no invalid ``sp=`` or ``np=``."""
        return self.p is not None and not self.sp_invalid and not self.np_invalid

    def to_json(self) -> dict[str, Any]:
        return {
            "text": _cut(self.text),
            "tags": {k: _cut(v) for k, v in self.tags.items()},
            "p": self.p,
            "sp": self.sp,
            "np": self.np,
            "psd": self.psd,
            "t": "y" if self.testing else "n",
            "adkim": self.adkim,
            "aspf": self.aspf,
            "rua_valid": self.rua_valid,
            "problems": list(self.problems),
            "problem_count": self.problem_count,
            "unknown_tags": list(self.unknown_tags),
            "unknown_count": self.unknown_count,
            "obsolete_tags": list(self.obsolete_tags),
        }


def _is_dmarc1(text: str) -> bool:
    """§4.7 ``v``: the record's first tag is ``v=DMARC1`` (the value case-sensitive)."""
    head = text.strip(" \t").split(";", 1)[0]
    name, eq, value = head.partition("=")
    return bool(eq) and name.strip(" \t").lower() == "v" and value.strip(" \t") == "DMARC1"


def _looks_like_dmarc(text: str) -> bool:
    """A TXT record that was probably meant as a DMARC record (reported when ignored)."""
    lowered = text[:4096].lower()
    return "dmarc" in lowered or bool(_POLICY_LIKE.search(lowered))


def _uri_list_valid(value: str) -> bool:
    """§4.8 dmarc-urilist: at least one syntactically valid URI (§4.10.1)."""
    for item in value.split(","):
        uri = _REPORT_SIZE.sub("", item.strip(" \t"))
        if _URI.match(uri):
            return True
    return False


def parse_record(text: str) -> DmarcRecord | None:
    """``text`` read as a DMARC Policy Record, or None when it does not start with
    ``v=DMARC1`` (§4.7 ``v``: "the entire record MUST be ignored").  Never raises."""
    if not _is_dmarc1(text):
        return None
    tags: dict[str, str] = {"v": "DMARC1"}
    broken: set[str] = set()
    problems: list[str] = []
    problem_count = 0
    unknown: list[str] = []
    unknown_count = 0
    obsolete: list[str] = []

    def problem(sentence: str) -> None:
        nonlocal problem_count
        problem_count += 1
        if len(problems) < _MAX_LISTED:
            problems.append(sentence)

    parts = text.strip(" \t").split(";")
    last = len(parts) - 1
    for index, part in enumerate(parts[1:], start=1):
        spec = part.strip(" \t")
        if not spec:
            if index != last:  # a single final ";" is allowed (§4.8 [dmarc-sep])
                problem("an empty tag (two ';' in a row) was ignored")
            continue
        name, eq, value = spec.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not eq or not _TAG_NAME.match(name):
            problem(f"{_excerpt(spec)} is not a tag=value pair and was ignored")
            continue
        lname = name.lower()
        if lname in tags or lname in broken:
            problem(f"tag {lname}= appears more than once; the first one is used")
            continue
        if not _TAG_VALUE.match(value):
            what = "is empty" if not value else "has characters a DMARC value cannot hold"
            problem(f"the value of {lname}= {what} and was ignored")
            broken.add(lname)
            continue
        if lname in _KNOWN_TAGS:
            tags[lname] = value
        elif lname in _OBSOLETE_TAGS:
            tags[lname] = value
            obsolete.append(lname)
        else:
            unknown_count += 1
            if len(unknown) < _MAX_LISTED:
                unknown.append(_cut(lname, 40))

    def policy(tag: str) -> tuple[str | None, bool]:
        if tag in broken:
            return None, True
        value = tags.get(tag)
        if value is None:
            return None, False
        if value.lower() in _POLICIES:
            return value.lower(), False
        problem(f"{tag}={_cut(value, 40)} is not none, quarantine or reject")
        return None, True

    p, p_bad = policy("p")
    p_problem = "" if p else ("an invalid p= value" if p_bad else "no p= tag")
    sp, sp_invalid = policy("sp")
    np, np_invalid = policy("np")

    def choice(tag: str, allowed: str, default: str) -> str:
        value = tags.get(tag)
        if value is None:
            return default
        if value.lower() in allowed:
            return value.lower()
        problem(f"{tag}={_cut(value, 40)} is not one of {', '.join(allowed)}; {default} is used")
        return default

    psd = choice("psd", "ynu", "u")
    testing = choice("t", "yn", "n") == "y"
    adkim = choice("adkim", "rs", "r")
    aspf = choice("aspf", "rs", "r")
    rua = tags.get("rua")
    rua_valid = rua is not None and _uri_list_valid(rua)
    if rua is not None and not rua_valid:
        problem("rua= holds no syntactically valid URI")
    fo = tags.get("fo")
    if fo is not None and not all(v.strip(" \t") in _FO_VALUES for v in fo.split(":")):
        problem(f"fo={_cut(fo, 40)} is not a list of 0, 1, d and s; it is ignored")
    return DmarcRecord(
        text=text,
        tags=tags,
        p=p,
        p_problem=p_problem,
        sp=sp,
        sp_invalid=sp_invalid,
        np=np,
        np_invalid=np_invalid,
        psd=psd,
        testing=testing,
        adkim=adkim,
        aspf=aspf,
        rua_valid=rua_valid,
        problems=tuple(problems),
        problem_count=problem_count,
        unknown_tags=tuple(unknown),
        unknown_count=unknown_count,
        obsolete_tags=tuple(obsolete),
    )


# -- the DNS Tree Walk (§4.10) ----------------------------------------------------------------


def walk_names(domain: str) -> list[str]:
    """The domains whose ``_dmarc`` names a full tree walk from ``domain`` asks, in order
    (§4.10 steps 1-7): the domain itself, then its parent, or for a name of eight labels or
    more its last seven labels, then one label fewer each time, down to one label."""
    labels = domain.split(".")
    count = len(labels)
    names = [domain]
    first = min(count - 1, _SHORTENED_LABELS)
    names.extend(".".join(labels[-k:]) for k in range(first, 0, -1))
    return names[: limits.MAX_DMARC_WALK_QUESTIONS]


def organizational_domain(start: str, found: Sequence[tuple[str, DmarcRecord]]) -> str:
    """§4.10.2: the Organizational Domain of ``start`` from the records its walk found
    (``found`` in walk order, longest name first)."""
    for domain, record in found:
        if record.psd == "n":  # rule 1
            return domain
        if record.psd == "y" and domain != start:  # rule 2: one label below
            keep = domain.count(".") + 2
            return ".".join(start.split(".")[-keep:])
    if found:  # rule 3: the fewest labels
        return min(found, key=lambda item: item[0].count("."))[0]
    return start  # "the initial target domain is the Organizational Domain"


@dataclass(frozen=True)
class WalkStep:
    """One question of a tree walk (or the existence question), as evidence."""

    walk: str  # the domain whose walk this is
    purpose: str  # "policy discovery", "organizational domain", "existence"
    name: str  # the name asked
    status: str  # LookupStatus value, or "not asked"
    outcome: str  # what the answer meant, in words
    record: str = ""  # the DMARC record used at this name (cut)
    psd: str = ""  # its psd value

    def to_json(self) -> dict[str, Any]:
        return {
            "walk": self.walk,
            "purpose": self.purpose,
            "name": self.name,
            "status": self.status,
            "outcome": self.outcome,
            "record": self.record,
            "psd": self.psd,
        }


@dataclass(frozen=True)
class _NameResult:
    """What the answer at one ``_dmarc`` name means for any walk (§4.10 step 2)."""

    status: str
    outcome: str
    record: DmarcRecord | None
    temporary: bool
    lookalikes: tuple[str, ...] = ()  # TXT records meant as DMARC but ignored
    dmarc_count: int = 0


def _interpret(name: str, answer: DnsAnswer | None) -> _NameResult:
    if answer is None:
        return _NameResult("error", "the resolver gave no answer for this name", None, True)
    status = answer.status
    if status.is_temporary:
        why = f": {_cut(answer.detail, 200)}" if answer.detail else ""
        return _NameResult(
            status.value, f"DNS error ({status.value}){why}; the walk cannot go on", None, True
        )
    if status is LookupStatus.NXDOMAIN:
        return _NameResult(status.value, "no record: the name does not exist", None, False)
    if status is LookupStatus.NODATA:
        return _NameResult(status.value, "no record: the name has no TXT record", None, False)
    if status is not LookupStatus.FOUND:
        return _NameResult(status.value, "no record: the name cannot be asked", None, False)
    parsed = [r for r in (parse_record(text) for text in answer.records) if r is not None]
    others = [t for t in answer.records if not _is_dmarc1(t)]
    lookalikes = tuple(_excerpt(t) for t in others if _looks_like_dmarc(t))[:_MAX_LISTED]
    if len(parsed) > 1:
        return _NameResult(
            status.value,
            f"{len(parsed)} DMARC records at one name: all discarded (RFC 9989 §4.10 step 2)",
            None,
            False,
            lookalikes,
            len(parsed),
        )
    if not parsed:
        words = f"{len(others)} TXT record{'s' if len(others) != 1 else ''}"
        return _NameResult(
            status.value,
            f"no DMARC record: {words} not starting with v=DMARC1, discarded",
            None,
            False,
            lookalikes,
        )
    record = parsed[0]
    psd = f" with psd={record.psd}" if record.psd != "u" else ""
    stop = "; the walk stops here" if record.psd in "yn" else ""
    return _NameResult(status.value, f"DMARC record found{psd}{stop}", record, False, lookalikes, 1)


class _Walk:
    """One tree walk (§4.10), advanced one question at a time by :class:`_Dns`."""

    def __init__(self, start: str, purpose: str, *, pause_after_start: bool = False) -> None:
        self.start = start
        self.purpose = purpose
        self.names = walk_names(start)
        self.position = 0
        self.found: list[tuple[str, DmarcRecord]] = []
        self.failure: tuple[str, str] | None = None  # (name asked, status of the answer)
        self.stopped = False
        self.pause_after_start = pause_after_start

    @property
    def finished(self) -> bool:
        return self.stopped or self.failure is not None or self.position >= len(self.names)

    @property
    def paused(self) -> bool:
        """Stopped after a record at the start, until alignment needs the rest (§4.10.2)."""
        return (
            self.pause_after_start
            and self.position == 1
            and self.start_record is not None
            and not self.finished
        )

    def resume(self, purpose: str) -> None:
        self.pause_after_start = False
        self.purpose = purpose

    def question(self) -> DnsQuery | None:
        if self.finished or self.paused:
            return None
        return DnsQuery(_dmarc_name(self.names[self.position]), RecordType.TXT)

    def feed(self, result: _NameResult) -> None:
        domain = self.names[self.position]
        self.position += 1
        if result.temporary:
            self.failure = (_dmarc_name(domain), result.status)
            return
        if result.record is not None:
            self.found.append((domain, result.record))
            if result.record.psd in ("y", "n"):  # §4.10 steps 2 and 6: stop
                self.stopped = True

    @property
    def start_record(self) -> DmarcRecord | None:
        if self.found and self.found[0][0] == self.start:
            return self.found[0][1]
        return None

    def organizational_domain(self) -> str:
        return organizational_domain(self.start, self.found)


class _Existence:
    """The Author Domain existence question (§3.2.13, Appendix A.4)."""

    def __init__(self, domain: str) -> None:
        self.start = domain
        self.purpose = "existence"
        self.asked = False
        self.exists: bool | None = None
        self.failure: tuple[str, str] | None = None

    def question(self) -> DnsQuery | None:
        return None if self.asked else DnsQuery(self.start, RecordType.CNAME)


class _Dns:
    """Asks the walks' questions in batches, each name once, and keeps the steps."""

    def __init__(self, lookup: DnsLookup) -> None:
        self.lookup = lookup
        self.answers: dict[DnsQuery, DnsAnswer | None] = {}
        self.steps: list[WalkStep] = []
        self.results: dict[str, _NameResult] = {}

    def run(self, walks: Sequence[_Walk], existence: _Existence | None = None) -> None:
        for _ in range(limits.MAX_DMARC_WALK_QUESTIONS + 1):
            wanted: list[tuple[_Walk | _Existence, DnsQuery]] = []
            for walk in walks:
                question = walk.question()
                if question is not None:
                    wanted.append((walk, question))
            if existence is not None:
                question = existence.question()
                if question is not None:
                    wanted.append((existence, question))
            if not wanted:
                return
            self._ask([q for _, q in wanted])
            for asker, question in wanted:
                if isinstance(asker, _Existence):
                    self._feed_existence(asker, question)
                else:
                    self._feed_walk(asker, question)

    def _ask(self, questions: list[DnsQuery]) -> None:
        new: list[DnsQuery] = []
        for question in dict.fromkeys(questions):
            if question in self.answers:
                continue
            if len(question.name) > 253:  # RFC 1035 §2.3.4: no such name can exist
                self.answers[question] = None
                continue
            new.append(question)
        if new:
            got = self.lookup.resolve_many(new)
            for question in new:
                self.answers[question] = got.get(question)

    def _feed_walk(self, walk: _Walk, question: DnsQuery) -> None:
        name = question.name
        if name not in self.results:
            if len(name) > 253:
                self.results[name] = _NameResult(
                    "not asked",
                    "no record: the name is longer than 253 octets, so it cannot exist",
                    None,
                    False,
                )
            else:
                self.results[name] = _interpret(name, self.answers.get(question))
        result = self.results[name]
        record = result.record
        self.steps.append(
            WalkStep(
                walk=walk.start,
                purpose=walk.purpose,
                name=name,
                status=result.status,
                outcome=result.outcome,
                record=_cut(record.text) if record is not None else "",
                psd=record.psd if record is not None else "",
            )
        )
        walk.feed(result)

    def _feed_existence(self, existence: _Existence, question: DnsQuery) -> None:
        existence.asked = True
        answer = self.answers.get(question)
        status = answer.status if answer is not None else LookupStatus.ERROR
        if status.is_temporary:
            outcome = f"DNS error ({status.value}): whether the domain exists is unknown"
            existence.failure = (question.name, status.value)
        elif status is LookupStatus.NXDOMAIN:
            existence.exists = False
            outcome = "the domain does not exist (NXDOMAIN)"
        elif status is LookupStatus.INVALID_NAME:
            existence.exists = False
            outcome = "the name cannot exist in the DNS"
        else:
            existence.exists = True
            outcome = "the domain exists (the name answers NOERROR)"
        self.steps.append(
            WalkStep(
                walk=existence.start,
                purpose="existence",
                name=question.name,
                status=status.value,
                outcome=outcome,
            )
        )


# -- the public values ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthenticatedIdentifier:
    """One identifier another mechanism checked (§3.2.1, §4.3).

    ``mechanism`` is "spf", "dkim" or "dkim2"; ``domain`` is, for SPF, the MAIL FROM domain
    checked (or the HELO domain standing in for a null MAIL FROM), for DKIM the ``d=`` of
    one signature, for DKIM2 one hop's ``d=``; ``result`` is that mechanism's own result
    word ("pass", "fail", ...); ``label`` names it for display.
    """

    mechanism: str
    domain: str
    result: str
    label: str


@dataclass(frozen=True)
class AlignmentCheck:
    """Whether one identifier aligns with the Author Domain (§3.2.10, §4.4).

    ``aligned`` is None when it was not determined (see ``why``); ``counts`` is whether the
    identifier counts in the RFC 9989 result (False for DKIM2, §4.3).
    """

    label: str
    mechanism: str
    domain: str
    organizational_domain: str | None
    mode: str  # "relaxed" or "strict"
    aligned: bool | None
    passed: bool
    counts: bool
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "label": _cut(self.label),
            "mechanism": self.mechanism,
            "domain": _cut(self.domain),
            "organizational_domain": self.organizational_domain,
            "mode": self.mode,
            "aligned": self.aligned,
            "passed": self.passed,
            "counts": self.counts,
            "why": _cut(self.why),
        }


@dataclass(frozen=True)
class AppliedPolicy:
    """The Domain Owner Assessment Policy that applies (§4.10.1, §4.7 ``p``/``sp``/``np``/``t``)."""

    tag: str  # "p", "sp" or "np"
    value: str  # none, quarantine, reject (as published, or "none" by §4.10.1)
    testing: bool  # t=y
    effective: str  # the value after the t=y step down (§4.7 t)
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "value": self.value,
            "testing": self.testing,
            "effective": self.effective,
            "why": self.why,
        }


@dataclass
class DmarcReport:
    """The DMARC evaluation of one message (RFC 9989)."""

    result: str  # pass, fail, none, temperror, permerror (DKIM2 counted as DKIM)
    result_without_dkim2: str  # what a receiver following RFC 9989 alone computes
    author_domain: str | None
    policy_domain: str | None  # where the applied record was found
    organizational_domain: str | None
    record: str  # the applied record's text (cut), "" without one
    tags: dict[str, str]  # its tags as published (cut)
    policy: AppliedPolicy | None
    disposition: str | None  # requested for a failing message: none, quarantine, reject
    disposition_without_dkim2: str | None
    alignment: list[AlignmentCheck]
    walk: list[WalkStep]
    findings: list[Finding]
    summary: str
    organizational_domain_why: str = ""
    parsed_record: DmarcRecord | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "result_without_dkim2": self.result_without_dkim2,
            "author_domain": self.author_domain,
            "policy_domain": self.policy_domain,
            "organizational_domain": self.organizational_domain,
            "organizational_domain_why": self.organizational_domain_why,
            "record": _cut(self.record),
            "tags": {k: _cut(v) for k, v in self.tags.items()},
            "obsolete_tags": list(self.parsed_record.obsolete_tags)
            if self.parsed_record is not None
            else [],
            "policy": self.policy.to_json() if self.policy is not None else None,
            "disposition": self.disposition,
            "disposition_without_dkim2": self.disposition_without_dkim2,
            "alignment": [a.to_json() for a in self.alignment],
            "walk": [s.to_json() for s in self.walk],
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary,
        }


# -- evaluation -------------------------------------------------------------------------------

_STEP_DOWN = {"reject": "quarantine", "quarantine": "none", "none": "none"}  # §4.7 t=y
_ASKS = {
    "reject": "asks receivers to reject it",
    "quarantine": "asks receivers to treat it as suspicious (quarantine)",
    "none": "asks receivers for no action (monitoring only)",
}


@dataclass
class _Identifier:
    given: AuthenticatedIdentifier
    mechanism: str
    domain: str | None  # A-label form, None when unusable
    problem: str
    passed: bool
    mode: str
    aligned: bool | None = None
    undetermined: str = ""  # "dns" or "limit" when aligned is None for those reasons
    failure: tuple[str, str] | None = None  # the DNS question that failed, and its status
    organizational_domain: str | None = None
    why: str = ""


@dataclass
class _Discovery:
    """What policy discovery found (§4.10.1)."""

    outcome: str  # "record", "none", "temperror"
    record: DmarcRecord | None = None
    policy_domain: str | None = None
    kind: str = ""  # "author", "organizational", "psd"
    failure: tuple[str, str] | None = None


def _discover(author: str, walk: _Walk) -> _Discovery:
    if walk.failure is not None and walk.start_record is None:
        return _Discovery("temperror", failure=walk.failure)
    own = walk.start_record
    if own is not None:
        return _Discovery("record", own, author, "author")
    if not walk.found:
        return _Discovery("none")
    org = walk.organizational_domain()
    records = dict(walk.found)
    if org in records:
        return _Discovery("record", records[org], org, "organizational")
    psd_domain, psd_record = walk.found[-1]  # rule 2: the psd=y record ended the walk
    return _Discovery("record", psd_record, psd_domain, "psd")


def _normalise_identifiers(
    identifiers: Iterable[AuthenticatedIdentifier], record: DmarcRecord | None
) -> list[_Identifier]:
    out: list[_Identifier] = []
    usable: dict[str, str] = {}  # domains of this message already normalised
    for given in identifiers:
        mechanism = str(given.mechanism).strip().lower()
        passed = str(given.result).strip().lower() == "pass"
        if mechanism == "spf":
            mode = "strict" if record is not None and record.aspf == "s" else "relaxed"
        else:
            mode = "strict" if record is not None and record.adkim == "s" else "relaxed"
        domain: str | None = None
        problem = ""
        if mechanism not in _MECHANISMS:
            problem = f"{_cut(mechanism, 40)!r} is not an authentication mechanism DMARC uses"
        else:
            text = str(given.domain)
            domain = usable.get(text)
            if domain is None:
                try:
                    domain = usable[text] = a_label_domain(text)[0]
                except ValueError as exc:
                    problem = f"its domain {_excerpt(text)} is not usable: {exc}"
        out.append(_Identifier(given, mechanism, domain, problem, passed, mode))
    return out


def _mechanism_word(mechanism: str) -> str:
    return _MECHANISM_WORDS.get(mechanism, mechanism)


def _align(
    ident: _Identifier,
    author: str,
    author_org: str | None,
    author_failure: tuple[str, str] | None,
    walks: dict[str, _Walk],
    applies: bool,
) -> None:
    """Decide ``ident.aligned`` and write its ``why`` (§3.2.10, §4.4, §4.10.2)."""
    domain = ident.domain
    own = "passed" if ident.passed else f"did not pass ({_cut(ident.given.result, 40) or '?'})"
    if domain is None:
        ident.aligned, ident.why = False, f"Not aligned: {ident.problem}."
        return
    if domain == author:
        ident.aligned = True
        ident.organizational_domain = author_org if author_org else None
        if ident.passed:
            ident.why = (
                f"Aligned: {domain} is the From domain itself ({ident.mode}), and it passed."
            )
        else:
            ident.why = (
                f"Aligned: {domain} is the From domain itself, but it {own}, so it does not "
                "authenticate the From domain."
            )
        return
    if ident.mode == "strict":
        tag = "aspf" if ident.mechanism == "spf" else "adkim"
        ident.aligned = False
        ident.why = (
            f"Not aligned: {tag}=s (strict) requires exactly {author}, and this is {domain}."
        )
        return
    if not ident.passed:
        ident.why = (
            f"Not checked: it {own}, and RFC 9989 §4.10.2 looks up Organizational Domains "
            "only for identifiers that passed."
        )
        return
    walk = walks.get(domain)
    if walk is None:
        ident.undetermined = "limit"
        ident.why = (
            f"Not checked: this analyser looks up the Organizational Domains of at most "
            f"{limits.MAX_DMARC_ALIGNMENT_WALKS} identifier domains per message."
        )
        return
    failure = walk.failure
    if failure is None and author_org is None:
        failure = author_failure or ("", "the From domain's Organizational Domain is unknown")
    if failure is not None:
        ident.undetermined = "dns"
        ident.failure = failure
        if failure[0]:
            ident.why = (
                f"Could not be determined: the DNS question for {failure[0]} failed ({failure[1]})."
            )
        else:
            ident.why = f"Could not be determined: {failure[1]}."
        return
    assert author_org is not None
    ident.organizational_domain = walk.organizational_domain()
    if ident.organizational_domain == author_org:
        ident.aligned = True
        ident.why = (
            f"Aligned (relaxed): {domain} and the From domain {author} share the "
            f"Organizational Domain {author_org}, and it passed."
        )
    else:
        ident.aligned = False
        ident.why = (
            f"Not aligned (relaxed): the Organizational Domain of {domain} is "
            f"{ident.organizational_domain}, that of the From domain {author} is {author_org}."
        )
    if not applies:
        ident.why += " (For information: the From domain publishes no usable DMARC policy.)"


def _result_of(idents: Sequence[_Identifier], counted: Iterable[str]) -> str:
    """§5.3.5 with §5.3.6: pass, fail, or temperror when a needed answer is missing."""
    chosen = [i for i in idents if i.mechanism in set(counted) and i.passed]
    if any(i.aligned for i in chosen):
        return "pass"
    if any(i.aligned is None and i.undetermined == "dns" for i in chosen):
        return "temperror"
    return "fail"


def _choose_policy(
    record: DmarcRecord,
    discovery: _Discovery,
    author: str,
    existence: _Existence | None,
) -> tuple[AppliedPolicy | None, str]:
    """§4.10.1: which of p, sp, np applies; the second value explains an unknown policy."""
    testing = record.testing

    def applied(tag: str, value: str, why: str) -> AppliedPolicy:
        effective = _STEP_DOWN[value] if testing else value
        return AppliedPolicy(tag, value, testing, effective, why)

    where = _dmarc_name(discovery.policy_domain or "?")
    if not record.policy_usable:
        return (
            applied(
                "p",
                "none",
                f"the record at {where} has {_record_defect(record)}, and a valid rua= tag, "
                "so it is treated as p=none (RFC 9989 §4.10.1)",
            ),
            "",
        )
    assert record.p is not None
    if discovery.kind == "author":
        return applied("p", record.p, f"the record is the From domain's own ({where})"), ""
    fallback_tag = "sp" if record.sp is not None else "p"
    fallback = record.sp if record.sp is not None else record.p
    level = "Public Suffix Domain" if discovery.kind == "psd" else "Organizational Domain"
    below = f"is a subdomain of the {level} {discovery.policy_domain}"
    subdomain = f"{author} {below}"
    if record.np is None:
        if fallback_tag == "sp":
            why = f"{subdomain}; its record's sp={fallback} applies"
        else:
            why = f"{subdomain}; its record has no sp= or np=, so p={fallback} applies"
        return applied(fallback_tag, fallback, why), ""
    if existence is None or existence.exists is None:
        if record.np == fallback:
            return (
                applied(
                    fallback_tag,
                    fallback,
                    f"{subdomain}; np= and {fallback_tag}= ask the same ({fallback}), whether "
                    f"{author} exists or not",
                ),
                "",
            )
        failure = (
            f"the DNS question for {existence.failure[0]} failed ({existence.failure[1]})"
            if existence and existence.failure
            else "it was not asked"
        )
        return None, (
            f"whether {author} exists could not be determined ({failure}), so it is unknown "
            f"whether np={record.np} or {fallback_tag}={fallback} applies"
        )
    if existence.exists:
        which = (
            f"its record's sp={fallback} applies"
            if fallback_tag == "sp"
            else f"its record has no sp=, so p={fallback} applies"
        )
        return applied(fallback_tag, fallback, f"{author} exists and {below}; {which}"), ""
    why = f"{author} does not exist (NXDOMAIN) and {below}; its record's np={record.np} applies"
    return applied("np", record.np, why), ""


def _record_defect(record: DmarcRecord) -> str:
    parts = []
    if record.p is None:
        parts.append(record.p_problem)
    if record.sp_invalid:
        parts.append("an invalid sp= value")
    if record.np_invalid:
        parts.append("an invalid np= value")
    return _join(parts)


def evaluate(
    *,
    message: ParsedMessage,
    identifiers: list[AuthenticatedIdentifier],
    lookup: DnsLookup,
) -> DmarcReport:
    """Evaluate DMARC (RFC 9989) for ``message`` with the identifiers the other mechanisms
    found, asking DNS through ``lookup``.  Never raises for hostile input or DNS failures."""
    author_info = _author_domain(message)
    findings: list[Finding] = list(author_info.findings)
    author = author_info.domain
    given = list(identifiers)
    if len(given) > limits.MAX_DMARC_IDENTIFIERS:
        findings.append(
            note(
                "dmarc.limit",
                "Not every authenticated identifier was evaluated",
                Step.DMARC,
                detail=(
                    f"{len(given)} identifiers were given; only the first "
                    f"{limits.MAX_DMARC_IDENTIFIERS} were evaluated (RFC 9989 §11.5: a limited "
                    "evaluation is incomplete)"
                ),
                spec=f"{_SPEC} §11.5",
            )
        )
        given = given[: limits.MAX_DMARC_IDENTIFIERS]
    if author is None:
        idents = _normalise_identifiers(given, None)
        for ident in idents:
            ident.why = "Not evaluated: the message has no single Author Domain."
        summary = (
            f"DMARC: permerror — {author_info.problem}, so there is no single Author Domain "
            "to check; the sending system must write exactly one From field with one address."
        )
        return _report("permerror", "permerror", None, idents, findings, summary)

    dns = _Dns(lookup)
    author_walk = _Walk(author, "policy discovery", pause_after_start=True)
    dns.run([author_walk])  # §4.10.1: sequential; each answer decides the next question
    discovery = _discover(author, author_walk)
    _walk_findings(dns, findings)

    if discovery.outcome == "temperror":
        assert discovery.failure is not None
        name, status = discovery.failure
        what = dns.results[name].outcome if name in dns.results else status
        idents = _normalise_identifiers(given, None)
        for ident in idents:
            ident.why = "Not evaluated: DMARC policy discovery failed on a DNS error."
        findings.append(
            Finding(
                "dmarc.dns-error",
                State.TEMPERROR,
                "DMARC temperror: a DNS question of policy discovery failed",
                Step.DMARC,
                detail=f"{name}: {what}",
                spec=f"{_SPEC} §4.10.1, §5.3.6",
            )
        )
        summary = (
            f"DMARC: temperror — the DNS question for {name} failed ({status}), so the policy "
            f"of {author} is unknown; re-run the analysis later, and if it keeps failing, the "
            f"DNS administrator of {_owner_of(name)} must fix its name servers."
        )
        return _report("temperror", "temperror", author, idents, findings, summary, dns=dns)

    record = discovery.record
    applies = record is not None and (record.policy_usable or record.rua_valid)
    idents = _normalise_identifiers(given, record)

    # §4.10.2: which Organizational Domains are needed.
    needs_walk = [
        i
        for i in idents
        if i.domain is not None and i.domain != author and i.passed and i.mode == "relaxed"
    ]
    if needs_walk and author_walk.paused:
        author_walk.resume("organizational domain")
    walks: dict[str, _Walk] = {author: author_walk}
    skipped = 0
    for ident in needs_walk:
        assert ident.domain is not None
        if ident.domain in walks:
            continue
        if len(walks) > limits.MAX_DMARC_ALIGNMENT_WALKS:
            skipped += 1
            continue
        walks[ident.domain] = _Walk(ident.domain, "organizational domain")
    if skipped:
        findings.append(
            note(
                "dmarc.limit",
                "Not every identifier's Organizational Domain was looked up",
                Step.DMARC,
                detail=(
                    f"{skipped} identifier domain{'s' if skipped != 1 else ''} beyond the "
                    f"first {limits.MAX_DMARC_ALIGNMENT_WALKS} were not looked up; their "
                    "alignment is not evaluated (RFC 9989 §11.5: a limited evaluation is "
                    "incomplete)"
                ),
                spec=f"{_SPEC} §11.5",
            )
        )
    existence: _Existence | None = None
    if (
        record is not None
        and record.policy_usable
        and discovery.kind != "author"
        and record.np is not None
    ):
        existence = _Existence(author)
        first = dns.results.get(_dmarc_name(author))
        if first is not None and first.status in ("nodata", "found"):
            existence.asked, existence.exists = True, True  # RFC 8020: a child exists
    dns.run(list(walks.values()), existence)
    _walk_findings(dns, findings)

    # The From domain's Organizational Domain (§4.10.2).
    author_failure = author_walk.failure
    author_org: str | None
    org_why = ""
    if author_walk.failure is not None:
        author_org = None
        org_why = (
            f"not determined: the DNS question for {author_walk.failure[0]} failed "
            f"({author_walk.failure[1]})"
        )
    elif author_walk.paused:
        passing = [i for i in idents if i.passed and i.domain is not None]
        author_org = None
        if passing and all(i.domain == author for i in passing):
            author_org = author
            org_why = (
                "every authenticated identifier is the From domain itself, which has its own "
                "record, so it is treated as the Organizational Domain (RFC 9989 §4.10.2)"
            )
        elif not passing:
            org_why = (
                "not looked up: no identifier passed, so no alignment check needed it "
                "(RFC 9989 §4.10.2)"
            )
        else:
            org_why = (
                "not looked up: strict alignment compares the domains themselves (RFC 9989 §4.10.2)"
            )
    else:
        author_org = author_walk.organizational_domain()
    for ident in idents:
        _align(ident, author, author_org, author_failure, walks, applies)

    tld_record = dict(author_walk.found).get(author_org or "")
    if (
        author_org is not None
        and author_org != author
        and "." not in author_org
        and tld_record is not None
        and tld_record.psd == "u"
    ):
        findings.append(
            note(
                "dmarc.org-domain-is-tld",
                "The Organizational Domain is a top-level domain",
                Step.DMARC,
                detail=(
                    f"the tree walk from {author} selected {author_org} as the Organizational "
                    f"Domain, since _dmarc.{author_org} has a DMARC record without psd=y; "
                    f"relaxed alignment then accepts any domain under .{author_org}"
                ),
                spec=f"{_SPEC} §4.10.2, §11.8",
            )
        )

    if record is None:
        findings.append(
            note(
                "dmarc.no-policy",
                "The From domain publishes no DMARC policy",
                Step.DMARC,
                detail=(
                    f"no DMARC record at {_dmarc_name(author)} or at the names its tree walk "
                    f"asked ({_listed([_dmarc_name(n) for n in author_walk.names[1:]]) or 'none'})"
                ),
                spec=f"{_SPEC} §4.10.1, §5.3.2",
            )
        )
        summary = (
            f"DMARC: none — {author} publishes no DMARC policy record (none at "
            f"{_dmarc_name(author)} or its parent domains), so receivers enforce nothing for "
            f"it; the owner of {author} should publish one."
        )
        return _report(
            "none", "none", author, idents, findings, summary, dns=dns, org=(author_org, org_why)
        )

    policy_where = _dmarc_name(discovery.policy_domain or author)
    _record_findings(record, policy_where, discovery, findings)
    if not applies:
        findings.append(
            Finding(
                "dmarc.invalid-policy",
                State.PERMERROR,
                "DMARC permerror: the DMARC record has no usable policy",
                Step.DMARC,
                detail=(
                    f"the record at {policy_where} has {_record_defect(record)} and no valid "
                    f"rua= tag, so DMARC does not apply: {_excerpt(record.text)}"
                ),
                spec=f"{_SPEC} §4.10.1, §9.2",
            )
        )
        summary = (
            f"DMARC: permerror — the DMARC record at {policy_where} has "
            f"{_record_defect(record)} and no valid rua= tag, so receivers apply no DMARC to "
            f"mail from {author}; the owner of {discovery.policy_domain} must fix the record."
        )
        return _report(
            "permerror",
            "permerror",
            author,
            idents,
            findings,
            summary,
            dns=dns,
            discovery=discovery,
            org=(author_org, org_why),
        )

    policy, policy_unknown = _choose_policy(record, discovery, author, existence)
    if not record.policy_usable:
        findings.append(
            note(
                "dmarc.invalid-policy-as-none",
                "The DMARC record's policy is invalid; it is treated as p=none",
                Step.DMARC,
                detail=(
                    f"the record at {policy_where} has {_record_defect(record)}; since rua= "
                    "holds a valid URI, receivers act as if it said p=none"
                ),
                spec=f"{_SPEC} §4.10.1",
            )
        )
    if existence is not None and existence.exists is False:
        findings.append(
            note(
                "dmarc.non-existent-author",
                "The From domain does not exist",
                Step.DMARC,
                detail=(
                    f"{author} answers NXDOMAIN, so the np= policy of {policy_where} applies to it"
                ),
                spec=f"{_SPEC} §3.2.13, §4.7, Appendix A.4",
            )
        )

    result = _result_of(idents, _MECHANISMS)
    without = _result_of(idents, ("spf", "dkim"))
    if policy is None:  # the policy depends on an existence answer that failed
        if result == "fail":
            result = "temperror"
        if without == "fail":
            without = "temperror"
    disposition = policy.effective if policy is not None and result == "fail" else None
    disposition_without = policy.effective if policy is not None and without == "fail" else None

    if policy is not None and policy.value == "none":
        findings.append(
            note(
                "dmarc.policy-none",
                "The DMARC policy is p=none: monitoring only",
                Step.DMARC,
                detail=(
                    f"the {policy.tag}= policy of {policy_where} is none: receivers are asked "
                    "to take no action on failing mail, only to report it"
                ),
                spec=f"{_SPEC} §3.2.12, §4.7",
            )
        )
    if record.testing:
        if policy is None:
            stepped = "the policy that applies is taken one level lower"
        elif policy.value != "none":
            stepped = f"{policy.tag}={policy.value} is applied as {policy.effective}"
        else:
            stepped = "it has no effect on a policy of none"
        findings.append(
            note(
                "dmarc.testing",
                "The DMARC record is in testing mode (t=y)",
                Step.DMARC,
                detail=f"the record at {policy_where} has t=y: {stepped}",
                spec=f"{_SPEC} §4.7 (t), Appendix A.6",
            )
        )
    _outcome_findings(
        result,
        without,
        idents,
        author,
        policy,
        policy_where,
        policy_unknown,
        disposition,
        disposition_without,
        findings,
    )
    summary = _summary(result, without, idents, author, policy, policy_where, policy_unknown)
    return _report(
        result,
        without,
        author,
        idents,
        findings,
        summary,
        dns=dns,
        discovery=discovery,
        policy=policy,
        dispositions=(disposition, disposition_without),
        org=(author_org, org_why),
    )


def _walk_findings(dns: _Dns, findings: list[Finding]) -> None:
    """Multiple records at one name, and records meant as DMARC but ignored (§4.10 step 2);
    one finding per name, however many walks asked it."""
    done = {f.data.get("name") for f in findings if f.code.startswith("dmarc.")}
    for name, result in dns.results.items():
        if name in done:
            continue
        if result.dmarc_count > 1:
            findings.append(
                note(
                    "dmarc.multiple-records",
                    "Several DMARC records at one name: all are ignored",
                    Step.DMARC,
                    detail=(
                        f"{name} has {result.dmarc_count} records starting with v=DMARC1; "
                        "receivers discard them all and go on as if there were none"
                    ),
                    spec=f"{_SPEC} §4.10 step 2",
                    data={"name": name},
                )
            )
        elif result.lookalikes:
            findings.append(
                note(
                    "dmarc.record-ignored",
                    "A TXT record meant as DMARC is ignored",
                    Step.DMARC,
                    detail=(
                        f"{name}: {_listed(result.lookalikes)} does not start with "
                        "v=DMARC1 (exactly, as the first tag), so receivers ignore it"
                    ),
                    spec=f"{_SPEC} §4.7 (v), §4.10 step 2",
                    data={"name": name},
                )
            )


def _record_findings(
    record: DmarcRecord, where: str, discovery: _Discovery, findings: list[Finding]
) -> None:
    """Notes on the applied record: where it was found, invalid, unknown and obsolete tags."""
    if discovery.kind == "psd":
        findings.append(
            note(
                "dmarc.psd-policy",
                "The policy comes from a public suffix's DMARC record",
                Step.DMARC,
                severity=Severity.INFO,
                detail=(
                    f"no record at the From domain or its Organizational Domain; the record at "
                    f"{where} has psd=y, so the Public Suffix Operator's policy applies"
                ),
                spec=f"{_SPEC} §4.10.1, §4.10.2, §3.2.15",
            )
        )
    if record.problem_count:
        more = record.problem_count - len(record.problems)
        extra = f" (and {more} more)" if more > 0 else ""
        findings.append(
            note(
                "dmarc.invalid-tag",
                "Part of the DMARC record is invalid and was ignored",
                Step.DMARC,
                detail=f"{where}: {'; '.join(record.problems)}{extra}",
                spec=f"{_SPEC} §4.8",
            )
        )
    if record.obsolete_tags:
        findings.append(
            note(
                "dmarc.obsolete-tag",
                "The DMARC record uses tags RFC 9989 removed",
                Step.DMARC,
                detail=(
                    f"{where} has {_join([f'{t}=' for t in record.obsolete_tags])}, removed "
                    "by RFC 9989 (pct= is replaced by t=); receivers following RFC 9989 "
                    f"ignore {'it' if len(record.obsolete_tags) == 1 else 'them'}"
                ),
                spec=f"{_SPEC} Appendix A.6, Appendix C.5.2",
            )
        )
    if record.unknown_count:
        findings.append(
            note(
                "dmarc.unknown-tag",
                "The DMARC record has tags DMARC does not define",
                Step.DMARC,
                severity=Severity.INFO,
                detail=(
                    f"{where}: {record.unknown_count} unknown tag"
                    f"{'s' if record.unknown_count != 1 else ''} ignored "
                    f"({_listed(record.unknown_tags, record.unknown_count)})"
                ),
                spec=f"{_SPEC} §4.7, §4.8",
            )
        )


def _describe(ident: _Identifier) -> str:
    """ "SPF for bounce.example: pass", "DKIM1 d=example.com: fail" (for a fail's detail)."""
    domain = ident.domain or _cut(str(ident.given.domain), 80)
    result = _cut(str(ident.given.result), 40) or "no result"
    if ident.mechanism == "spf":
        return f"SPF for {domain}: {result}"
    return f"{_mechanism_word(ident.mechanism)} d={domain}: {result}"


def _unaligned_words(ident: _Identifier, author: str) -> str:
    """Why a passing identifier does not align, for the spf/dkim-not-aligned details."""
    label = _cut(ident.given.label, 120)
    if ident.aligned is None:
        return f"{label}: {ident.why.rstrip('.')}"
    if ident.mode == "strict":
        tag = "aspf" if ident.mechanism == "spf" else "adkim"
        return f"{label} passed for {ident.domain}, but {tag}=s requires exactly {author}"
    return (
        f"{label} passed for {ident.domain}, whose Organizational Domain "
        f"{ident.organizational_domain} is not that of {author}"
    )


def _outcome_findings(
    result: str,
    without: str,
    idents: Sequence[_Identifier],
    author: str,
    policy: AppliedPolicy | None,
    where: str,
    policy_unknown: str,
    disposition: str | None,
    disposition_without: str | None,
    findings: list[Finding],
) -> None:
    counted = [i for i in idents if i.mechanism in ("spf", "dkim")]
    spec = f"{_SPEC} §4.4, §5.3.5"
    if result in ("fail", "temperror"):
        spf_unaligned = [
            i for i in idents if i.mechanism == "spf" and i.passed and i.aligned is False
        ]
        if spf_unaligned:
            findings.append(
                note(
                    "dmarc.spf-not-aligned",
                    "SPF passed for a domain not aligned with the From domain",
                    Step.DMARC,
                    detail="; ".join(_unaligned_words(i, author) for i in spf_unaligned[:3]),
                    spec=f"{_SPEC} §4.4.2",
                )
            )
        dkim_unaligned = [
            i
            for i in idents
            if i.mechanism in ("dkim", "dkim2") and i.passed and i.aligned is False
        ]
        if dkim_unaligned:
            findings.append(
                note(
                    "dmarc.dkim-not-aligned",
                    "DKIM passed for a domain not aligned with the From domain",
                    Step.DMARC,
                    detail="; ".join(
                        _unaligned_words(i, author) for i in dkim_unaligned[:_MAX_LISTED]
                    ),
                    spec=f"{_SPEC} §4.4.1",
                )
            )
    broken = [i for i in idents if i.aligned and not i.passed and i.mechanism in _MECHANISMS]
    if broken and result != "pass":
        findings.append(
            note(
                "dmarc.aligned-but-failed",
                "An aligned identifier did not pass its own check",
                Step.DMARC,
                detail="; ".join(
                    f"{_cut(i.given.label, 120)} is aligned with {author} but its result is "
                    f"{_cut(str(i.given.result), 40) or 'empty'}"
                    for i in broken[:_MAX_LISTED]
                ),
                spec=spec,
            )
        )
    if result == "pass":
        passing = [i for i in idents if i.passed and i.aligned]
        findings.append(
            note(
                "dmarc.pass",
                "DMARC pass",
                Step.DMARC,
                severity=Severity.INFO,
                detail=(
                    f"{_join([_cut(i.given.label, 120) for i in passing[:3]])} "
                    f"{'is' if len(passing) == 1 else 'are'} aligned with {author} and passed"
                ),
                spec=spec,
            )
        )
        if without != "pass":
            dkim2 = [i for i in passing if i.mechanism == "dkim2"]
            rfc = without
            if without == "fail" and disposition_without:
                rfc = f"fail (the policy {_ASKS[disposition_without]})"
            findings.append(
                note(
                    "dmarc.dkim2-only",
                    "DMARC passes only through DKIM2",
                    Step.DMARC,
                    detail=(
                        f"only {_join([_cut(i.given.label, 120) for i in dkim2[:3]])} "
                        f"authenticates {author}; RFC 9989 §4.3 counts SPF and DKIM1 only, so "
                        f"a receiver that does not understand DKIM2 yet computes {rfc}; keep "
                        "signing with DKIM1 too"
                    ),
                    spec=f"{_SPEC} §4.3; SPEC-NOTES §8.3",
                )
            )
        return
    if result == "fail":
        assert policy is not None
        parts = [_describe(i) for i in idents if i.mechanism in _MECHANISMS][:4]
        story = "; ".join(parts) if parts else "no SPF, DKIM1 or DKIM2 result was given"
        t_note = (
            f" (t=y: applied as {policy.effective})"
            if policy.testing and policy.effective != policy.value
            else ""
        )
        findings.append(
            Finding(
                "dmarc.fail",
                State.FAIL,
                "DMARC fail: no aligned identifier passed",
                Step.DMARC,
                detail=(
                    f"no identifier aligned with {author} passed ({story}); the "
                    f"{policy.tag}={policy.value} policy of {where} "
                    f"{_ASKS[policy.value]}{t_note}"
                ),
                spec=f"{_SPEC} §5.3.5, §5.3.6",
                data={"disposition": disposition},
            )
        )
        return
    # temperror: an alignment or the policy depends on a failed DNS question
    if policy is None:
        detail = policy_unknown
    else:
        unknown = [i for i in idents if i.passed and i.aligned is None and i.undetermined == "dns"]
        detail = "; ".join(
            f"{_cut(i.given.label, 120)}: alignment unknown, "
            + (
                f"the DNS question for {i.failure[0]} failed ({i.failure[1]})"
                if i.failure and i.failure[0]
                else (i.failure[1] if i.failure else "a DNS question failed")
            )
            for i in unknown[:3]
        )
        if without == "fail" and not [i for i in unknown if i in counted]:
            detail += " (without DKIM2, RFC 9989's result is fail)"
    findings.append(
        Finding(
            "dmarc.dns-error",
            State.TEMPERROR,
            "DMARC temperror: a DNS question needed for the result failed",
            Step.DMARC,
            detail=detail,
            spec=f"{_SPEC} §5.3.6",
        )
    )


def _summary(
    result: str,
    without: str,
    idents: Sequence[_Identifier],
    author: str,
    policy: AppliedPolicy | None,
    where: str,
    policy_unknown: str,
) -> str:
    policy_words = (
        f"{policy.tag}={policy.value}{' with t=y' if policy.testing else ''} at {where}"
        if policy is not None
        else f"the record at {where}"
    )
    if result == "pass":
        passing = [i for i in idents if i.passed and i.aligned]
        if without != "pass":
            labels = _join([i.given.label for i in passing if i.mechanism == "dkim2"][:2])
            return _cut(
                f"DMARC: pass only through DKIM2 — {labels} authenticates {author}, but no SPF "
                f"or DKIM1 result does, so receivers that follow RFC 9989 alone compute "
                f"{without} ({policy_words}); the mail administrator of {author} should keep "
                "signing with DKIM1 too."
            )
        labels = _join([i.given.label for i in passing][:2])
        verb = "is" if len(passing) == 1 else "are"
        return _cut(
            f"DMARC: pass — {labels} {verb} aligned with {author} and passed ({policy_words})."
        )
    if result == "temperror":
        if policy is None:
            return _cut(
                f"DMARC: temperror — the message failed alignment, but {policy_unknown}; "
                f"re-run the analysis later, and if it keeps failing, the DNS administrator of "
                f"{author} must fix its name servers."
            )
        failed = [i.failure[0] for i in idents if i.failure and i.failure[0]]
        name = failed[0] if failed else ""
        whose = _owner_of(name) if name else "the domain asked"
        asked = f" ({name})" if name else ""
        return _cut(
            f"DMARC: temperror — a DNS question needed to check alignment with {author} "
            f"failed{asked}, so the result is unknown; re-run the analysis later, and if it "
            f"keeps failing, the DNS administrator of {whose} must fix its name servers."
        )
    assert policy is not None
    asks = _ASKS[policy.effective]
    counted = [i for i in idents if i.mechanism in _MECHANISMS and i.domain is not None]
    broken = [i for i in counted if i.aligned and not i.passed]
    unaligned = [i for i in counted if i.passed and not i.aligned]
    if broken:
        first = broken[0]
        if first.mechanism == "spf":
            who = (
                f"if the message is genuine, it was probably forwarded (so SPF for {first.domain} "
                f"failed) or sent from a server not listed in the SPF record of {first.domain}: "
                f"the owner of {author} should sign with an aligned DKIM d= that survives "
                "forwarding"
            )
        else:
            who = (
                f"if the message is genuine, a forwarder or mailing list probably changed it "
                f"and broke {first.given.label}: that intermediary must stop modifying the "
                f"message or rewrite the From field, or the signer of {first.domain} must fix "
                "its signing"
            )
        cause = f"{first.given.label} is aligned with {author} but did not pass"
    elif unaligned:
        names = sorted({i.domain for i in unaligned if i.domain})
        verb = "it is" if len(names) == 1 else "they are"
        who = (
            f"if the message is genuine, the owner of {author} must make the bounce (MAIL "
            f"FROM) domain or the DKIM d= align with {author}"
        )
        cause = f"only {_join(names[:3])} passed, and {verb} not aligned with {author}"
    else:
        who = (
            f"if the message is genuine, the owner of {author} must sign it with DKIM d={author} "
            "and send it from servers its SPF record lists; otherwise it is a forgery the "
            "policy is meant to stop"
        )
        cause = f"nothing authenticates {author}"
    return _cut(f"DMARC: fail — {cause}; {policy_words} {asks}; {who}.")


def _report(
    result: str,
    without: str,
    author: str | None,
    idents: Sequence[_Identifier],
    findings: list[Finding],
    summary: str,
    *,
    dns: _Dns | None = None,
    discovery: _Discovery | None = None,
    policy: AppliedPolicy | None = None,
    dispositions: tuple[str | None, str | None] = (None, None),
    org: tuple[str | None, str] = (None, ""),
) -> DmarcReport:
    record = discovery.record if discovery is not None else None
    checks = [
        AlignmentCheck(
            label=i.given.label,
            mechanism=i.mechanism if i.mechanism in _MECHANISMS else _cut(i.mechanism, 40),
            domain=i.domain or _cut(str(i.given.domain)),
            organizational_domain=i.organizational_domain,
            mode=i.mode,
            aligned=i.aligned,
            passed=i.passed,
            counts=i.mechanism in ("spf", "dkim"),
            why=i.why,
        )
        for i in idents
    ]
    return DmarcReport(
        result=result,
        result_without_dkim2=without,
        author_domain=author,
        policy_domain=discovery.policy_domain if discovery is not None else None,
        organizational_domain=org[0],
        organizational_domain_why=org[1],
        record=_cut(record.text) if record is not None else "",
        tags={k: _cut(v) for k, v in record.tags.items()} if record is not None else {},
        policy=policy,
        disposition=dispositions[0],
        disposition_without_dkim2=dispositions[1],
        alignment=checks,
        walk=list(dns.steps) if dns is not None else [],
        findings=findings,
        summary=summary,
        parsed_record=record,
    )
