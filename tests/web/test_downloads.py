"""Downloads: the raw message (exact bytes), each rebuilt instance, the JSON report, and the
Authentication-Results field (draft-gondwana-dkim2-authres-00, checked against the draft's
own examples)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analysis.resolvers import StaticResolver
from dkim2web.reports import services
from dkim2web.reports.models import Analysis

CLOCK = 1790000180.0
EXAMPLE = "vectors/worked-example"


@pytest.fixture
def done(alice: Any, shared_dir: Path) -> Analysis:
    zone = {}
    for line in (shared_dir / EXAMPLE / "dns-records.txt").read_text().splitlines():
        name, record = re.fullmatch(r'(\S+?)\.? IN TXT "(.*)"', line).groups()
        zone[name] = record
    raw = (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()
    stored = services.analysis_submit(raw=raw, filename="list mail.eml", owner=alice, enqueue=False)
    services.analysis_run(
        analysis_id=stored.pk, lookup=StaticResolver(zone, clock=lambda: CLOCK), now=CLOCK
    )
    stored.refresh_from_db()
    assert stored.status == Analysis.Status.DONE, stored.error
    return stored


# --- the raw message and the instances --------------------------------------------------------


@pytest.mark.django_db
def test_the_raw_message_downloads_as_the_exact_bytes(
    done: Analysis, alice_client: Client, shared_dir: Path
) -> None:
    response = alice_client.get(reverse("reports:raw", args=[done.pk]))
    assert response.status_code == 200
    assert response.content == (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == 'attachment; filename="list mail.eml"'
    assert response["Content-Length"] == str(len(response.content))


@pytest.mark.django_db
def test_bytes_that_are_not_utf8_and_lf_line_ends_come_back_unchanged(
    alice: Any, alice_client: Client
) -> None:
    raw = b"Subject: \xff\xfe caf\xe9\n\nbody without final newline"
    stored = services.analysis_submit(raw=raw, filename="", owner=alice, enqueue=False)
    response = alice_client.get(reverse("reports:raw", args=[stored.pk]))
    assert response.content == raw
    assert response["Content-Disposition"] == f'attachment; filename="{stored.pk}.eml"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        ("../../etc/passwd", 'attachment; filename="passwd.eml"'),
        ('a"b.eml', 'attachment; filename="ab.eml"'),
        ("C:\\mail\\x.EML", 'attachment; filename="x.EML"'),
        ("café.eml", "attachment; filename*=utf-8''caf%C3%A9.eml"),
    ],
)
def test_the_download_name_is_the_uploaded_name_made_safe(
    alice: Any, alice_client: Client, filename: str, disposition: str
) -> None:
    stored = services.analysis_submit(
        raw=b"A: b\r\n\r\n", filename=filename, owner=alice, enqueue=False
    )
    response = alice_client.get(reverse("reports:raw", args=[stored.pk]))
    assert response["Content-Disposition"] == disposition


@pytest.mark.django_db
def test_instance_1_is_what_the_originator_signed(
    done: Analysis, alice_client: Client, shared_dir: Path
) -> None:
    response = alice_client.get(reverse("reports:instance", args=[done.pk, 1]))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="{done.pk}-m1.eml"'
    # The rebuilt m=1 carries every DKIM2 field of the received message (recipes leave them
    # alone); the rest is the originator's message, byte for byte.
    final = (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()
    original = (shared_dir / EXAMPLE / "hop1-originator.eml").read_bytes()
    dkim2_fields = final[: final.index(b"List-Id:")]
    assert response.content == dkim2_fields + original[original.index(b"From:") :]


@pytest.mark.django_db
def test_instance_2_is_the_message_as_received(
    done: Analysis, alice_client: Client, shared_dir: Path
) -> None:
    response = alice_client.get(reverse("reports:instance", args=[done.pk, 2]))
    assert response.content == (shared_dir / EXAMPLE / "hop2-list-final.eml").read_bytes()


@pytest.mark.django_db
def test_an_instance_that_does_not_exist_is_404(done: Analysis, alice_client: Client) -> None:
    assert alice_client.get(reverse("reports:instance", args=[done.pk, 3])).status_code == 404


# --- the JSON report ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_json_report_is_the_stored_report(done: Analysis, alice_client: Client) -> None:
    response = alice_client.get(reverse("reports:report_json", args=[done.pk]))
    run = done.runs.get()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{done.pk}.json"'
    assert json.loads(response.content) == run.report
    assert (
        response.content == (json.dumps(run.report, indent=2, ensure_ascii=False) + "\n").encode()
    )


@pytest.mark.django_db
def test_no_report_before_the_first_run(alice: Any, alice_client: Client) -> None:
    stored = services.analysis_submit(raw=b"A: b\r\n\r\n", owner=alice, enqueue=False)
    assert alice_client.get(reverse("reports:report_json", args=[stored.pk])).status_code == 404
    assert alice_client.get(reverse("reports:authres", args=[stored.pk])).status_code == 404


# --- Authentication-Results -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_ar_download_is_the_field_for_the_run(done: Analysis, alice_client: Client) -> None:
    response = alice_client.get(reverse("reports:authres", args=[done.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{done.pk}-authentication-results.txt"'
    )
    # Every method: the upload has no Received field (no SPF client), no DKIM1 or ARC, and
    # example.com publishes no DMARC record in the test zone.
    assert response.content == (
        b"Authentication-Results: testserver;\r\n"
        b"  spf=none (no client address known);\r\n"
        b"  dkim=none;\r\n"
        b"  arc=none;\r\n"
        b"  dmarc=none header.from=example.com;\r\n"
        b"  dkim2=pass (-09 rules) (i=1 example.com pass,\r\n"
        b"   i=2 lists.example.org pass) header.d=example.com\r\n"
    )
