"""Key-name validation and the static (declarative zone) key lookup.

Theory of operation
-------------------
Every key lookup asks for one name, ``<selector>._domainkey.<domain>``, type
TXT (SPEC-NOTES §5; DNS00 §3.4).  :func:`key_name` turns a
:class:`~analysis.lookup.KeyQuery` into that name, or refuses it:

* selector labels are LDH plus underscore, domain labels are LDH (letters,
  digits, hyphen; no hyphen first or last), each label 1-63 octets, the whole
  name at most 253 octets, no empty label; one trailing dot on the domain is
  tolerated and dropped;
* a non-ASCII label (a U-label, RFC 8616) is converted to its A-label with
  Python's ``idna`` codec (IDNA 2003, the only one in the standard library);
  the conversion is reported as a note.  A label the codec refuses makes the
  name invalid;
* the result is lower-cased, so it can serve as a cache and zone key.

Both resolvers use it, so a query is either answered ``INVALID_NAME`` by
both or looked up by both.  Nothing here imports dnspython; the real-DNS
adapter is :mod:`analysis.dns`.

:class:`StaticResolver` answers from a zone written in the interop
``dns.json`` layout (dkim2wg/interop, stalwartlabs/mail-auth)::

    {"example.com": {"sel._domainkey": [["txt", "v=DKIM1; k=ed25519; p=..."]]}}

and serves every record type the mechanisms ask for (:class:`~analysis.lookup.DnsQuery`):
in the nested layout ``"@"`` (or ``""``) names the apex and other names are relative to
it; entries are ``["txt", "..."]``, ``["a", "192.0.2.1"]``, ``["aaaa", "2001:db8::1"]``,
``["mx", "10 mx.example.com."]``, ``["ptr", "host.example.com."]`` and
``["cname", "target.example.com."]`` (targets are absolute; the final dot may be left
out).  It tells the outcomes apart the way DNS would, for every type:

=============================================  ============  ==============
zone content for the queried name and type     status        SPEC-NOTES §6.2
=============================================  ============  ==============
one or more entries of the type                ``FOUND``     (one per entry)
a ``cname`` entry (another type asked)         followed      (at most 8 links)
listed, but no entry of the type (e.g. ``[]``) ``NODATA``    PERMERROR
not listed, but a longer name below it is      ``NODATA``    (empty non-terminal)
not listed at all                              ``NXDOMAIN``  PERMERROR
``["servfail", ""]`` (extension)               ``SERVFAIL``  TEMPERROR
``["timeout", ""]`` (extension)                ``TIMEOUT``   TEMPERROR
outside the suffixes the resolver is limited   ``ERROR``     TEMPERROR
to (see :meth:`StaticResolver.restrict_to_suffixes`)
=============================================  ============  ==============

Extensions to the interop layout, for tests and samples:

* the markers ``["servfail", ""]`` and ``["timeout", ""]`` simulate those
  failures for every type (no waiting happens); a marker wins over the other
  entries of the same name;
* a flat layout ``{"sel._domainkey.example.com": "v=DKIM1; ..."}`` (used by
  turscar ``testdata/chaos/dns.json``) is read as one TXT record at that full
  name; both layouts may be mixed in one file.

Names in questions other than key names are checked by :func:`dns_name` (LDH labels
with ``_`` allowed, as in ``_dmarc`` and ``_spf``; U-labels converted); a name it refuses
is answered ``INVALID_NAME`` by both resolvers without a query.

Domain and name keys match case-insensitively and a trailing dot is
tolerated.  Each answer carries ``transport="static"``, ``ttl=None`` and is
appended to :attr:`StaticResolver.answers`, so a test can assert which keys
the engine asked for.  :meth:`StaticResolver.merge` combines zones (later
zones win per name, e.g. the corrected ed25519 keys of mail-auth-vectors over
interop's); :meth:`StaticResolver.restrict_to_suffixes` limits a zone to some
domain suffixes, so a demo zone of ``.example`` names can never speak for a
real domain: names outside the suffixes get ``ERROR`` ("not served here"),
never a claim that the key does not exist.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from analysis.lookup import (
    DnsAnswer,
    DnsQuery,
    KeyAnswer,
    KeyQuery,
    LookupStatus,
    RecordType,
    key_answer,
)

__all__ = [
    "InvalidKeyName",
    "NormalisedName",
    "StaticResolver",
    "dns_name",
    "host_name",
    "key_answers",
    "key_name",
]

#: Longest name accepted, in octets, without the trailing dot (RFC 1035 §2.3.4).
MAX_NAME_OCTETS = 253

#: Longest label, in octets (RFC 1035 §2.3.4).
MAX_LABEL_OCTETS = 63

#: The DKIM key namespace label (DNS00 §3.4.2).
DOMAINKEY_LABEL = "_domainkey"

# LDH with the RFC 1123 rule (no hyphen first or last), plus "_" in selectors:
# selector = sub-domain *("." sub-domain) (RFC 6376 §3.1), underscore added
# because selectors such as "_s2048" are published and resolvable.
_SELECTOR_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\Z")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\Z")
# Any other name asked (SPF targets, _dmarc names, reverse names): DNS itself allows any
# octet in a label (RFC 2181 §11), and SPF builds names from macros that carry ":", "/",
# "%", "+" or a space (RFC 7208 §7.3, §4.8), so only what the wire form cannot carry here
# is refused: control characters, a backslash (zone-file escapes), non-ASCII after the
# U-label conversion.
_ANY_LABEL = re.compile(r"[\x20-\x5b\x5d-\x7e]+\Z")

_RULES = {
    _SELECTOR_LABEL.pattern: "letters, digits, '-', '_'; no '-' first or last",
    _DOMAIN_LABEL.pattern: "letters, digits, '-'; no '-' first or last",
    _ANY_LABEL.pattern: "printable ASCII without '\\'",
}

#: Most CNAME links the static zone follows for one question (a loop ends here too).
MAX_CNAME_LINKS = 8

#: Zone entry types that simulate a failure instead of holding data.
_MARKERS = {"servfail": LookupStatus.SERVFAIL, "timeout": LookupStatus.TIMEOUT}


class InvalidKeyName(ValueError):
    """The selector or domain of a :class:`KeyQuery` is not a usable DNS name."""


@dataclass(frozen=True)
class NormalisedName:
    """The TXT name to ask for, in lower-case A-labels, with conversion notes."""

    name: str  # "<selector>._domainkey.<domain>", no trailing dot
    notes: tuple[str, ...] = ()


def _to_ascii_label(label: str, part: str) -> tuple[str, str | None]:
    if label.isascii():
        return label.lower(), None
    try:
        ascii_label = label.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidKeyName(f"{part} label {label!r} is not a valid U-label: {exc}") from None
    return ascii_label.lower(), f"{part} label {label!r} converted to {ascii_label!r} (IDNA 2003)"


def _labels(text: str, part: str, pattern: re.Pattern[str]) -> tuple[list[str], list[str]]:
    if text == "":
        raise InvalidKeyName(f"{part} is empty")
    labels: list[str] = []
    notes: list[str] = []
    for raw in text.split("."):
        if raw == "":
            raise InvalidKeyName(f"{part} {text!r} has an empty label")
        label, note = _to_ascii_label(raw, part)
        if note:
            notes.append(note)
        if len(label) > MAX_LABEL_OCTETS:
            raise InvalidKeyName(
                f"{part} label {label[:20]!r}... is {len(label)} octets (max {MAX_LABEL_OCTETS})"
            )
        if not pattern.match(label):
            raise InvalidKeyName(
                f"{part} label {raw!r} is not a valid DNS label ({_RULES[pattern.pattern]})"
            )
        labels.append(label)
    return labels, notes


def key_name(query: KeyQuery) -> NormalisedName:
    """Validate ``query`` and return the TXT name to look up.

    Raises :class:`InvalidKeyName` (a ``ValueError``) with a sentence for the
    report when the selector or domain cannot be turned into a DNS name.  Kept for the
    names asked most (a process asks the same few keys again and again; the answer depends
    on the query alone): each label's checks were 5% of verifying a 5-hop chain.
    """
    if isinstance(query.selector, str) and isinstance(query.domain, str):
        return _key_name_kept(query)
    return _key_name(query)  # not text: said so below (and not hashable, maybe)


@functools.lru_cache(maxsize=4096)
def _key_name_kept(query: KeyQuery) -> NormalisedName:
    return _key_name(query)


def _key_name(query: KeyQuery) -> NormalisedName:
    selector, domain = query.selector, query.domain
    if not isinstance(selector, str) or not isinstance(domain, str):
        raise InvalidKeyName("selector and domain must be text")
    if domain.endswith(".") and domain != ".":
        domain = domain[:-1]
    sel_labels, sel_notes = _labels(selector, "selector", _SELECTOR_LABEL)
    dom_labels, dom_notes = _labels(domain, "domain", _DOMAIN_LABEL)
    name = ".".join([*sel_labels, DOMAINKEY_LABEL, *dom_labels])
    if len(name) > MAX_NAME_OCTETS:
        raise InvalidKeyName(f"key name is {len(name)} octets (max {MAX_NAME_OCTETS})")
    return NormalisedName(name, tuple(sel_notes + dom_notes))


def dns_name(name: str) -> NormalisedName:
    """Validate any name to be asked (not a key name) and return its lower-case A-label
    form; raises :class:`InvalidKeyName` with a sentence for the report.  Kept for the names
    asked most, as :func:`key_name` (issue #13: a message's SPF and DMARC questions check
    the same few names' labels again and again)."""
    if not isinstance(name, str):
        raise InvalidKeyName("the name must be text")
    return _dns_name_kept(name)


@functools.lru_cache(maxsize=4096)
def _dns_name_kept(name: str) -> NormalisedName:
    if name.endswith(".") and name != ".":
        name = name[:-1]
    labels, notes = _labels(name, "name", _ANY_LABEL)
    text = ".".join(labels)
    if len(text) > MAX_NAME_OCTETS:
        raise InvalidKeyName(f"name is {len(text)} octets (max {MAX_NAME_OCTETS})")
    return NormalisedName(text, tuple(notes))


def host_name(name: str) -> NormalisedName:
    """Validate a domain name as mail uses it (RFC 5321 §4.1.2: LDH labels, as in a From
    address or a DKIM ``d=``) and return its lower-case A-label form; raises
    :class:`InvalidKeyName` with a sentence for the report.  Kept, as :func:`dns_name`."""
    if not isinstance(name, str):
        raise InvalidKeyName("the name must be text")
    return _host_name_kept(name)


@functools.lru_cache(maxsize=4096)
def _host_name_kept(name: str) -> NormalisedName:
    if name.endswith(".") and name != ".":
        name = name[:-1]
    labels, notes = _labels(name, "name", _DOMAIN_LABEL)
    text = ".".join(labels)
    if len(text) > MAX_NAME_OCTETS:
        raise InvalidKeyName(f"name is {len(text)} octets (max {MAX_NAME_OCTETS})")
    return NormalisedName(text, tuple(notes))


def key_answers(
    resolve_many: Callable[[list[DnsQuery]], dict[DnsQuery, DnsAnswer]],
    queries: list[KeyQuery],
    *,
    clock: Callable[[], float] = time.time,
) -> dict[KeyQuery, KeyAnswer]:
    """Answer key queries through ``resolve_many`` (TXT questions at their key names).

    A query whose selector or domain is not a usable name is answered ``INVALID_NAME``
    here, without a question; queries that share a name share one question.
    """
    result: dict[KeyQuery, KeyAnswer] = {}
    names: dict[KeyQuery, tuple[DnsQuery, tuple[str, ...]]] = {}
    for query in dict.fromkeys(queries):
        try:
            normalised = key_name(query)
        except InvalidKeyName as exc:
            result[query] = KeyAnswer(
                query, LookupStatus.INVALID_NAME, detail=str(exc), fetched_at=clock()
            )
            continue
        names[query] = (DnsQuery(normalised.name, RecordType.TXT), normalised.notes)
    if names:
        answers = resolve_many(list(dict.fromkeys(q for q, _ in names.values())))
        for query, (question, notes) in names.items():
            result[query] = key_answer(query, answers[question], notes)
    return result


def _zone_key(text: str) -> str:
    """Lower-case, drop one trailing dot, A-label any U-label (zone files are trusted)."""
    if text.endswith("."):
        text = text[:-1]
    out = []
    for label in text.split("."):
        try:
            out.append(label.encode("idna").decode("ascii").lower() if label else label)
        except UnicodeError:
            out.append(label.lower())
    return ".".join(out)


def _normalise_suffix(suffix: str) -> str:
    key = _zone_key(suffix.strip().lstrip("."))
    if not key:
        raise ValueError(f"empty domain suffix {suffix!r}")
    return key


def _under(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


@dataclass(frozen=True)
class _Entry:
    """One name's data: its records by type, in zone order, and a failure marker if any."""

    records: Mapping[RecordType, tuple[str, ...]]
    marker: LookupStatus | None = None


def _record_value(kind: RecordType, value: str, name: str) -> str:
    """A zone value in the text form of :class:`~analysis.lookup.DnsAnswer` records."""
    if kind in (RecordType.CNAME, RecordType.PTR):
        return _zone_key(value.strip()) or "."
    if kind is RecordType.MX:
        preference, _, exchange = value.strip().partition(" ")
        if not preference.isdigit() or not exchange.strip():
            raise ValueError(f"zone entry for {name!r}: MX {value!r} is not 'PREFERENCE HOST'")
        target = exchange.strip()
        return f"{int(preference)} {'.' if target == '.' else _zone_key(target)}"
    if kind in (RecordType.A, RecordType.AAAA):
        return value.strip()
    return value


def _parse_entries(name: str, entries: object) -> _Entry:
    if isinstance(entries, str):  # flat layout: one TXT record
        return _Entry({RecordType.TXT: (entries,)})
    if not isinstance(entries, list):
        raise ValueError(f"zone entry for {name!r} must be a list of [type, value] pairs")
    records: dict[RecordType, list[str]] = {}
    marker: LookupStatus | None = None
    for item in entries:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], str)
        ):
            raise ValueError(f"zone entry for {name!r} has a malformed item {item!r}")
        kind = item[0].lower()
        if kind in _MARKERS:
            marker = marker or _MARKERS[kind]
            continue
        try:
            rtype = RecordType(kind.upper())
        except ValueError:
            raise ValueError(
                f"zone entry for {name!r} has an unknown type {item[0]!r} "
                f"(txt, a, aaaa, mx, ptr, cname, servfail, timeout)"
            ) from None
        records.setdefault(rtype, []).append(_record_value(rtype, item[1], name))
    return _Entry({k: tuple(v) for k, v in records.items()}, marker)


