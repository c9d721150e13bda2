"""The DNS lookup the web app hands the engine (the default of ``DKIM2_KEY_LOOKUP``): DKIM
keys for DKIM2, DKIM1 and ARC, and the SPF and DMARC records.

Questions about the demo domains (``*.example``, RFC 2606: reserved, never delegated) are
answered by the samples' static zone, so the gallery works offline and no query for a demo
name ever leaves the machine; everything else goes to real DNS through
:class:`analysis.dns.DnsResolver`, with Django's cache as its answer cache (shared by the
processes when the cache is, e.g. Redis; per process with the default LocMem cache).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches

from analysis.dns import DnsResolver, InMemoryTtlCache, TieredAnswerCache
from analysis.lookup import DnsAnswer, DnsQuery, KeyAnswer, KeyQuery
from analysis.resolvers import StaticResolver
from dkim2web.samples.keys import demo_zone

CACHE_ALIAS = "default"

# This process's own copy of recent answers, in front of Django's (shared) cache: see
# analysis.dns.TieredAnswerCache. Each worker process has its own after the fork.
_near_cache = InMemoryTtlCache()


def clear_near_cache() -> None:
    """Forget this process's copies (tests; the shared cache is Django's to clear)."""
    _near_cache.clear()


class AppDnsLookup:
    """Demo domains from the static demo zone, the rest from DNS. One instance per analysis."""

    def __init__(
        self, *, demo: StaticResolver | None = None, resolver: DnsResolver | None = None
    ) -> None:
        self.demo = demo if demo is not None else demo_zone()
        self.resolver = resolver if resolver is not None else dns_resolver()

    def lookup_many(self, queries: list[KeyQuery]) -> dict[KeyQuery, KeyAnswer]:
        demo = [q for q in queries if self.demo.serves(q)]
        others = [q for q in queries if not self.demo.serves(q)]
        answers: dict[KeyQuery, KeyAnswer] = {}
        if demo:
            answers.update(self.demo.lookup_many(demo))
        if others:
            answers.update(self.resolver.lookup_many(others))
        return answers

    def resolve_many(
        self, queries: list[DnsQuery], *, time_left: float | None = None
    ) -> dict[DnsQuery, DnsAnswer]:
        demo = [q for q in queries if self.demo.serves(q)]
        others = [q for q in queries if not self.demo.serves(q)]
        answers: dict[DnsQuery, DnsAnswer] = {}
        if demo:
            answers.update(self.demo.resolve_many(demo))
        if others:
            answers.update(self.resolver.resolve_many(others, time_left=time_left))
        return answers


def dns_resolver() -> DnsResolver:
    """The resolver the settings describe (``DKIM2WEB_DNS_*``), caching in this process and
    in Django's cache."""
    return DnsResolver(
        nameservers=settings.DKIM2WEB_DNS_SERVERS or None,
        port=settings.DKIM2WEB_DNS_PORT,
        timeout=settings.DKIM2WEB_DNS_TIMEOUT_SECONDS,
        budget=settings.DKIM2WEB_DNS_BUDGET_SECONDS,
        cache=TieredAnswerCache(caches[CACHE_ALIAS], near=_near_cache),
    )
