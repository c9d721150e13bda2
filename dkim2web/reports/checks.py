"""System checks of the reports app: settings that would otherwise fail every analysis."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register


@register()
def dns_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """``DKIM2WEB_DNS_*`` make a valid resolver: caught at start, not as failed analyses."""
    from .lookup import dns_resolver

    try:
        dns_resolver()
    except ValueError as exc:
        return [
            Error(
                f"The DNS settings are invalid: {exc}.",
                hint="Check DKIM2WEB_DNS_SERVERS, DKIM2WEB_DNS_PORT, "
                "DKIM2WEB_DNS_TIMEOUT_SECONDS and DKIM2WEB_DNS_BUDGET_SECONDS.",
                id="dkim2web.E001",
            )
        ]
    return []
