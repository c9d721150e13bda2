"""Users see their own analyses and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from dkim2web.reports import selectors, services
from dkim2web.reports.models import Analysis


@pytest.mark.django_db
def test_alice_sees_her_analysis_and_bob_does_not(alice: Any, bob: Any) -> None:
    mine = services.analysis_submit(raw=b"x", owner=alice, enqueue=False)
    services.analysis_submit(raw=b"y", enqueue=False)  # from the CLI: nobody's

    assert list(selectors.analysis_list_for_user(user=alice)) == [mine]
    assert selectors.analysis_get_for_user(analysis_id=mine.pk, user=alice) == mine
    with pytest.raises(Analysis.DoesNotExist):
        selectors.analysis_get_for_user(analysis_id=mine.pk, user=bob)
    with pytest.raises(Analysis.DoesNotExist):
        selectors.analysis_get_for_user(analysis_id=mine.pk, user=AnonymousUser())
    assert list(selectors.analysis_list_for_user(user=AnonymousUser())) == []
