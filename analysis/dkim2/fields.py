"""``Message-Instance`` and ``DKIM2-Signature`` fields, parsed strictly.

S06 §7 (Message-Instance) and §8 (DKIM2-Signature).  Parsing never raises:
it returns the parsed field (or ``None``) and a list of :class:`FieldProblem`
values, each of which the chain walk turns into a PERMERROR finding with the
S06 §11.2 failure string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import limits
from ..message import HeaderField
from .grammar import (
    Address,
    GrammarError,
    TagList,
    canonical_base64string,
    decode_base64string,
    decode_base64string_compact,
    parse_address,
    parse_domain,
    parse_selector,
    parse_tag_list,
    plain_address,
)

MI_NAME = "message-instance"
SIG_NAME = "dkim2-signature"

#: Algorithms this engine implements (S06 §3: verifiers MUST implement all four).
KNOWN_HASHES = ("sha256", "sha512")
KNOWN_SIGNATURE_ALGORITHMS = ("rsa-sha256", "ed25519-sha256")

#: Flags defined by S06 §8.10.
KNOWN_FLAGS = ("donotmodify", "donotexplode", "feedback", "feedhere", "exploded")

_DIGITS = re.compile(r"[0-9]+\Z")
# textstring = [FWS] ALPHADIGITD *(ALPHADIGITD) [FWS] (S06 §2.14)
_TEXTSTRING = re.compile(r"[A-Za-z0-9_-]+\Z")
#: Hash and signature algorithm names that are textstrings: looked up, not matched.
_PLAIN_NAMES = frozenset(("sha256", "sha512", "rsa-sha256", "ed25519-sha256"))
# nonce-value = *64(%x21-3A / %x3C-7E) (S06 §8.3)
_NONCE = re.compile(r"[\x21-\x3a\x3c-\x7e]*\Z")


@dataclass(frozen=True)
class FieldProblem:
    code: str  # e.g. "sig.tag-missing"
    what: str  # the tail of the S06 string: "syntax error", "tag=d missing", ...
    detail: str = ""
    spec: str = ""


@dataclass(frozen=True)
class HashSet:
    algorithm: str  # hash-name, lower-cased
    header_hash: bytes
    body_hash: bytes
    header_hash_b64: str
    body_hash_b64: str
    #: Which ``|``-separated group of ``h=`` the set belongs to, from 1 (0: no groups).
    group: int = 0


@dataclass
class MessageInstance:
    instance: int  # m=
    hashes: list[HashSet]  # h=
    recipe_b64: str | None  # r=, FWS removed
    recipe_bytes: bytes | None  # r= decoded (JSON text), None when absent
    header: HeaderField
    missing_final_semicolon: bool = False
    unknown_tags: list[str] = field(default_factory=list)

    @property
    def hash_groups(self) -> list[list[HashSet]]:
        """``h=`` as its groups (-08, SPEC-09-NOTES 1.2); one group without ``|``."""
        out: dict[int, list[HashSet]] = {}
        for h in self.hashes:
            out.setdefault(h.group, []).append(h)
        return [out[g] for g in sorted(out)]

    @property
    def uses_groups(self) -> bool:
        return any(h.group for h in self.hashes)


@dataclass(frozen=True)
class SigSet:
    selector: str
    algorithm: str  # sig-name, lower-cased
    signature: bytes  # decoded message-sig
    signature_b64: str
    #: Which ``|``-separated group of ``s=`` the entry belongs to, from 1 (0: no groups).
    group: int = 0


@dataclass
class Dkim2Signature:
    hop: int  # i=
    instance: int  # m=
    timestamp: int  # t=
    domain: str  # d=, lower-cased
    sig_sets: list[SigSet]  # s=
    mail_from: Address | None  # mf=
    rcpt_to: list[Address] | None  # rt=
    next_domain: str | None  # nd=
    nonce: str | None  # n=
    flags: list[str]  # f=, lower-cased
    header: HeaderField
    missing_final_semicolon: bool = False
    bare_addresses: bool = False  # mf=/rt= without <> (accepted only with --compat)
    unknown_tags: list[str] = field(default_factory=list)

    @property
    def flag_set(self) -> frozenset[str]:
        return frozenset(self.flags)

    @property
    def groups(self) -> list[list[SigSet]]:
        """``s=`` as its groups: every entry of a group must pass; one group passing is
        enough (-08, SPEC-09-NOTES 1.1).  Without ``|`` there is one group."""
        return _grouped(self.sig_sets)

    @property
    def uses_groups(self) -> bool:
        return any(s.group for s in self.sig_sets)


def _grouped(items: list[SigSet]) -> list[list[SigSet]]:
    out: dict[int, list[SigSet]] = {}
    for s in items:
        out.setdefault(s.group, []).append(s)
    return [out[g] for g in sorted(out)]


def number_hint(header: HeaderField, tag: str) -> int | None:
    """Best-effort ``i=``/``m=`` of a field that failed to parse (for labelling)."""
    m = re.search(
        rb"(?:^|;)[ \t\r\n]*" + tag.encode() + rb"[ \t\r\n]*=[ \t\r\n]*([0-9]{1,20})(?![0-9])",
        header.value,
        re.IGNORECASE,
    )
    if not m:
        return None
    value = int(m.group(1))
    # A number no real field can have (over the digit limit) labels nothing.
    return value if value < 10**limits.MAX_NUMBER_DIGITS else None


def _number(value: str, tag: str, max_digits: int) -> int:
    text = value.strip(" \t")
    # ASCII digits only (str.isdigit alone takes other scripts' digits too).
    if len(text) <= max_digits and text.isdigit() and text.isascii():
        return int(text)
    return _number_careful(value, tag, max_digits)


def _number_careful(value: str, tag: str, max_digits: int) -> int:
    """The reference reading of a number, check by check."""
    text = value.strip(" \t")
    if not _DIGITS.match(text):
        raise GrammarError(f"{tag}= value '{text[:20]}' is not a decimal number")
    if len(text) > max_digits:
        raise GrammarError(
            f"{tag}= value has {len(text)} digits; at most {max_digits} are accepted"
        )
    return int(text)


def _tags(header: HeaderField) -> tuple[TagList | None, list[FieldProblem]]:
    try:
        tl = parse_tag_list(header.value)
    except GrammarError as exc:
        prefix = "mi" if header.lname == MI_NAME else "sig"
        return None, [FieldProblem(f"{prefix}.syntax", "syntax error", str(exc), "S06 §7, §8")]
    if not tl.duplicates:
        return tl, []
    prefix = "mi" if header.lname == MI_NAME else "sig"
    problems = [
        FieldProblem(
            f"{prefix}.syntax",
            "syntax error",
            f"tag {d}= appears more than once (each tag at most once)",
            "S06 §7" if prefix == "mi" else "S06 §8",
        )
        for d in dict.fromkeys(tl.duplicates)
    ]
    return tl, problems


def parse_message_instance(
    header: HeaderField, *, groups: bool = False
) -> tuple[MessageInstance | None, list[FieldProblem]]:
    """S06 §7: ``m=`` and ``h=`` REQUIRED, ``r=`` OPTIONAL.

    ``groups``: ``h=`` may hold ``|``-separated groups (-08; SPEC-09-NOTES 1.2)."""
    tl, problems = _tags(header)
    if tl is None:
        return None, problems
    tags = tl.tags
    for req in ("m", "h"):
        if req not in tags:
            problems.append(FieldProblem("mi.tag-missing", f"tag={req} missing", "", "S06 §7"))
    if problems:
        return None, problems
    try:
        instance = _number(tags["m"], "m", limits.MAX_NUMBER_DIGITS)
        if instance < 1:
            raise GrammarError("m= must be 1 or more")
    except GrammarError as exc:
        return None, [FieldProblem("mi.syntax", "syntax error", str(exc), "S06 §7.1")]
    hashes: list[HashSet] = []
    try:
        sets = _split_groups(tags["h"], "h=", groups=groups)
        if len(sets) > limits.MAX_HASH_SETS:
            raise GrammarError(f"h= has {len(sets)} hash sets; at most {limits.MAX_HASH_SETS}")
        for group, hs in sets:
            parts = hs.split(":")
            if len(parts) != 3:
                raise GrammarError(
                    f"h= entry '{hs.strip()[:40]}' is not hash-name:header-hash:body-hash"
                )
            name = parts[0].strip(" \t").lower()
            if name not in _PLAIN_NAMES and not _TEXTSTRING.match(name):
                raise GrammarError(f"h= hash name '{name[:20]}' is not a valid name")
            hh = canonical_base64string(parts[1]) or decode_base64string_compact(
                parts[1], f"h= {name} header hash"
            )
            bh = canonical_base64string(parts[2]) or decode_base64string_compact(
                parts[2], f"h= {name} body hash"
            )
            hashes.append(HashSet(name, hh[0], bh[0], hh[1], bh[1], group))
    except GrammarError as exc:
        return None, [FieldProblem("mi.syntax", "syntax error", str(exc), "S06 §7.3")]
    seen: set[str] = set()
    for hs_ in hashes:
        if hs_.algorithm in seen:
            return None, [
                FieldProblem(
                    "mi.duplicate-hash-algorithm",
                    "has a duplicate hash algorithm",
                    f"{hs_.algorithm} appears twice in h=",
                    "S06 §7.3",
                )
            ]
        seen.add(hs_.algorithm)
    for hs_ in hashes:
        expected = _HASH_OCTETS.get(hs_.algorithm)
        if expected and (len(hs_.header_hash) != expected or len(hs_.body_hash) != expected):
            return None, [
                FieldProblem(
                    "mi.syntax",
                    "syntax error",
                    f"{hs_.algorithm} hashes must be {expected} octets; got "
                    f"{len(hs_.header_hash)} and {len(hs_.body_hash)}",
                    "S06 §7.3",
                )
            ]
    recipe_b64 = recipe_bytes = None
    if "r" in tags:
        try:
            recipe = canonical_base64string(tags["r"]) or decode_base64string_compact(
                tags["r"], "r="
            )
        except GrammarError as exc:
            return None, [FieldProblem("mi.syntax", "syntax error", str(exc), "S06 §7.2")]
        recipe_bytes, recipe_b64 = recipe
        if len(recipe_bytes) > limits.MAX_RECIPE_JSON_BYTES:
            return None, [
                FieldProblem(
                    "limits.recipe-too-large",
                    "syntax error",
                    f"r= decodes to {len(recipe_bytes)} octets; the limit is "
                    f"{limits.MAX_RECIPE_JSON_BYTES}",
                )
            ]
    unknown = [n for n in tags if n not in _MI_KNOWN]
    return (
        MessageInstance(
            instance=instance,
            hashes=hashes,
            recipe_b64=recipe_b64,
            recipe_bytes=recipe_bytes,
            header=header,
            missing_final_semicolon=tl.missing_final_semicolon,
            unknown_tags=unknown,
        ),
        [],
    )


_HASH_OCTETS = {"sha256": 32, "sha512": 64}
_MI_KNOWN = frozenset(("m", "h", "r"))
_SIG_REQUIRED = ("i", "m", "t", "d", "s")
_SIG_KNOWN = frozenset(("i", "m", "t", "d", "s", "mf", "rt", "nd", "n", "f"))
#: All the tags a signature of each form needs (S06 §8).
_SIG_NEEDS_ND = frozenset((*_SIG_REQUIRED, "nd"))
_SIG_NEEDS_MF_RT = frozenset((*_SIG_REQUIRED, "mf", "rt"))


def parse_signature(
    header: HeaderField, *, allow_bare_addresses: bool = False, groups: bool = False
) -> tuple[Dkim2Signature | None, list[FieldProblem]]:
    """S06 §8: ``i= m= t= d= s=`` REQUIRED, and either ``nd=`` or ``mf=`` + ``rt=``.

    ``groups``: ``s=`` may hold ``|``-separated groups (-08; SPEC-09-NOTES 1.1)."""
    tl, problems = _tags(header)
    if tl is None:
        return None, problems
    tags = tl.tags
    keys = tags.keys()
    # The common case, no problem to find: all of one form's tags and none of the other's.
    if problems or not (
        (keys >= _SIG_NEEDS_ND and "mf" not in keys and "rt" not in keys)
        if "nd" in keys
        else keys >= _SIG_NEEDS_MF_RT
    ):
        problems.extend(_sig_tag_problems(tags))
    if problems:
        return None, problems
    return _parse_signature_tags(tl, header, allow_bare_addresses, groups)


def _sig_tag_problems(tags: dict[str, str]) -> list[FieldProblem]:
    """Required tags missing and the two forms mixed (S06 §8, §8.7), in S06's order."""
    problems: list[FieldProblem] = []
    for req in _SIG_REQUIRED:
        if req not in tags:
            problems.append(FieldProblem("sig.tag-missing", f"tag={req} missing", "", "S06 §8"))
    if "nd" in tags:
        for bad in ("mf", "rt"):
            if bad in tags:
                problems.append(
                    FieldProblem(
                        "sig.tag-unexpected",
                        f"tag={bad} was unexpected",
                        "nd= and mf=/rt= are alternatives; a signature carries one form",
                        "S06 §8.7",
                    )
                )
    else:
        for req in ("mf", "rt"):
            if req not in tags:
                problems.append(
                    FieldProblem(
                        "sig.tag-missing",
                        f"tag={req} missing",
                        "a signature needs either nd= or both mf= and rt=",
                        "S06 §8",
                    )
                )
    return problems


