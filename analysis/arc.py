"""ARC (RFC 8617) as one mechanism of the engine, on dkimpy's building blocks.

Two steps, like :mod:`analysis.dkim1`: :func:`prepare` collects the ARC sets and names the
keys of their ARC-Message-Signature (AMS) and ARC-Seal (AS) fields; :func:`verify` checks
them with the prefetched answers (no I/O); :func:`analyze` joins them through an injected
:class:`~analysis.lookup.KeyLookup`.  The ARC-Authentication-Results (AAR) payload is not
parsed here: :mod:`analysis.authres` reads every A-R and AAR field, and the composer
attaches that testimony to :attr:`ArcReport.instances` by ``i=``.

Theory of operation
-------------------
*dkimpy.*  ``dkim.ARC.verify`` returns the chain status and, per instance, whether the AMS
and the AS verified -- but it stops at the first malformed set (incomplete, duplicated)
without data for the others, checks ``t=`` against the machine's clock, picks the AS input
by the fields' physical order rather than by ``i=``, lets an ``IndexError`` escape when an
AMS does not spell `` i=N;`` exactly, and defaults an AMS without ``c=`` to
relaxed/relaxed.  So the chain is walked here, with dkimpy's building blocks: its header
hashing (``dkim.hash_headers``), its RSA key loading through the ``dnsfunc`` hook answered
only from the prefetched answers, and its RSA verification -- all through the same
boundary and primitives as :mod:`analysis.dkim1` (body hashes, key records, Ed25519).

*The chain (RFC 8617 §5.2).*  The chain validation status follows the steps in order,
the first failing one deciding, and :attr:`ArcReport.broken_at` names the instance that
step found:

1. no ARC field at all: ``none``.  An ``i=`` outside 1..50 (§4.2.1; more than 50 sets)
   fails; ``broken_at`` is that ``i``.
2. ``cv=fail`` on the newest seal (instance N) fails; ``broken_at`` is N.
3. structure: every instance 1..N has exactly one AAR, one AMS and one AS (a missing
   field: ``arc.set-incomplete``; a repeated one: ``arc.duplicate-instance``), no
   instance is missing (``arc.instance-gap``), instance 1 has ``cv=none`` and every later
   one ``cv=pass`` (``arc.cv-invalid``; ``cv=fail``: ``arc.cv-fail``).  A field whose
   ``i=`` cannot be read fails the chain too.  ``broken_at`` is the lowest instance
   concerned (the sealer that wrote ``cv=fail`` for a ``cv=fail``; the first missing
   ``i`` for a gap).
4. the newest AMS must verify; ``broken_at`` is N.
5. ``oldest_pass`` (reported whenever step 5 is reached): 0 when every AMS verifies,
   otherwise the lowest instance of the unbroken run of verifying AMS from N down (RFC
   8617 §5.2; IANA: "the instance id of the oldest validating AMS or 0 if they all pass").
6. every AS, from N down, must verify; ``broken_at`` is the first (highest) that does
   not.
7. ``pass``.

Every instance's AMS and AS are checked even when an earlier step decided (each is
bounded: at most ``limits.MAX_ARC_INSTANCES`` sets), so the report says which sets are
sound; the chain status is still exactly §5.2's.

*Interpretations chosen.*

* A key that cannot be fetched (DNS temporary failure) makes that signature
  ``temperror``; the chain status has only none/pass/fail (RFC 8617 §5.2), so the chain
  fails, and the ``arc.key-temperror`` finding says a later check may pass.
* The AMS is a DKIM-Signature apart from its name, ``i=`` and the absent ``v=`` (RFC 8617
  §4.1.2): its ``c=`` defaults to simple/simple as in RFC 6376 §3.5 (dkimpy assumes
  relaxed/relaxed), ``l=`` is honoured with a warning, and its ``h=`` must not list
  ARC-Seal (§4.1.2: ``arc.ams-signs-seal``).  AMS ``t=``/``x=`` are not enforced: RFC
  8617 gives ARC signatures no expiry.
* The AS (§4.1.3) has no ``c=`` (relaxed header canonicalisation always) and no ``h=``;
  it signs, in increasing instance order, the AAR, AMS and AS of every set up to its
  own (§5.1.1), its own AS without the ``b=`` value.  The fields are taken by their
  ``i=`` (never by their position), so an AS can be checked whenever every set up to it
  is complete; otherwise its result is ``permerror``.
* A seal with ``cv=fail`` is checked over the sets 1..i like any other.  Some sealers
  (dkimpy's ``arc_sign`` among them) seal only their own set when they write ``cv=fail``;
  such a seal shows as not verifying here.  The chain fails at step 2 or 3 either way.
* Signature algorithms: rsa-sha256 and ed25519-sha256 (RFC 8463); rsa-sha1 fails (RFC
  8301 §3.1), anything else cannot be checked.  Key records are read as for DKIM1
  (RFC 6376 §3.6.1, RFC 8301 §3.2) minus the ``t=s`` rule, which concerns DKIM's ``i=``.
* Per-signature words (:attr:`ArcInstance.seal_result`, :attr:`ArcInstance.ams_result`):
  ``pass``; ``fail`` (does not verify, body hash mismatch, rsa-sha1, RSA key under 1024
  bits); ``permerror`` (syntax, key absent or unusable, not computable); ``temperror``
  (key temporarily unavailable); ``none`` (the field is missing).
* ARC findings carry the instance number in ``Finding.hop`` (it is ARC's ``i=``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .dkim1 import (
    ALGORITHMS,
    KEY_PROBLEMS,
    BodyHasher,
    HeaderSet,
    KeyOutcome,
    LimitExceeded,
    PublicKey,
    TagListError,
    check_header_signature,
    clip,
    decode_base64,
    field_text,
    key_fit,
    load_key,
    parse_canonicalization,
    parse_domain,
    parse_field_names,
    parse_number,
    parse_selector,
    parse_tag_list,
    plural,
    show,
    split_field,
    unfold,
)
from .findings import Finding, State, Step, note
from .lookup import KeyAnswer, KeyLookup, KeyQuery
from .message import HeaderField, ParsedMessage

__all__ = ["ArcInstance", "ArcPrepared", "ArcReport", "analyze", "prepare", "verify"]

_KINDS = {
    "arc-authentication-results": "aar",
    "arc-message-signature": "ams",
    "arc-seal": "as",
}
_FIELD_NAMES = {
    "aar": "ARC-Authentication-Results",
    "ams": "ARC-Message-Signature",
    "as": "ARC-Seal",
}
_AAR_INSTANCE = re.compile(r"[ \t]*i[ \t]*=[ \t]*([0-9]{1,4})[ \t]*;")
_CV_VALUES = ("none", "fail", "pass")

_KEY_CODES = {
    "temperror": "arc.key-temperror",
    "not-found": "arc.key-not-found",
    "name-invalid": "arc.key-name-invalid",
    "syntax": "arc.key-syntax",
    "revoked": "arc.key-revoked",
    "type-mismatch": "arc.key-type-mismatch",
    "hash-not-allowed": "arc.key-hash-not-allowed",
    "service-mismatch": "arc.key-service-mismatch",
    "too-short": "arc.key-too-short",
    "too-large": "arc.key-too-large",
}


@dataclass
class ArcInstance:
    """One ARC set (instance ``i``) and the verdicts on its seal and message signature."""

    i: int
    sealer: str | None = None  # ARC-Seal d=
    seal_selector: str | None = None  # ARC-Seal s=
    seal_result: str = "none"  # pass, fail, permerror, temperror, none
    cv: str | None = None  # ARC-Seal cv=, as written
    seal_timestamp: int | None = None  # ARC-Seal t=
    ams_domain: str | None = None  # AMS d=
    ams_selector: str | None = None  # AMS s=
    ams_result: str = "none"
    ams_body_hash_matches: bool | None = None
    ams_signed_headers: list[str] = field(default_factory=list)  # AMS h=, lower-cased
    aar_raw: str | None = None  # the ARC-Authentication-Results field, bounded
    aar_authserv_id: str | None = None
    seal_raw: str | None = None
    ams_raw: str | None = None
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "i": self.i,
            "sealer": self.sealer,
            "seal_selector": self.seal_selector,
            "seal_result": self.seal_result,
            "cv": self.cv,
            "seal_timestamp": self.seal_timestamp,
            "ams_domain": self.ams_domain,
            "ams_selector": self.ams_selector,
            "ams_result": self.ams_result,
            "ams_body_hash_matches": self.ams_body_hash_matches,
            "ams_signed_headers": list(self.ams_signed_headers),
            "aar_raw": self.aar_raw,
            "aar_authserv_id": self.aar_authserv_id,
            "seal_raw": self.seal_raw,
            "ams_raw": self.ams_raw,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class _Field:
    """One ARC header field as read by :func:`prepare`."""

    kind: str  # aar, ams, as
    field: HeaderField
    instance: int | None
    tags: dict[str, str] | None = None  # AMS and AS
    error: str = ""  # why the tag list or i= could not be read
    too_large: bool = False


@dataclass
class _Signature:
    """An AMS or AS ready to check (or the reason it cannot be)."""

    domain: str | None = None
    selector: str | None = None
    algorithm: str | None = None
    hash_name: str | None = None
    header_algorithm: str = "relaxed"
    body_algorithm: str | None = None
    body_hash: bytes | None = None
    body_length: int | None = None
    signature: bytes | None = None
    signed: list[str] = field(default_factory=list)
    query: KeyQuery | None = None
    problems: list[Finding] = field(default_factory=list)  # syntax: the result is permerror
    policy: list[Finding] = field(default_factory=list)  # rsa-sha1: the result is fail


@dataclass
class ArcPrepared:
    """A message read for ARC: its sets and the keys they need."""

    message: ParsedMessage
    key_queries: list[KeyQuery]
    fields: list[_Field]
    sets: dict[int, dict[str, list[_Field]]]  # i -> kind -> fields (i in 1..50)
    signatures: dict[tuple[int, str], _Signature]  # (i, "ams" | "as") of unique fields
    findings: list[Finding]  # about fields that belong to no listed instance
    out_of_range: list[int]  # i= values outside 1..50, sorted


@dataclass
class ArcReport:
    """The ARC verdict of one message."""

    result: str  # RFC 8617 §5.2 chain validation status: none, pass, fail
    instances: list[ArcInstance]  # oldest first
    broken_at: int | None
    oldest_pass: int | None
    findings: list[Finding]
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "summary": self.summary,
            "broken_at": self.broken_at,
            "oldest_pass": self.oldest_pass,
            "instances": [i.to_json() for i in self.instances],
            "findings": [f.to_json() for f in self.findings],
        }


# -- reading the sets ------------------------------------------------------------------------------


def _finding(
    code: str,
    state: State,
    message: str,
    detail: str,
    spec: str,
    instance: int | None = None,
) -> Finding:
    return Finding(
        code=code,
        state=state,
        message=message,
        step=Step.ARC,
        hop=instance,
        detail=clip(detail),
        spec=spec,
        data={"arc_instance": instance} if instance is not None else {},
    )


def _read_field(f: HeaderField) -> _Field:
    kind = _KINDS[f.lname]
    try:
        text = unfold(f.value)
    except LimitExceeded as exc:
        return _Field(kind, f, None, error=str(exc), too_large=True)
    except TagListError as exc:
        return _Field(kind, f, None, error=str(exc))
    if kind == "aar":
        m = _AAR_INSTANCE.match(text)
        if m is None:
            return _Field(kind, f, None, error="it does not start with i=<number>; (§4.1.1)")
        return _Field(kind, f, int(m.group(1)))
    try:
        tags = parse_tag_list(text)
    except LimitExceeded as exc:
        return _Field(kind, f, None, error=str(exc), too_large=True)
    except TagListError as exc:
        return _Field(kind, f, None, error=str(exc))
    if "i" not in tags:
        return _Field(kind, f, None, tags, error="it has no i= tag (§4.2.1)")
    try:
        instance = parse_number(tags["i"], "i=", 4)
    except TagListError as exc:
        return _Field(kind, f, None, tags, error=str(exc))
    return _Field(kind, f, instance, tags)


def prepare(message: ParsedMessage) -> ArcPrepared:
    """Collect the ARC sets (RFC 8617 §5.2 step 1) and name the keys of every AMS and AS
    that can be checked.  No I/O, no clock."""
    fields = [_read_field(f) for f in message.fields if f.lname in _KINDS]
    findings: list[Finding] = []
    sets: dict[int, dict[str, list[_Field]]] = {}
    out_of_range: set[int] = set()
    for item in fields:
        if item.instance is None:
            name = _FIELD_NAMES[item.kind]
            if item.too_large:
                findings.append(
                    _finding(
                        "arc.field-too-large",
                        State.PERMERROR,
                        f"{name}: field too large to read here",
                        f"an {name} field could not be read: {item.error}",
                        "RFC 8617 §5.2",
                    )
                )
            else:
                findings.append(
                    _finding(
                        "arc.syntax",
                        State.PERMERROR,
                        f"{name}: instance number unreadable",
                        f"an {name} field cannot be given to an ARC set: {item.error}",
                        "RFC 8617 §4.1, §4.2.1",
                    )
                )
        elif 1 <= item.instance <= limits.MAX_ARC_INSTANCES:
            sets.setdefault(item.instance, {"aar": [], "ams": [], "as": []})[item.kind].append(item)
        else:
            out_of_range.add(item.instance)
    signatures: dict[tuple[int, str], _Signature] = {}
    for i, kinds in sets.items():
        for kind in ("ams", "as"):
            if len(kinds[kind]) == 1:
                signatures[(i, kind)] = _read_signature(i, kinds[kind][0])
    queries = sorted({s.query for s in signatures.values() if s.query is not None})
    return ArcPrepared(message, queries, fields, sets, signatures, findings, sorted(out_of_range))


def _read_signature(i: int, item: _Field) -> _Signature:
    """Parse an AMS (RFC 8617 §4.1.2) or AS (§4.1.3) whose ``i=`` is known."""
    name = _FIELD_NAMES[item.kind]
    sig = _Signature()
    label = f"{name} i={i}"

    def problem(detail: str, code: str = "arc.syntax", spec: str = "RFC 8617 §4.1") -> None:
        sig.problems.append(
            _finding(code, State.PERMERROR, f"{label}: cannot be checked", detail, spec, i)
        )

    if item.error:  # pragma: no cover - fields with an error have no instance
        problem(item.error)
        return sig
    tags = item.tags or {}
    required = ("a", "b", "bh", "d", "h", "s") if item.kind == "ams" else ("a", "b", "cv", "d", "s")
    missing = [t + "=" for t in required if t not in tags]
    if missing:
        problem(f"the required tag{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing")

    def read(tag: str, parse: Any) -> Any:
        if tag not in tags:
            return None
        try:
            return parse(tags[tag])
        except LimitExceeded as exc:
            problem(str(exc), "arc.field-too-large", "RFC 8617 §5.2")
        except TagListError as exc:
            problem(str(exc))
        return None

    sig.domain = read("d", lambda v: parse_domain(v, "d="))
    sig.selector = read("s", parse_selector)
    sig.signature = read("b", lambda v: decode_base64(v, "b="))
    algorithm = tags.get("a")
    if algorithm is not None and algorithm.lower() in ALGORITHMS:
        algorithm = algorithm.lower()  # ABNF strings are case-insensitive
    if algorithm is not None:
        sig.algorithm = clip(algorithm, 100)
        if algorithm not in ALGORITHMS:
            problem(
                f"a={show(algorithm)} is not rsa-sha256 or ed25519-sha256",
                "arc.unsupported-algorithm",
                "RFC 8617 §4.1.2, RFC 8463 §3",
            )
        else:
            sig.hash_name = ALGORITHMS[algorithm][1]
            if algorithm == "rsa-sha1":
                sig.policy.append(
                    _finding(
                        "arc.unsupported-algorithm",
                        State.FAIL,
                        f"{label}: SHA-1 signature not accepted",
                        "a=rsa-sha1: RFC 8301 §3.1 says verifiers must not consider "
                        "signatures using SHA-1 valid",
                        "RFC 8301 §3.1",
                        i,
                    )
                )
    if item.kind == "ams":
        canon = read("c", parse_canonicalization)
        if canon is None and "c" not in tags:
            canon = ("simple", "simple")
        if canon is not None:
            sig.header_algorithm, sig.body_algorithm = canon
        sig.body_hash = read("bh", lambda v: decode_base64(v, "bh="))
        sig.body_length = read("l", lambda v: parse_number(v, "l=", 76))
        signed = read("h", parse_field_names)
        if signed is not None:
            sig.signed = signed
            if "arc-seal" in signed:
                sig.problems.append(
                    _finding(
                        "arc.ams-signs-seal",
                        State.PERMERROR,
                        f"{label}: signs ARC-Seal",
                        f"h= lists arc-seal {signed.count('arc-seal')} time(s); RFC 8617 "
                        "§4.1.2 forbids an AMS to sign ARC-Seal fields",
                        "RFC 8617 §4.1.2",
                        i,
                    )
                )
    else:
        if "h" in tags:
            problem("an ARC-Seal must not have an h= tag (§4.1.3)")
        cv = tags.get("cv")
        if cv is not None and cv.lower() not in _CV_VALUES:
            problem(f"cv={show(cv)} is not none, pass or fail (§4.1.3)")
    if sig.domain and sig.selector and not sig.problems:
        sig.query = KeyQuery(sig.selector, sig.domain)
    return sig


# -- checking --------------------------------------------------------------------------------------


def verify(
    prepared: ArcPrepared, answers: Mapping[KeyQuery, KeyAnswer], *, now: float
) -> ArcReport:
    """Validate the chain (RFC 8617 §5.2) with the prefetched ``answers`` (no I/O).

    ``now`` is accepted for the common mechanism signature; ARC signatures have no expiry.
    """
    del now  # RFC 8617 gives ARC signatures no lifetime
    message = prepared.message
    if not prepared.fields:
        return ArcReport("none", [], None, None, [], "ARC: the message carries no ARC set.")
    bodies = BodyHasher(message.body)
    headers = HeaderSet.of_message(message)
    keys: dict[KeyQuery, KeyOutcome] = {}
    sets = prepared.sets
    newest = max(sets) if sets else 0
    instances: dict[int, ArcInstance] = {}
    for i in sorted(sets):
        instances[i] = _describe(i, sets[i])

    # RFC 8617 §5.2 steps 1 and 3 (the form of the chain), then every AMS and every AS.
    global_findings = list(prepared.findings)
    structure = _structure(prepared, instances, newest, global_findings)
    # Every AMS, then every AS (the AS needs complete sets up to its own).
    for i, inst in instances.items():
        kinds = sets[i]
        if len(kinds["ams"]) == 1:
            _check_ams(
                inst,
                prepared.signatures[(i, "ams")],
                kinds["ams"][0],
                bodies,
                headers,
                keys,
                answers,
            )
        elif kinds["ams"]:
            inst.ams_result = "permerror"
    for i, inst in instances.items():
        kinds = sets[i]
        if len(kinds["as"]) == 1:
            _check_seal(inst, prepared.signatures[(i, "as")], sets, keys, answers)
        elif kinds["as"]:
            inst.seal_result = "permerror"

    # -- RFC 8617 §5.2: the first failing step decides ------------------------------------------
    # ``cause`` names the deciding step for the summary: range, cv, structure, ams, seal.
    result, broken_at, oldest_pass, why, cause = "pass", None, None, "", ""
    if prepared.out_of_range:
        result, broken_at, cause = "fail", prepared.out_of_range[0], "range"
        why = f"instance i={broken_at} is outside ARC's range of 1 to {limits.MAX_ARC_INSTANCES}"
    elif newest and (instances[newest].cv or "").lower() == "fail":
        result, broken_at, cause = "fail", newest, "cv"
        why = f"the newest seal (i={newest}) records that the chain had already failed (cv=fail)"
    elif structure is not None or not instances:
        broken_at, why, cause = structure or (None, "no ARC field has an instance", "structure")
        result = "fail"
    elif instances[newest].ams_result != "pass":
        result, broken_at, cause = "fail", newest, "ams"
        why = (
            f"the message signature of the newest set (i={newest}, "
            f"{instances[newest].ams_domain or '?'}) {_ams_words(instances[newest])}"
        )
    else:
        oldest_pass = 0
        for i in range(newest - 1, 0, -1):
            if instances[i].ams_result != "pass":
                oldest_pass = i + 1
                break
        failing = next(
            (i for i in range(newest, 0, -1) if instances[i].seal_result != "pass"), None
        )
        if failing is not None:
            result, broken_at, cause = "fail", failing, "seal"
            why = f"the seal of i={failing} ({instances[failing].sealer or '?'}) " + (
                _seal_words(instances[failing])
            )
    for inst in instances.values():
        inst.reason = _reason(inst)
    listed = [instances[i] for i in sorted(instances)]
    findings = global_findings + [f for inst in listed for f in inst.findings]
    summary = _summary(result, listed, broken_at, oldest_pass, why, cause)
    return ArcReport(result, listed, broken_at, oldest_pass, findings, summary)


def analyze(message: ParsedMessage, *, lookup: KeyLookup, now: float) -> ArcReport:
    """:func:`prepare`, one ``lookup.lookup_many`` for every key, :func:`verify`."""
    prepared = prepare(message)
    answers = lookup.lookup_many(list(prepared.key_queries)) if prepared.key_queries else {}
    return verify(prepared, answers, now=now)


def _describe(i: int, kinds: dict[str, list[_Field]]) -> ArcInstance:
    inst = ArcInstance(i=i)
    if kinds["aar"]:
        aar = kinds["aar"][0].field
        inst.aar_raw = field_text(aar)
        inst.aar_authserv_id = _authserv_id(aar)
    if kinds["ams"]:
        ams = kinds["ams"][0]
        inst.ams_raw = field_text(ams.field)
        tags = ams.tags or {}
        inst.ams_domain = clip(tags["d"], 255) if "d" in tags else None
        inst.ams_selector = clip(tags["s"], 255) if "s" in tags else None
    if kinds["as"]:
        seal = kinds["as"][0]
        inst.seal_raw = field_text(seal.field)
        tags = seal.tags or {}
        inst.sealer = clip(tags["d"], 255) if "d" in tags else None
        inst.seal_selector = clip(tags["s"], 255) if "s" in tags else None
        inst.cv = clip(tags["cv"], 40) if "cv" in tags else None
        if "t" in tags and tags["t"].isascii() and tags["t"].isdigit() and len(tags["t"]) <= 12:
            inst.seal_timestamp = int(tags["t"])
    return inst


def _authserv_id(f: HeaderField) -> str | None:
    """The authserv-id after ``i=N;`` (RFC 8617 §4.1.1, RFC 8601 §2.2), comments skipped."""
    try:
        text = unfold(f.value)
    except TagListError:
        return None
    m = _AAR_INSTANCE.match(text)
    if m is None:  # pragma: no cover - such a field has no instance
        return None
    rest = text[m.end() : m.end() + 2000]
    pos, depth = 0, 0
    while pos < len(rest):
        c = rest[pos]
        if depth:
            depth += {"(": 1, ")": -1}.get(c, 0)
            pos += 2 if c == "\\" else 1
        elif c == "(":
            depth, pos = 1, pos + 1
        elif c in " \t":
            pos += 1
        else:
            break
    rest = rest[pos:]
    if rest.startswith('"'):
        end = rest.find('"', 1)
        value = rest[1:end] if end > 0 else rest[1:]
    else:
        value = re.split(r"[ \t;(]", rest, maxsplit=1)[0]
    return clip(value, 255) if value else None


def _key(
    sig: _Signature,
    keys: dict[KeyQuery, KeyOutcome],
    answers: Mapping[KeyQuery, KeyAnswer],
    inst: ArcInstance,
    label: str,
) -> tuple[PublicKey | None, str | None]:
    """The key of ``sig`` (or None) and the result its problem gives (or None)."""
    assert sig.query is not None
    if sig.query not in keys:
        keys[sig.query] = load_key(sig.query, answers.get(sig.query))
    outcome = keys[sig.query]
    i = inst.i
    if outcome.multiple:
        inst.findings.append(
            note(
                "arc.key-multiple-records",
                f"{label}: several TXT records at the key name",
                Step.ARC,
                hop=i,
                detail=outcome.multiple,
                spec="RFC 6376 §6.1.2",
                data={"arc_instance": i},
            )
        )
    problem, detail = outcome.problem, outcome.detail
    key = outcome.key
    if key is not None:
        if key.testing:
            inst.findings.append(
                note(
                    "arc.key-testing",
                    f"{label}: the key is in testing mode (t=y)",
                    Step.ARC,
                    hop=i,
                    detail=f"{outcome.name} has t=y: the domain says it is testing its keys",
                    spec="RFC 6376 §3.6.1",
                    data={"arc_instance": i},
                )
            )
        assert sig.algorithm is not None and sig.domain is not None
        fit = key_fit(key, algorithm=sig.algorithm, domain=sig.domain, identity_domain=None)
        if fit is not None:
            problem, detail = fit[0], f"the key at {outcome.name} {fit[1]}"
    if problem is None:
        return key, None
    state, words, spec = KEY_PROBLEMS[problem]
    inst.findings.append(_finding(_KEY_CODES[problem], state, f"{label}: {words}", detail, spec, i))
    result = {State.TEMPERROR: "temperror", State.FAIL: "fail"}.get(state, "permerror")
    return (key if problem == "too-short" else None), result


def _check_ams(
    inst: ArcInstance,
    sig: _Signature,
    item: _Field,
    bodies: BodyHasher,
    headers: HeaderSet,
    keys: dict[KeyQuery, KeyOutcome],
    answers: Mapping[KeyQuery, KeyAnswer],
) -> None:
    """The AMS of ``inst``: syntax, body hash (independent of the key), key, signature."""
    i = inst.i
    label = f"ARC-Message-Signature i={i}"
    inst.ams_signed_headers = list(sig.signed)
    if sig.domain:
        inst.ams_domain = sig.domain
    if sig.selector:
        inst.ams_selector = sig.selector
    inst.findings.extend(sig.problems)
    inst.findings.extend(sig.policy)
    results: list[str] = []
    if sig.problems:
        results.append("permerror")
    if sig.policy:
        results.append("fail")
    if sig.body_length is not None:
        inst.findings.append(
            note(
                "arc.body-length-limit",
                f"{label}: covers only part of the body (l=)",
                Step.ARC,
                hop=i,
                detail=f"l={sig.body_length}: only the first {sig.body_length} octets of the "
                "canonical body are signed, so content may have been appended after sealing",
                spec="RFC 6376 §3.5, §8.2",
                data={"arc_instance": i},
            )
        )
    if sig.body_algorithm and sig.hash_name and sig.body_hash is not None:
        computed = bodies.digest(sig.body_algorithm, sig.hash_name, sig.body_length)
        inst.ams_body_hash_matches = computed == sig.body_hash
        if not inst.ams_body_hash_matches:
            inst.findings.append(
                _finding(
                    "arc.ams-body-hash-mismatch",
                    State.FAIL,
                    f"{label}: body hash did not verify",
                    f"the {sig.body_algorithm} body hashes to "
                    f"{base64.b64encode(computed).decode('ascii')}, the AMS says "
                    f"bh={base64.b64encode(sig.body_hash).decode('ascii')[:100]}",
                    "RFC 8617 §4.1.2, RFC 6376 §6.1.3",
                    i,
                )
            )
    key_result: str | None = None
    key: PublicKey | None = None
    if not sig.problems and sig.query is not None:
        key, key_result = _key(sig, keys, answers, inst, label)
        if key_result:
            results.append(key_result)
    if inst.ams_body_hash_matches is False:
        results.append("fail")
    if key is not None and sig.signature is not None and sig.hash_name:
        check = check_header_signature(
            headers=headers,
            header_algorithm=sig.header_algorithm,
            signed=sig.signed,
            signature_field=split_field(item.field),
            hash_name=sig.hash_name,
            key=key,
            signature=sig.signature,
        )
        results.extend(_signature_outcome(inst, check.valid, check.error, label, "ams"))
    inst.ams_result = results[0] if results else "pass"


def _check_seal(
    inst: ArcInstance,
    sig: _Signature,
    sets: dict[int, dict[str, list[_Field]]],
    keys: dict[KeyQuery, KeyOutcome],
    answers: Mapping[KeyQuery, KeyAnswer],
) -> None:
    """The AS of ``inst`` over the sets 1..i, taken by their i= (RFC 8617 §5.1.1)."""
    i = inst.i
    label = f"ARC-Seal i={i}"
    if sig.domain:
        inst.sealer = sig.domain
    if sig.selector:
        inst.seal_selector = sig.selector
    inst.findings.extend(sig.problems)
    inst.findings.extend(sig.policy)
    results: list[str] = []
    if sig.problems:
        results.append("permerror")
    if sig.policy:
        results.append("fail")
    key: PublicKey | None = None
    if not sig.problems and sig.query is not None:
        key, key_result = _key(sig, keys, answers, inst, label)
        if key_result:
            results.append(key_result)
    chain: list[HeaderField] = []
    for j in range(1, i + 1):
        kinds = sets.get(j)
        if kinds is None or any(len(kinds[k]) != 1 for k in ("aar", "ams", "as")):
            chain = []
            if not results:
                results.append("permerror")
            break
        chain.extend(kinds[k][0].field for k in ("aar", "ams", "as"))
    if chain and key is not None and sig.signature is not None and sig.hash_name:
        seal = chain.pop()
        # dkimpy's hash_headers takes each listed name from the bottom of the list up, so
        # the fields go in newest first to come out in increasing instance order.
        check = check_header_signature(
            headers=HeaderSet(split_field(f) for f in reversed(chain)),
            header_algorithm="relaxed",
            signed=[f.lname for f in chain],
            signature_field=split_field(seal),
            hash_name=sig.hash_name,
            key=key,
            signature=sig.signature,
        )
        results.extend(_signature_outcome(inst, check.valid, check.error, label, "as"))
    inst.seal_result = results[0] if results else "pass"


def _signature_outcome(
    inst: ArcInstance, valid: bool | None, error: str, label: str, kind: str
) -> list[str]:
    if valid:
        return []
    i = inst.i
    if valid is None:
        inst.findings.append(
            _finding(
                "arc.verifier-error",
                State.PERMERROR,
                f"{label}: the signature could not be checked",
                f"dkimpy could not hash or check the signature: {error}",
                "RFC 8617 §5.2",
                i,
            )
        )
        return ["permerror"]
    if kind == "ams":
        inst.findings.append(
            _finding(
                "arc.ams-signature-mismatch",
                State.FAIL,
                f"{label}: signature did not verify",
                f"the signature does not verify over the {len(inst.ams_signed_headers)} "
                f"header field name(s) of h= with the key of {inst.ams_domain}",
                "RFC 8617 §4.1.2, RFC 6376 §6.1.3",
                i,
            )
        )
    else:
        inst.findings.append(
            _finding(
                "arc.seal-signature-mismatch",
                State.FAIL,
                f"{label}: signature did not verify",
                f"the seal does not verify over the ARC sets 1 to {i} with the key of "
                f"{inst.sealer}",
                "RFC 8617 §5.1.1, §5.2",
                i,
            )
        )
    return ["fail"]


def _structure(
    prepared: ArcPrepared,
    instances: dict[int, ArcInstance],
    newest: int,
    global_findings: list[Finding],
) -> tuple[int | None, str, str] | None:
    """RFC 8617 §5.2 steps 1 and 3: the findings, and (lowest instance concerned, words,
    cause) of the first problem, or None when the chain's form is valid."""
    problems: list[tuple[int | None, str, str]] = []  # (instance, words, cause)
    if prepared.out_of_range:
        shown = ", ".join(str(i) for i in prepared.out_of_range[:5])
        more = "" if len(prepared.out_of_range) <= 5 else ", …"
        global_findings.append(
            _finding(
                "arc.instance-out-of-range",
                State.FAIL,
                "ARC instance number out of range",
                f"i={shown}{more}: ARC instances run from 1 to {limits.MAX_ARC_INSTANCES} "
                f"(§4.2.1), and a chain of more than {limits.MAX_ARC_INSTANCES} sets fails "
                "(§5.2); sets beyond that are not checked",
                "RFC 8617 §4.2.1, §5.2",
            )
        )
    if prepared.findings:
        problems.append((None, "an ARC field cannot be given to a set", "structure"))
    for i in range(1, newest + 1):
        if i not in instances:
            continue
        inst, kinds = instances[i], prepared.sets[i]
        missing = [_FIELD_NAMES[k] for k in ("aar", "ams", "as") if not kinds[k]]
        repeated = [
            f"{len(kinds[k])} {_FIELD_NAMES[k]}" for k in ("aar", "ams", "as") if len(kinds[k]) > 1
        ]
        if missing:
            inst.findings.append(
                _finding(
                    "arc.set-incomplete",
                    State.FAIL,
                    f"ARC set i={i} is incomplete",
                    f"set i={i} has no {' and no '.join(missing)}; each set needs exactly one "
                    "ARC-Authentication-Results, one ARC-Message-Signature and one ARC-Seal",
                    "RFC 8617 §4.1, §5.2",
                    i,
                )
            )
            problems.append((i, f"set i={i} has no {' and no '.join(missing)}", "structure"))
        if repeated:
            inst.findings.append(
                _finding(
                    "arc.duplicate-instance",
                    State.FAIL,
                    f"ARC instance i={i} appears more than once",
                    f"instance i={i} has {', '.join(repeated)} fields; each instance number "
                    "must be used by exactly one set",
                    "RFC 8617 §4.2.1, §5.2",
                    i,
                )
            )
            problems.append((i, f"instance i={i} is used more than once", "structure"))
        cv = (inst.cv or "").lower()
        if kinds["as"] and cv == "fail":
            inst.findings.append(
                _finding(
                    "arc.cv-fail",
                    State.FAIL,
                    f"ARC-Seal i={i} says the chain had failed (cv=fail)",
                    f"the sealer of i={i} ({inst.sealer or '?'}) found the chain it received "
                    "already broken and recorded cv=fail; a failed chain cannot become valid "
                    "again",
                    "RFC 8617 §4.1.3, §5.2",
                    i,
                )
            )
            problems.append((i, f"the sealer of i={i} recorded cv=fail", "cv"))
        elif len(kinds["as"]) == 1 and cv not in _CV_VALUES:
            problems.append((i, f"the seal of i={i} has no valid cv=", "structure"))
        elif kinds["as"] and cv in _CV_VALUES and (cv == "none") != (i == 1):
            expected = "none" if i == 1 else "pass"
            inst.findings.append(
                _finding(
                    "arc.cv-invalid",
                    State.FAIL,
                    f"ARC-Seal i={i} has cv={cv}, expected cv={expected}",
                    f"the seal of i={i} says cv={cv}; the first set must say cv=none and "
                    "every later set cv=pass",
                    "RFC 8617 §4.1.3, §5.2",
                    i,
                )
            )
            problems.append(
                (i, f"the seal of i={i} has cv={cv} instead of cv={expected}", "structure")
            )
    gaps = [i for i in range(1, newest) if i not in instances]
    if gaps:
        shown = ", ".join(str(i) for i in gaps[:10]) + (", …" if len(gaps) > 10 else "")
        global_findings.append(
            _finding(
                "arc.instance-gap",
                State.FAIL,
                "ARC instances are missing",
                f"the newest set is i={newest} but no field has i={shown}; instances must run "
                "from 1 without gaps",
                "RFC 8617 §4.2.1, §5.2",
            )
        )
        problems.append((gaps[0], f"instance i={gaps[0]} is missing", "structure"))
    if not problems:
        return None
    numbered = [p for p in problems if p[0] is not None]
    return min(numbered, key=lambda p: p[0] or 0) if numbered else problems[0]


