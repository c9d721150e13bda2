"""The DNS lookup the web paths use for corpus cases: ``DKIM2_KEY_LOOKUP`` pointed here
serves the zone of the case under test (the test-only setting ``DKIM2WEB_CORPUS_ZONE``),
and nothing else: every other name is NXDOMAIN, so no path asks the network."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from analysis.resolvers import StaticResolver

DOTTED_PATH = "tests.corpus.lookup.CorpusLookup"


class CorpusLookup:
    def __init__(self) -> None:
        self.zone = StaticResolver(getattr(settings, "DKIM2WEB_CORPUS_ZONE", {}))

    def lookup_many(self, queries: list[Any]) -> Any:
        return self.zone.lookup_many(queries)

    def resolve_many(self, queries: list[Any], *, time_left: float | None = None) -> Any:
        return self.zone.resolve_many(queries)
