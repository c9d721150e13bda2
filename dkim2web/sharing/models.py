"""Share links: a read-only view of one analysis for whoever holds the token.

The token is stored only as its SHA-256, like API tokens; the owner sees the full link once.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from dkim2web.reports.models import Analysis


class ShareLink(models.Model):
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)  # SHA-256 hex of the token
    prefix = models.CharField(max_length=8)  # the token's first characters, for the UI
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.prefix}… for {self.analysis_id}"

    def is_usable(self, *, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    @property
    def state(self) -> str:
        """ "active", "expired" or "revoked", for the owner's pages."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_usable() else "expired"