# -- words -----------------------------------------------------------------------------------------


def _first_detail(inst: ArcInstance, codes: tuple[str, ...]) -> str:
    return next((f.detail.rstrip(".") for f in inst.findings if f.code in codes), "")


_UNCHECKED_CODES = (
    "arc.syntax",
    "arc.field-too-large",
    "arc.unsupported-algorithm",
    "arc.ams-signs-seal",
    *_KEY_CODES.values(),
    "arc.verifier-error",
)


def _ams_words(inst: ArcInstance) -> str:
    """What happened to the AMS of ``inst``, as a predicate."""
    result = inst.ams_result
    if result == "pass":
        return "verifies"
    if result == "none":
        return "is missing"
    ams_findings = [f for f in inst.findings if "ARC-Message-Signature" in f.message]
    detail = next(
        (f.detail.rstrip(".") for f in ams_findings if f.code in _UNCHECKED_CODES),
        "",
    )
    if result == "temperror":
        return f"could not be checked now ({detail})"
    if result == "permerror":
        return f"cannot be checked ({detail or 'its set is malformed'})"
    if inst.ams_body_hash_matches is False:
        return "does not verify: the body changed after it was added"
    if any(f.code == "arc.ams-signature-mismatch" for f in ams_findings):
        return "does not verify: signed header fields changed after it was added"
    return f"is not acceptable ({detail})"


