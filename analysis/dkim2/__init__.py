"""The DKIM2 engine: verify, reconstruct, sign (draft-ietf-dkim-dkim2-spec-06 to -09).

One mechanism of :mod:`analysis`, beside DKIM1, ARC, SPF and DMARC.  The walk's theory of
operation is in :mod:`analysis.dkim2.verify`; the rules that differ between revisions are data
in :mod:`analysis.dkim2.revisions`, and :mod:`analysis.dkim2.compare` judges one message under
several of them (:func:`analyze`, ``revision="auto"`` by default).  Keys come through an
injected :class:`~analysis.lookup.KeyLookup`.

Exceptions: the engine raises only for programming errors; input that cannot be analysed
is reported as findings instead.  The exception tree of the public helpers::

    ValueError
    ├── GrammarError      (analysis.dkim2.grammar)  a value does not match the DKIM2 ABNF
    ├── RecipeError       (analysis.dkim2.recipes)  a recipe is invalid or cannot be applied
    ├── KeyRecordError    (analysis.dkim2.keys)     a TXT record is not a usable key
    └── SigningError      (analysis.dkim2.sign)     a message cannot be signed as asked
"""

from __future__ import annotations

from .compare import Plan, analyze, plan, verify_plan
from .report import ChainReport, Envelope, HopReport, Instance, InstanceDiff
from .revisions import CHOICES as REVISION_CHOICES
from .revisions import NEWEST, REVISIONS, Revision
from .verify import DRAFT, ENGINE_VERSION, Options, Prepared, prepare, verify_prepared

__all__ = [
    "DRAFT",
    "ENGINE_VERSION",
    "NEWEST",
    "REVISIONS",
    "REVISION_CHOICES",
    "ChainReport",
    "Envelope",
    "HopReport",
    "Instance",
    "InstanceDiff",
    "Options",
    "Plan",
    "Prepared",
    "Revision",
    "analyze",
    "plan",
    "prepare",
    "verify_plan",
    "verify_prepared",
]
