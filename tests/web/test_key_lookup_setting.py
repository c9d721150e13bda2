"""The engine's key lookup is chosen by dotted path, like Django's EMAIL_BACKEND."""

from __future__ import annotations

from django.test import override_settings

from analysis.dns import DnsResolver
from analysis.resolvers import StaticResolver
from dkim2web.reports.lookup import AppDnsLookup
from dkim2web.reports.services import key_lookup_from_settings


def test_the_default_lookup_is_the_app_lookup_over_the_dns_resolver() -> None:
    lookup = key_lookup_from_settings()
    assert isinstance(lookup, AppDnsLookup)
    assert isinstance(lookup.resolver, DnsResolver)


@override_settings(DKIM2_KEY_LOOKUP="analysis.resolvers.StaticResolver")
def test_the_setting_names_the_class_to_instantiate() -> None:
    assert isinstance(key_lookup_from_settings(), StaticResolver)