def _seal_words(inst: ArcInstance) -> str:
    result = inst.seal_result
    if result == "pass":
        return "verifies"
    if result == "none":
        return "is missing"
    seal_findings = [f for f in inst.findings if f.message.startswith("ARC-Seal")]
    detail = next(
        (f.detail.rstrip(".") for f in seal_findings if f.code in _UNCHECKED_CODES),
        "",
    )
    if result == "temperror":
        return f"could not be checked now ({detail})"
    if result == "permerror":
        return f"cannot be checked ({detail or 'a set up to it is incomplete or repeated'})"
    if any(f.code == "arc.seal-signature-mismatch" for f in seal_findings):
        return "does not verify"
    return f"is not acceptable ({detail})"


def _reason(inst: ArcInstance) -> str:
    """One plain sentence about one set."""
    who = inst.sealer or inst.ams_domain or "an unnamed sealer"
    aar = "" if inst.aar_raw is not None else "; it has no ARC-Authentication-Results"
    if inst.seal_result == "pass" and inst.ams_result == "pass":
        return f"The set i={inst.i} of {who} verifies: its seal and message signature are valid."
    return (
        f"The set i={inst.i} of {who}: the seal {_seal_words(inst)}; the message signature "
        f"{_ams_words(inst)}{aar}."
    )