def _parse_signature_tags(
    tl: TagList, header: HeaderField, allow_bare_addresses: bool, groups: bool
) -> tuple[Dkim2Signature | None, list[FieldProblem]]:
    """The values of a signature whose tags are all there (S06 §8.1-§8.10)."""
    tags = tl.tags
    try:
        hop = _number(tags["i"], "i", limits.MAX_NUMBER_DIGITS)
        inst = _number(tags["m"], "m", limits.MAX_NUMBER_DIGITS)
        ts = _number(tags["t"], "t", limits.MAX_TIMESTAMP_DIGITS)
        if hop < 1 or inst < 1:
            raise GrammarError("i= and m= must be 1 or more")
        domain = parse_domain(tags["d"], "d=")
        sig_sets = _parse_sig_sets(tags["s"], groups=groups)
        mail_from = rcpt_to = None
        nd = None
        bare = False
        if "nd" in tags:
            nd = parse_domain(tags["nd"], "nd=")
        else:
            mail_from = _b64_path(tags["mf"], "mf=", True, allow_bare_addresses)
            entries = tags["rt"].split(",")
            if len(entries) > limits.MAX_RECIPIENTS:
                raise GrammarError(
                    f"rt= lists {len(entries)} recipients; at most {limits.MAX_RECIPIENTS}"
                )
            rcpt_to = [_b64_path(e, "rt= entry", False, allow_bare_addresses) for e in entries]
            bare = not mail_from.bracketed or False in [r.bracketed for r in rcpt_to]
        nonce = None
        if "n" in tags:
            nonce = tags["n"]
            if not _NONCE.match(nonce):
                raise GrammarError("n= contains a character outside %x21-3A / %x3C-7E")
            if len(nonce) > limits.MAX_NONCE_CHARS:
                raise GrammarError(
                    f"n= is {len(nonce)} characters long; it MUST NOT exceed "
                    f"{limits.MAX_NONCE_CHARS} (S06 §8.3)"
                )
        flags: list[str] = []
        if "f" in tags:
            for flag in tags["f"].split(","):
                flag = flag.strip(" \t")
                if not _TEXTSTRING.match(flag):
                    raise GrammarError(f"f= flag '{flag[:20]}' is not a valid flag name")
                flags.append(flag.lower())
    except GrammarError as exc:
        return None, [FieldProblem("sig.syntax", "syntax error", str(exc), "S06 §8")]
    if len(sig_sets) > 1:  # one entry repeats nothing
        problem = _repeated_selectors(sig_sets)
        if problem is not None:
            return None, [problem]
    return (
        Dkim2Signature(
            hop=hop,
            instance=inst,
            timestamp=ts,
            domain=domain,
            sig_sets=sig_sets,
            mail_from=mail_from,
            rcpt_to=rcpt_to,
            next_domain=nd,
            nonce=nonce,
            flags=flags,
            header=header,
            missing_final_semicolon=tl.missing_final_semicolon,
            bare_addresses=bare,
            unknown_tags=[n for n in tags if n not in _SIG_KNOWN],
        ),
        [],
    )


