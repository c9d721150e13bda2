"""The admin cannot change an analysis's status: the sweep finds the analyses to run by
``finished_at IS NULL`` (migration 0009), so one set back to "queued" in the admin, keeping
its finished_at, would never run. Re-running is the service's (``analysis_rerun``)."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from dkim2web.reports import services
from dkim2web.reports.models import Analysis

pytestmark = pytest.mark.django_db


def test_the_admin_change_form_has_no_status_to_edit() -> None:
    analysis = services.analysis_submit(raw=b"From: a@example.org\r\n\r\nx\r\n", enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(status="done")
    admin = site._registry[Analysis]
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.create_superuser("root", password="root-pw-1")
    form_class = admin.get_form(request, analysis)
    assert "status" not in form_class.base_fields
    assert "status" in admin.get_readonly_fields(request, analysis)
