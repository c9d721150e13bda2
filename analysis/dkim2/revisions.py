"""The DKIM2 revisions as data: every rule that differs between -06, -07, -08 and -09.

Theory of operation
-------------------
A :class:`Revision` is a profile: one value per rule that changed after -06, and the source of
each value.  The walk (:mod:`analysis.dkim2.verify` and the modules it calls) reads the
profile it is given and never compares revision numbers itself, so a later revision is a new
entry in :data:`REVISIONS` plus tests, not a hunt through the checks.

Standing of the sources.  Only -06 is public text (SPEC-NOTES.md, "S06").  The text of -07,
-08 and -09 was not available when this was written: their rules come from
``SPEC-09-NOTES.md``, a digest of four implementations' release notes and documentation
(mailauth 8.1.0, Mail::DKIM2 0.23-0.32, croessner/dkim2 v0.1.49-v0.3.0, Stalwart mail-auth
0.14/0.15).  Each rule names its item there and how many implementations report it; a rule
one implementation reports is a lead, and the report says "as implemented by ..." rather than
"as the draft says" (:attr:`Source.provisional`).

Where the sources are silent on *when* a rule arrived, the choice made is written beside the
rule (``since``), e.g. the unknown algorithm that makes its group PERMERROR: SPEC-09-NOTES
1.3 heads it "-09 (perhaps -08)"; the only -08 implementation (Stalwart 0.15) already has the
error, and groups arrived in -08, so it is placed in -08.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from .canonical import UNSIGNED_FIELDS_S06, UNSIGNED_PREFIXES_S06

#: The revision an up-to-date receiver follows; ``auto`` judges by it.
NEWEST = "09"
#: Every revision the engine knows, oldest first.
ORDER = ("06", "07", "08", "09")
#: The choices offered to users (CLI, API, page).
CHOICES = ("auto", *ORDER)


@dataclass(frozen=True)
class Source:
    """Where a rule comes from."""

    cite: str  # "S06 §4" or "SPEC-09-NOTES 1.8"
    #: Implementations that report it (None: the draft text itself).
    implementations: tuple[str, ...] = ()

    @property
    def provisional(self) -> bool:
        """Second-hand: taken from implementations, not from draft text."""
        return bool(self.implementations)

    def text(self) -> str:
        if not self.implementations:
            return self.cite
        n = len(self.implementations)
        return (
            f"{self.cite}, as implemented by {', '.join(self.implementations)} "
            f"({n} source{'s' if n != 1 else ''}; draft text not public)"
        )


S06 = "draft-ietf-dkim-dkim2-spec-06"


@dataclass(frozen=True)
class Revision:
    """The rules of one revision.  Field names are the rule ids (see :data:`RULES`)."""

    number: str  # "06"
    draft: str  # "draft-ietf-dkim-dkim2-spec-06"
    #: The draft text was available to this engine (False: second-hand, SPEC-09-NOTES).
    text_public: bool
    # -- rules ---------------------------------------------------------------------------
    #: Fields left out of the header hash (besides those under ``unsigned_prefixes``).
    unsigned_fields: frozenset[str]
    unsigned_prefixes: tuple[str, ...]
    #: ``|`` separates alternative groups in ``s=`` and ``h=``; ``,`` joins a group whose
    #: entries must all pass.  False: one group, ``|`` is a syntax error.
    groups: bool
    #: An entry with an algorithm the verifier does not know: "ignored" (S06 §3.4) or
    #: "permerror" for its group.
    unknown_algorithm: Literal["ignored", "permerror"]
    #: Signature algorithms a verifier of this revision implements (anything else is unknown).
    signature_algorithms: frozenset[str]
    #: The ``donotmodify``/``donotexplode`` requests are checked (False: they mean nothing).
    request_flags: bool
    #: A null body recipe (``"b": null``): "policy" (allowed, earlier bodies unknown) or
    #: "permerror".
    null_body: Literal["policy", "permerror"]
    #: Recipe step kinds: "c"/"d" (-06) or also "u" (literal octets as base64, -07).
    recipe_grammar: Literal["06", "07"]
    #: A ``t=`` in the future: "note" (verifiers MAY ignore the signature) or "permerror".
    future_timestamp: Literal["note", "permerror"]
    #: The inter-hop custody check has its own failure strings (False: S06's borrowed one).
    custody_strings: bool
    #: The From domain must be Authentic for the d= of the hop that introduced it.
    from_authentic: bool
    #: The state of a broken envelope binding or chain of custody, a timestamp out of
    #: range and a From that is not Authentic: "permerror" (-06, -07) or "fail" (-08).
    custody_state: Literal["permerror", "fail"]
    #: The names of the verification levels: -06 has only pass; -07 "Validly Signed" and
    #: "Provisionally Verified"; -08 "Fully Verified" and "Provisionally Verified".
    verification_levels: Literal["pass", "validly-provisionally", "fully-provisionally"]
    #: A hop may sign a message that already carries DKIM2 only after it fully verified.
    resign_only_verified: bool
    #: ``exploded`` is never set on a first signature.
    exploded_not_first: bool
    #: Where each rule's value in this revision comes from.
    sources: dict[str, Source] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        """How the revision is named to readers: "-09"."""
        return f"-{self.number}"

    def is_unsigned(self, lname: str) -> bool:
        """True when a field (lower-cased name) is left out of the header hash."""
        return lname in self.unsigned_fields or lname.startswith(self.unsigned_prefixes)

    def source(self, rule: str) -> Source:
        return self.sources.get(rule, Source(f"{self.draft}"))

    def to_json(self) -> dict[str, object]:
        return {
            "revision": self.number,
            "draft": self.draft,
            "text_public": self.text_public,
            "rules": {r.id: _json_value(getattr(self, r.id)) for r in RULES},
        }


def _json_value(v: object) -> object:
    if isinstance(v, frozenset):
        return sorted(v)
    if isinstance(v, tuple):
        return list(v)
    return v


@dataclass(frozen=True)
class Rule:
    """One rule that differs between revisions, in plain words."""

    id: str  # a Revision field name
    title: str
    #: False for rules that change words or notes but never a verdict.
    affects_verdict: bool = True


RULES: tuple[Rule, ...] = (
    Rule("unsigned_fields", "which header fields the header hash leaves out"),
    Rule("unsigned_prefixes", "which header field name prefixes the header hash leaves out"),
    Rule("groups", "signature and hash groups (',' all must pass, '|' alternatives)"),
    Rule("unknown_algorithm", "what an unknown algorithm does to its signature"),
    Rule("signature_algorithms", "which signature algorithms a verifier implements"),
    Rule("request_flags", "the donotmodify and donotexplode requests"),
    Rule("null_body", 'whether a null body recipe ("b": null) is allowed'),
    Rule("recipe_grammar", 'the recipe grammar (the "u" step, stricter invalid JSON)'),
    Rule("future_timestamp", "whether a timestamp in the future is an error"),
    Rule("custody_strings", "the failure string of the inter-hop custody check", False),
    Rule("from_authentic", "whether the From domain must be Authentic for the signing domain"),
    Rule(
        "custody_state",
        "whether a custody, envelope, timestamp or From-Authentic failure is FAIL or PERMERROR",
    ),
    Rule("verification_levels", "the names of verification results (Fully/Provisionally)", False),
    Rule("resign_only_verified", "whether a hop may sign over a chain that did not verify", False),
    Rule("exploded_not_first", "whether a first signature may carry f=exploded", False),
)
RULE_IDS = tuple(r.id for r in RULES)
#: The rules whose value can change a verdict (the others change words or notes).
VERDICT_RULES = frozenset(r.id for r in RULES if r.affects_verdict)
RULE_TITLES = {r.id: r.title for r in RULES}

_S08_UNSIGNED = UNSIGNED_FIELDS_S06 - {"auto-submitted", "vbr-info"}

# Sources, once each (SPEC-09-NOTES item numbers; implementations by their short names).
_MA = "mailauth 8.1.0"
_MA805 = "mailauth 8.0.5"
_MD = "Mail::DKIM2"
_CR = "croessner/dkim2"
_SW = "Stalwart mail-auth"

_S06_SOURCES = {
    "unsigned_fields": Source("S06 §4, §4.1, §6.2"),
    "unsigned_prefixes": Source("S06 §4"),
    "groups": Source("S06 §8.9, §11.6 (every checkable signature must pass; SPEC-NOTES A15)"),
    "unknown_algorithm": Source("S06 §3.4 (unknown algorithms MUST be ignored)"),
    "signature_algorithms": Source("S06 §3.2, §3.3"),
    "request_flags": Source("S06 §8.10, §11.8"),
    "null_body": Source("S06 §5.2 (local policy; SPEC-NOTES A39)"),
    "recipe_grammar": Source("S06 §5 (SPEC-NOTES A7, A8, A12)"),
    "future_timestamp": Source("S06 §8.4 (verifiers MAY ignore the signature)"),
    "custody_strings": Source("S06 §9.2, §9.4 (no string of its own; SPEC-NOTES Annex C 1)"),
    "from_authentic": Source("S06 (no such rule)"),
    "verification_levels": Source("S06 §11.1 (pass/fail/permerror/temperror)"),
    "custody_state": Source("S06 §11.3, §11.4 (PERMERROR strings)"),
    "resign_only_verified": Source("S06 §9 (no such rule)"),
    "exploded_not_first": Source("S06 §8.10 (no such rule)"),
}
_S07_SOURCES = {
    **_S06_SOURCES,
    "request_flags": Source("SPEC-09-NOTES 1.5 (-07 §10.10)", (_MA, _CR, _SW)),
    "recipe_grammar": Source("SPEC-09-NOTES 1.9 (-07 §5)", (_MD + " 0.23",)),
    "future_timestamp": Source("SPEC-09-NOTES 1.13 (SignatureFromFuture)", (_SW + " 0.14",)),
    "custody_strings": Source(
        "SPEC-09-NOTES 1.13 (CustodyMailFromMismatch, CustodyDomainMismatch)", (_SW + " 0.14",)
    ),
    "verification_levels": Source(
        'SPEC-09-NOTES 1.11; -07 §13.1 "Validly Signed", "Provisionally Verified" '
        "(Stalwart 0.14 output.rs)",
        (_SW + " 0.14",),
    ),
    "from_authentic": Source(
        "SPEC-09-NOTES 1.7 (headed -09; placed in -07 because Stalwart 0.14, a -07 "
        "implementation, already requires every From to be Authentic for a pass and has "
        "FromNotAuthentic; mailauth 8.1.0 and Mail::DKIM2 0.30 report it for -09)",
        (_SW + " 0.14", _MA, _MD + " 0.30"),
    ),
}
_S08_SOURCES = {
    **_S07_SOURCES,
    "unsigned_fields": Source("SPEC-09-NOTES 1.8 (-08 §4.1)", (_MA805, _CR + " v0.1.49")),
    "groups": Source("SPEC-09-NOTES 1.1, 1.2", (_MA, _MD, _CR, _SW + " 0.15")),
    "unknown_algorithm": Source(
        "SPEC-09-NOTES 1.3 (headed '-09, perhaps -08'; placed in -08 because groups arrived "
        "in -08 and the only -08 implementation reports UnknownAlgorithm)",
        (_MA, _SW + " 0.15"),
    ),
    "signature_algorithms": Source(
        "SPEC-09-NOTES 1.4 (pure ML-DSA-44, k=mldsa44)", (_SW + " 0.15", _CR + " v0.1.49")
    ),
    "verification_levels": Source(
        'SPEC-09-NOTES 1.11; -08 §13.2 "Fully Verified", "Provisionally Verified"',
        (_SW + " 0.15", _CR + " v0.1.49"),
    ),
    "custody_state": Source(
        "Stalwart mail-auth 0.15 output.rs: envelope and custody mismatches, timestamps out of "
        "range and a From that is not Authentic are FAIL (PermError in 0.14); not in "
        "SPEC-09-NOTES",
        (_SW + " 0.15",),
    ),
    "resign_only_verified": Source("SPEC-09-NOTES 1.12 (-08 §12)", (_MA, _SW + " 0.14/0.15")),
}
_S09_SOURCES = {
    **_S08_SOURCES,
    "null_body": Source("SPEC-09-NOTES 1.6 (-09 §13, §14.2)", (_MA, "Authentication-Milter")),
    "exploded_not_first": Source("SPEC-09-NOTES 1.14 (-09 §12.5)", (_MD + " 0.32",)),
}

REVISIONS: dict[str, Revision] = {
    "06": Revision(
        number="06",
        draft=S06,
        text_public=True,
        unsigned_fields=UNSIGNED_FIELDS_S06,
        unsigned_prefixes=UNSIGNED_PREFIXES_S06,
        groups=False,
        unknown_algorithm="ignored",
        signature_algorithms=frozenset({"rsa-sha256", "ed25519-sha256"}),
        request_flags=True,
        null_body="policy",
        recipe_grammar="06",
        future_timestamp="note",
        custody_strings=False,
        from_authentic=False,
        custody_state="permerror",
        verification_levels="pass",
        resign_only_verified=False,
        exploded_not_first=False,
        sources=_S06_SOURCES,
    ),
}
REVISIONS["07"] = dataclasses.replace(
    REVISIONS["06"],
    number="07",
    draft="draft-ietf-dkim-dkim2-spec-07",
    text_public=False,
    request_flags=False,
    recipe_grammar="07",
    future_timestamp="permerror",
    custody_strings=True,
    from_authentic=True,
    verification_levels="validly-provisionally",
    sources=_S07_SOURCES,
)
REVISIONS["08"] = dataclasses.replace(
    REVISIONS["07"],
    number="08",
    draft="draft-ietf-dkim-dkim2-spec-08",
    unsigned_fields=_S08_UNSIGNED,
    groups=True,
    unknown_algorithm="permerror",
    signature_algorithms=frozenset({"rsa-sha256", "ed25519-sha256", "mldsa44"}),
    custody_state="fail",
    verification_levels="fully-provisionally",
    resign_only_verified=True,
    sources=_S08_SOURCES,
)
REVISIONS["09"] = dataclasses.replace(
    REVISIONS["08"],
    number="09",
    draft="draft-ietf-dkim-dkim2-spec-09",
    null_body="permerror",
    exploded_not_first=True,
    sources=_S09_SOURCES,
)

#: Every signature algorithm any revision knows (which keys are worth fetching).
ALL_SIGNATURE_ALGORITHMS = frozenset().union(*(r.signature_algorithms for r in REVISIONS.values()))


def get(number: str) -> Revision:
    """The revision named ``number`` ("06", "-06", "09", "draft-ietf-dkim-dkim2-spec-09")."""
    key = number.strip().lower().removeprefix("draft-ietf-dkim-dkim2-spec").lstrip("-")
    if key not in REVISIONS:
        raise KeyError(f"unknown DKIM2 revision {number!r}; known: {', '.join(ORDER)}")
    return REVISIONS[key]


def differing_rules(a: Revision, b: Revision) -> list[str]:
    """The rule ids whose values differ between ``a`` and ``b``, in :data:`RULES` order."""
    return [r for r in RULE_IDS if getattr(a, r) != getattr(b, r)]


def hybrid(base: Revision, rule: str, donor: Revision) -> Revision:
    """``base`` with one rule taken from ``donor`` (to find the rule that splits a verdict)."""
    return dataclasses.replace(
        base,
        number=f"{base.number}+{donor.number}:{rule}",
        **{rule: getattr(donor, rule)},
        sources={**base.sources, rule: donor.source(rule)},
    )