def _repeated_selectors(sig_sets: list[SigSet]) -> FieldProblem | None:
    """S06 §8.9 / §11.2: a selector MUST NOT repeat; an algorithm at most twice
    (SPEC-NOTES Annex C 3)."""
    selectors = [s.selector.lower() for s in sig_sets]
    dup = next((s for s in selectors if selectors.count(s) > 1), None)
    if dup is not None:
        return FieldProblem(
            "sig.duplicate-selector",
            "has a duplicate selector",
            f"selector {dup} appears more than once in s=",
            "S06 §8.9",
        )
    algs = [s.algorithm for s in sig_sets]
    many = next((a for a in algs if algs.count(a) > 2), None)
    if many is not None:
        return FieldProblem(
            "sig.too-many-selectors",
            "has more selectors than allowed",
            f"algorithm {many} appears {algs.count(many)} times in s= (at most twice)",
            "S06 §8.9, §11.2",
        )
    return None


def _b64_path(value: str, what: str, allow_null: bool, allow_bare: bool) -> Address:
    """``mf=`` or an ``rt=`` entry: a base64string of a reverse-path or Forward-path."""
    hit = canonical_base64string(value)
    if hit is not None and hit[0].isascii():  # ASCII decodes the same as UTF-8
        plain = plain_address(hit[0].decode("ascii"))
        if plain is not None:
            return plain
    text = _b64_text(value, what, hit)
    return parse_address(text, what, allow_null=allow_null, allow_bare=allow_bare)


