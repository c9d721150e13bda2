"""``manage.py analyze_sample``: every sample's verdict in the terminal, offline."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dkim2web.reports.models import Analysis
from dkim2web.samples.gallery import SAMPLES


@pytest.mark.django_db
def test_it_prints_every_samples_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("analyze_sample")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [s.slug for s in SAMPLES]
    assert lines[0] == (
        "clean-list: Trusted: a DKIM2 signature by origin.example vouches for origin.example, "
        "so DMARC passes; origin.example should keep signing with DKIM1 too, for receivers that "
        "do not count DKIM2 yet."
    )
    assert lines[2] == (
        "replayed: Not trusted: it was delivered to a recipient that forwarder.example, the "
        "last signer, never sent it to, so receivers are asked to reject it; a forwarder that "
        "changed the recipients must sign again after doing so, otherwise treat the message as "
        "replayed."
    )
    assert Analysis.objects.filter(status=Analysis.Status.DONE).count() == len(SAMPLES)


@pytest.mark.django_db
def test_enqueue_prints_the_ids_and_leaves_the_work_to_the_queue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    call_command("analyze_sample", "expired", "--enqueue")
    (line,) = capsys.readouterr().out.splitlines()
    slug, analysis_id = line.split()
    assert slug == "expired"
    assert Analysis.objects.get(pk=analysis_id).filename == "sample-expired.eml"


def test_list_names_the_samples(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("analyze_sample", "--list")
    assert capsys.readouterr().out.splitlines()[0] == (
        "clean-list\tA clean chain through a mailing list"
    )


def test_an_unknown_sample_is_an_error() -> None:
    with pytest.raises(CommandError, match="no sample 'nope' \\(known: clean-list, "):
        call_command("analyze_sample", "nope")
