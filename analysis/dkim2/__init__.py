"""The DKIM2 engine: verify, reconstruct, sign (draft-ietf-dkim-dkim2-spec-06).

One mechanism of :mod:`analysis`, beside DKIM1, ARC, SPF and DMARC.  The walk's theory of
operation is in :mod:`analysis.dkim2.verify`; the revision rules it applies are digested in
SPEC-NOTES.md.  Keys come through an injected :class:`~analysis.lookup.KeyLookup`.

Exceptions: the engine raises only for programming errors; input that cannot be analysed
is reported as findings instead.  The exception tree of the public helpers::

    ValueError
    ├── GrammarError      (analysis.dkim2.grammar)  a value does not match the DKIM2 ABNF
    ├── RecipeError       (analysis.dkim2.recipes)  a recipe is invalid or cannot be applied
    ├── KeyRecordError    (analysis.dkim2.keys)     a TXT record is not a usable key
    └── SigningError      (analysis.dkim2.sign)     a message cannot be signed as asked
"""

from __future__ import annotations

from .report import ChainReport, Envelope, HopReport, Instance, InstanceDiff
from .verify import DRAFT, ENGINE_VERSION, Options, Prepared, analyze, prepare, verify_prepared

__all__ = [
    "DRAFT",
    "ENGINE_VERSION",
    "ChainReport",
    "Envelope",
    "HopReport",
    "Instance",
    "InstanceDiff",
    "Options",
    "Prepared",
    "analyze",
    "prepare",
    "verify_prepared",
]