def _b64_text(value: str, what: str, hit: tuple[bytes, str] | None) -> str:
    """The UTF-8 text of a base64string; ``hit``: its :func:`canonical_base64string`."""
    raw = decode_base64string(value, what) if hit is None else hit[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GrammarError(f"{what} does not decode to UTF-8 text") from exc


def _split_groups(value: str, tag: str, *, groups: bool) -> list[tuple[int, str]]:
    """The entries of ``s=`` or ``h=`` with their group numbers.

    -06: entries separated by ``,``.  -08 (SPEC-09-NOTES 1.1, 1.2; four implementations):
    ``|`` separates alternative groups, ``,`` joins the entries of one group.  Under -06 a
    ``|`` is a syntax error, said in words a signer's developer can act on.
    """
    if "|" not in value:
        return [(0, entry) for entry in value.split(",")]
    if not groups:
        item = "1.1" if tag == "s=" else "1.2"
        raise GrammarError(
            f"{tag} contains '|', which separates signature and hash groups only from -08 "
            f"(SPEC-09-NOTES {item}); the rules of this revision read it as a malformed entry"
        )
    out: list[tuple[int, str]] = []
    parts = value.split("|")
    for g, group in enumerate(parts, 1):
        if not group.strip(" \t\r\n"):
            raise GrammarError(f"{tag} group {g} is empty")
        # Groups are numbered from 1; 0 says the value has no groups.
        out.extend((g if len(parts) > 1 else 0, entry) for entry in group.split(","))
    return out


def _parse_sig_sets(value: str, *, groups: bool = False) -> list[SigSet]:
    """``sig-set = selector [FWS] ":" [FWS] sig-name [FWS] ":" message-sig`` (S06 §8.9),
    in ``|``-separated groups from -08."""
    # One entry, no groups: what _split_groups gives, without building it.
    entries = (
        [(0, value)]
        if "," not in value and "|" not in value
        else _split_groups(value, "s=", groups=groups)
    )
    if len(entries) > limits.MAX_SIG_SETS:
        raise GrammarError(f"s= has {len(entries)} entries; at most {limits.MAX_SIG_SETS}")
    out: list[SigSet] = []
    for group, entry in entries:
        parts = entry.split(":")
        if len(parts) != 3:
            raise GrammarError(
                f"s= entry '{entry.strip()[:40]}' is not selector:algorithm:signature"
            )
        selector = parse_selector(parts[0])
        alg = parts[1].strip(" \t").lower()
        if alg not in _PLAIN_NAMES and not _TEXTSTRING.match(alg):
            raise GrammarError(f"s= algorithm '{alg[:20]}' is not a valid name")
        sig_text = parts[2]
        if not sig_text.strip(" \t"):
            raise GrammarError(f"s= entry for selector {selector} has no signature value")
        sig = canonical_base64string(sig_text) or decode_base64string_compact(
            sig_text, f"s= signature for selector {selector}"
        )
        out.append(SigSet(selector, alg, sig[0], sig[1], group))
    return out