def _parse_zone(zone: Mapping[str, object]) -> dict[str, _Entry]:
    if not isinstance(zone, Mapping):
        raise ValueError("a zone must be a JSON object {domain: {name: [[type, value]]}}")
    names: dict[str, _Entry] = {}
    for domain, content in zone.items():
        if not isinstance(domain, str):
            raise ValueError(f"zone key {domain!r} is not text")
        if isinstance(content, str):
            names[_zone_key(domain)] = _parse_entries(domain, content)
            continue
        if not isinstance(content, Mapping):
            raise ValueError(f"zone content for {domain!r} must be an object or a string")
        base = _zone_key(domain)
        for rel, entries in content.items():
            rel_key = _zone_key(str(rel))
            full = base if rel_key in ("", "@") else f"{rel_key}.{base}"
            names[full] = _parse_entries(full, entries)
    return names


class StaticResolver:
    """A :class:`~analysis.lookup.KeyLookup` over a declarative zone (see module docs)."""

    transport = "static"

    def __init__(
        self,
        zone: Mapping[str, object] | None = None,
        *,
        suffixes: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._names: dict[str, _Entry] = _parse_zone(zone or {})
        self._suffixes: tuple[str, ...] | None = (
            None if suffixes is None else tuple(_normalise_suffix(s) for s in suffixes)
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._existing = self._existing_names(self._names)
        #: Every key answer given, in order (the "records every query" of STYLE.md).
        self.answers: list[KeyAnswer] = []
        #: Every answer to a :class:`~analysis.lookup.DnsQuery`, in order.
        self.dns_answers: list[DnsAnswer] = []

    @staticmethod
    def _existing_names(names: Iterable[str]) -> frozenset[str]:
        # A name exists if it is listed or if a listed name lies below it
        # (an empty non-terminal, RFC 8020): asking for it gives NODATA.
        existing: set[str] = set()
        for name in names:
            labels = name.split(".")
            existing.update(".".join(labels[i:]) for i in range(len(labels)))
        return frozenset(existing)

    # -- constructors ---------------------------------------------------------

    @classmethod
    def from_json_file(
        cls,
        path: str | Path,
        *,
        suffixes: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> StaticResolver:
        """Load a ``dns.json`` zone; a malformed file raises ``ValueError`` naming it."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            return cls(data, suffixes=suffixes, clock=clock)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{p}: {exc}") from exc

    @classmethod
    def merge(cls, *resolvers: StaticResolver) -> StaticResolver:
        """One resolver serving every zone; a later resolver wins for a name in several.

        A restricted input contributes only the names it serves; the result is
        restricted to the union of suffixes if every input is restricted.
        """
        merged = cls()
        names: dict[str, _Entry] = {}
        all_suffixes: list[str] = []
        unrestricted = not resolvers
        for r in resolvers:
            names.update({n: e for n, e in r._names.items() if r._serves_name(n)})
            if r._suffixes is None:
                unrestricted = True
            else:
                all_suffixes.extend(s for s in r._suffixes if s not in all_suffixes)
        merged._names = names
        merged._existing = cls._existing_names(names)
        merged._suffixes = None if unrestricted else tuple(all_suffixes)
        if resolvers:
            merged._clock = resolvers[-1]._clock
        return merged

    def restrict_to_suffixes(self, *suffixes: str) -> StaticResolver:
        """A copy that serves only names under the given domain suffixes.

        ``"example"`` and ``".example"`` both mean the domain ``example`` and
        everything below it (matched by whole labels: not ``badexample``).
        """
        if not suffixes:
            raise ValueError("restrict_to_suffixes needs at least one suffix")
        restricted = StaticResolver.merge(self)
        wanted = tuple(_normalise_suffix(s) for s in suffixes)
        if self._suffixes is not None:  # restricting twice keeps the intersection
            narrowed: list[str] = []
            for w in wanted:
                for s in self._suffixes:
                    inner = w if _under(w, s) else s if _under(s, w) else None
                    if inner is not None and inner not in narrowed:
                        narrowed.append(inner)
            wanted = tuple(narrowed)
        restricted._suffixes = wanted
        restricted._names = {
            n: e for n, e in restricted._names.items() if restricted._serves_name(n)
        }
        restricted._existing = self._existing_names(restricted._names)
        return restricted

    def unused_copy(self) -> StaticResolver:
        """The same zone, restriction and clock with no answer given yet (``answers`` and
        ``dns_answers`` empty): parsing a zone is the costly part, so a zone parsed once
        can serve each message through a copy that records that message's answers alone."""
        unused = StaticResolver(clock=self._clock)
        # The parsed names are never changed after construction: shared, not copied.
        unused._names = self._names
        unused._existing = self._existing
        unused._suffixes = self._suffixes
        return unused

    # -- queries ----------------------------------------------------------------

    @property
    def suffixes(self) -> tuple[str, ...] | None:
        return self._suffixes

    def names(self) -> list[str]:
        """Every name the zone lists, sorted (lower case, no trailing dot)."""
        return sorted(self._names)

    def _serves_name(self, name: str) -> bool:
        return self._suffixes is None or any(_under(name, s) for s in self._suffixes)

    def serves(self, query: KeyQuery | DnsQuery) -> bool:
        """Whether this resolver may answer ``query`` (False outside its suffixes)."""
        try:
            if isinstance(query, DnsQuery):
                return self._serves_name(dns_name(query.name).name)
            return self._serves_name(key_name(query).name)
        except InvalidKeyName:
            return True  # it answers INVALID_NAME itself

    def lookup(self, query: KeyQuery) -> KeyAnswer:
        records: tuple[str, ...] = ()
        try:
            normalised = key_name(query)
        except InvalidKeyName as exc:
            status, detail = LookupStatus.INVALID_NAME, str(exc)
        else:
            status, records, detail = self._resolve(normalised.name, RecordType.TXT)
            detail = "; ".join(p for p in (detail, *normalised.notes) if p)
        answer = KeyAnswer(
            query=query,
            status=status,
            records=records,
            detail=detail,
            fetched_at=self._clock(),
            elapsed_ms=0.0,
            ttl=None,
            transport=self.transport,
        )
        with self._lock:
            self.answers.append(answer)
        return answer

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        return {q: self.lookup(q) for q in dict.fromkeys(queries)}

    def resolve(self, query: DnsQuery) -> DnsAnswer:
        """One question of any type (see the module docs for the outcomes)."""
        records: tuple[str, ...] = ()
        try:
            normalised = dns_name(query.name)
        except InvalidKeyName as exc:
            status, detail = LookupStatus.INVALID_NAME, str(exc)
        else:
            status, records, detail = self._resolve(normalised.name, query.rtype)
            detail = "; ".join(p for p in (detail, *normalised.notes) if p)
        answer = DnsAnswer(
            query=query,
            status=status,
            records=records,
            detail=detail,
            fetched_at=self._clock(),
            transport=self.transport,
        )
        with self._lock:
            self.dns_answers.append(answer)
        return answer

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        return {q: self.resolve(q) for q in dict.fromkeys(queries)}

    def _resolve(self, name: str, rtype: RecordType) -> tuple[LookupStatus, tuple[str, ...], str]:
        notes: list[str] = []
        for _ in range(MAX_CNAME_LINKS + 1):
            if not self._serves_name(name):
                served = ", ".join("." + s for s in self._suffixes or ())
                notes.insert(0, f"{name} is not served by this static zone ({served})")
                return LookupStatus.ERROR, (), "; ".join(notes)
            entry = self._names.get(name)
            if entry is None:
                if name in self._existing:
                    notes.insert(0, f"{name} exists only as a parent of other names (static zone)")
                    return LookupStatus.NODATA, (), "; ".join(notes)
                notes.insert(0, f"{name} is not in the static zone")
                return LookupStatus.NXDOMAIN, (), "; ".join(notes)
            if entry.marker is not None:
                notes.insert(0, f"simulated {entry.marker.value} (static zone marker)")
                return entry.marker, (), "; ".join(notes)
            records = entry.records.get(rtype, ())
            if records:
                return LookupStatus.FOUND, records, "; ".join(notes)
            target = entry.records.get(RecordType.CNAME, ())
            if rtype is RecordType.CNAME or not target:
                notes.insert(0, f"{name} is in the static zone without a {rtype.value} record")
                return LookupStatus.NODATA, (), "; ".join(notes)
            notes.append(f"CNAME {name} -> {target[0]}")
            name = target[0]
        notes.insert(0, f"more than {MAX_CNAME_LINKS} CNAME links (a loop?)")
        return LookupStatus.ERROR, (), "; ".join(notes)

    def __repr__(self) -> str:
        limit = "" if self._suffixes is None else f", suffixes={list(self._suffixes)!r}"
        return f"<StaticResolver {len(self._names)} names{limit}>"