def _summary(
    result: str,
    instances: list[ArcInstance],
    broken_at: int | None,
    oldest_pass: int | None,
    why: str,
    cause: str,
) -> str:
    n = len(instances)
    sets = plural(n, "set")
    if result == "pass":
        newest = instances[-1]
        signatures = (
            "every message signature verifies"
            if oldest_pass == 0
            else f"the message signatures verify back to i={oldest_pass}"
        )
        return (
            f"ARC: pass — the chain of {sets} validates (newest sealed by "
            f"{newest.sealer}); {signatures} (oldest-pass={oldest_pass})."
        )
    action = _action(next((x for x in instances if x.i == broken_at), None), cause)
    where = f" at i={broken_at}" if broken_at is not None else ""
    return f"ARC: fail — the chain of {sets} breaks{where}: {why}; {action}."


def _action(inst: ArcInstance | None, cause: str) -> str:
    """Who must do what about the deciding problem (``cause``) at instance ``inst``."""
    if inst is None:
        return "the intermediary that added the malformed ARC fields must fix its ARC software"
    who = inst.sealer or inst.ams_domain or "the sealer"
    result = {"ams": inst.ams_result, "seal": inst.seal_result}.get(cause)
    if result == "temperror":
        return (
            "a key could not be fetched, so checking again later may pass; if it persists, "
            f"the DNS administrator of {who} must fix its name servers"
        )
    if cause == "cv":
        return (
            f"{who} found the chain already broken when the message reached it; look at the "
            "sets before it"
        )
    if cause == "ams":
        if result == "permerror":
            return f"the operator of {who} must fix its ARC signing or publish its key"
        return (
            f"the message was changed after {who} sealed it: by a later handler that did not "
            "add its own ARC set, or in the copy analysed here"
        )
    if cause == "seal":
        if result == "permerror":
            return f"the operator of {who} must fix its ARC sealing or publish its key"
        return (
            f"the seal of {who} was altered after sealing, or {who} seals with a key other "
            "than the one it publishes"
        )
    return f"the operator of {who} must fix the ARC fields it adds"
