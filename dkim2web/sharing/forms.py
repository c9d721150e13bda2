from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from .services import EXPIRY_DAYS_CHOICES, MAX_DAYS


def _day_label(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


class ShareLinkForm(forms.Form):
    days = forms.TypedChoiceField(coerce=int, label="Expires after")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import, so the setting can change (and tests can change it).
        default = settings.DKIM2WEB_SHARE_DEFAULT_DAYS
        field = self.fields["days"]
        days = {*EXPIRY_DAYS_CHOICES, default} if 1 <= default <= MAX_DAYS else EXPIRY_DAYS_CHOICES
        field.choices = [(d, _day_label(d)) for d in sorted(days)]
        field.initial = default if default in days else EXPIRY_DAYS_CHOICES[1]
