"""Messages whose DKIM2 verdict depends on the draft revision, for the web tests.

* :func:`auto_submitted_chain`: one hop, example.com, signed by -06 rules over a message that
  carries ``Auto-Submitted``.  -06 and -07 leave that field out of the header hash; -08 signs
  it again (SPEC-09-NOTES 1.8), so from -08 on the header hash no longer matches: -06 and
  -07 pass, -08 and -09 fail.
* :func:`grouped_chain`: one hop signed by -09 rules with ``|`` signature groups (ed1 and
  rsa1 together, or pq1 alone) and hash groups (sha256, or sha512): -08 and -09 pass.
"""

from __future__ import annotations

from typing import Any

from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.models import Analysis, AnalysisRun
from tests.support.chains import DEFAULT_HEADERS, Chain, Hop, build_chain, message

ENVELOPE = {"mail_from": "<alice@example.com>", "rcpt_to": ["<bob@example.net>"]}


def auto_submitted_chain() -> Chain:
    return build_chain(
        message([*DEFAULT_HEADERS, ("Auto-Submitted", "auto-generated")]),
        [Hop("example.com", ENVELOPE["mail_from"], ENVELOPE["rcpt_to"], revision="06")],
    )


def grouped_chain() -> Chain:
    return build_chain(
        message(),
        [
            Hop(
                "example.com",
                ENVELOPE["mail_from"],
                ENVELOPE["rcpt_to"],
                revision="09",
                selectors=("ed1", "rsa1"),
                selector_groups=[["pq1"]],
                hash_groups=[["sha256"], ["sha512"]],
            )
        ],
    )


def run_now(analysis: Analysis, chain: Chain) -> AnalysisRun:
    """Run the queued ``analysis`` here with the chain's keys and clock; the run."""
    run = services.analysis_run(
        analysis_id=analysis.pk, lookup=StaticResolver(chain.zone), now=chain.now
    )
    analysis.refresh_from_db()
    assert run is not None, analysis.error
    return run


def analysed(chain: Chain, *, owner: Any = None, revision: str = "auto") -> Analysis:
    """The chain's message stored (with its envelope) and analysed under ``revision``."""
    analysis = services.analysis_submit(
        raw=chain.message, owner=owner, revision=revision, enqueue=False, **ENVELOPE
    )
    run_now(analysis, chain)
    return analysis
