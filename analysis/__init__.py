"""dkim2web's DKIM2 engine: verify, reconstruct, sign, explain.

Plain Python with no I/O of its own: keys come through an injected
:class:`KeyLookup`.  Implements draft-ietf-dkim-dkim2-spec-06 as digested in
SPEC-NOTES.md; see :mod:`analysis.verify` for the theory of operation.

Exceptions: the engine raises only for programming errors and for input that
cannot be analysed at all is reported as findings instead.  The exception tree
of the public helpers::

    ValueError
    ├── GrammarError      (analysis.grammar)  a value does not match the DKIM2 ABNF
    ├── RecipeError       (analysis.recipes)  a recipe is invalid or cannot be applied
    ├── KeyRecordError    (analysis.keys)     a TXT record is not a usable key
    └── SigningError      (analysis.sign)     a message cannot be signed as asked
"""

from __future__ import annotations

from .findings import Finding, Severity, State, Step
from .lookup import KeyAnswer, KeyLookup, KeyQuery, LookupStatus, RecordingLookup
from .report import ChainReport, Envelope, HopReport, Instance, InstanceDiff
from .verify import DRAFT, ENGINE_VERSION, Options, Prepared, analyze, prepare, verify_prepared

__all__ = [
    "DRAFT",
    "ENGINE_VERSION",
    "ChainReport",
    "Envelope",
    "Finding",
    "HopReport",
    "Instance",
    "InstanceDiff",
    "KeyAnswer",
    "KeyLookup",
    "KeyQuery",
    "LookupStatus",
    "Options",
    "Prepared",
    "RecordingLookup",
    "Severity",
    "State",
    "Step",
    "analyze",
    "prepare",
    "verify_prepared",
]
