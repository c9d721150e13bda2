"""Answers nobody can aim (issue #11, findings 3 and 7): real SMTP on loopback.

An answer goes only to the MAIL FROM the delivery proves, copies only what the proof covers,
reaches an address at most DKIM2WEB_INTAKE_REPLIES_PER_DAY times a day and once per
Message-ID, and is decided from the finished analysis without a DNS question of its own.

The loopback client here is either a stranger (it connects itself) or the trusted MTA in
front of the intake (``DKIM2WEB_INTAKE_TRUSTED_RELAYS``), which relays news.example's letter
after recording news.example's server, 192.0.2.60 (in its SPF record), in a Received field.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email import message_from_bytes
from typing import Any

import pytest
from django.core import mail

from dkim2web.intake import services, tasks
from dkim2web.intake.models import Delivery, ReplyLog
from dkim2web.intake.testing import newsletter, relayed, running_intake
from dkim2web.reports import services as report_services
from dkim2web.reports.models import Analysis
from dkim2web.samples.keys import demo_zone

pytestmark = pytest.mark.django_db(transaction=True)

BOUNCES = "bounces@news.example"


@pytest.fixture
def address(alice: Any) -> str:
    return services.intake_address_get_or_create(user=alice).address


@pytest.fixture
def behind_the_mta(settings: Any) -> None:
    settings.DKIM2WEB_INTAKE_TRUSTED_RELAYS = ["127.0.0.1"]


def _send_all(items: Sequence[tuple[bytes, str]], *, rcpt: str, **server: Any) -> list[Delivery]:
    """Deliver each (message, MAIL FROM) in turn; the deliveries, oldest first."""
    server.setdefault("inline_analysis", True)
    with running_intake(**server) as intake:
        for raw, mail_from in items:
            with smtplib.SMTP("127.0.0.1", intake.port, timeout=30) as conn:
                assert conn.sendmail(mail_from, [rcpt], raw) == {}
            assert intake.wait_idle()
    return list(Delivery.objects.order_by("received_at"))


def _send(raw: bytes, *, mail_from: str, rcpt: str) -> Delivery:
    [delivery] = _send_all([(raw, mail_from)], rcpt=rcpt)
    return delivery


# -- finding 3: the mailbox aimed at the From: person -----------------------------------------


def test_a_dkim1_signed_newsletter_resent_by_a_stranger_is_not_answered(address: str) -> None:
    delivery = _send(newsletter(), mail_from="mallory@relay.example", rcpt=address)
    assert mail.outbox == []  # before the fix: an answer to letters@news.example
    assert (delivery.reply_state, delivery.reply_to) == ("skipped", "")
    assert delivery.reply_detail == (
        "the delivery does not prove the address <mallory@relay.example>: the message carries "
        "no DKIM2 signature; SPF for relay.example is fail, not pass, at 127.0.0.1 (the client "
        "that connected)"
    )


def test_the_stranger_naming_the_authors_address_as_mail_from_is_not_answered(
    address: str,
) -> None:
    delivery = _send(newsletter(), mail_from="letters@news.example", rcpt=address)
    assert mail.outbox == [] and delivery.reply_state == "skipped"
    assert delivery.reply_detail.endswith(
        "SPF for news.example is fail, not pass, at 127.0.0.1 (the client that connected)"
    )


def test_the_answer_goes_to_the_mail_from_the_delivery_proves(
    address: str, behind_the_mta: None
) -> None:
    delivery = _send(relayed(newsletter()), mail_from=BOUNCES, rcpt=address)
    assert delivery.reply_state == "sent", delivery.reply_detail
    [reply] = mail.outbox
    assert reply.to == [BOUNCES]  # the proven MAIL FROM, not the From: letters@news.example
    assert delivery.reply_to == f"<{BOUNCES}>"
    assert delivery.reply_detail == (
        "a DKIM1 signature (d=news.example) passed for the From domain news.example, and SPF "
        "passed for <bounces@news.example> at 192.0.2.60, the client the trusted MTA in front "
        "recorded"
    )
    analysis = Analysis.objects.get()
    assert (analysis.client_ip, analysis.helo) == ("", "")  # the engine read the MTA's record
    assert Delivery.objects.get().client_ip == "127.0.0.1"


def test_without_the_trusted_mta_setting_its_received_field_proves_nothing(address: str) -> None:
    delivery = _send(relayed(newsletter()), mail_from=BOUNCES, rcpt=address)
    assert mail.outbox == [] and delivery.reply_state == "skipped"
    assert delivery.reply_detail.endswith(
        "SPF for news.example is fail, not pass, at 127.0.0.1 (the client that connected)"
    )


def test_a_prepended_subject_does_not_reach_the_answer(address: str, behind_the_mta: None) -> None:
    # news.example signed Subject once; a Subject added above it leaves the signature valid.
    raw = relayed(b"Subject: Your account is locked\r\n" + newsletter(subject="Weekly letter"))
    delivery = _send(raw, mail_from=BOUNCES, rcpt=address)
    assert delivery.reply_state == "sent", delivery.reply_detail
    [reply] = mail.outbox
    verdict = Analysis.objects.get().runs.get().result.upper()
    assert reply.subject == f"DKIM2 report ({verdict}): Weekly letter"
    assert reply.body.startswith("Your message “Weekly letter” reached dkim2web on ")
    assert b"locked" not in reply.message().as_bytes()


# -- at most a few answers per address and day, one per Message-ID ----------------------------


def test_an_address_gets_at_most_the_days_answers(
    address: str, behind_the_mta: None, settings: Any
) -> None:
    settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY = 3
    letters = [(relayed(newsletter(msgid=f"l{n}@news.example")), BOUNCES) for n in range(4)]
    deliveries = _send_all(letters, rcpt=address)
    assert [d.reply_state for d in deliveries] == ["sent", "sent", "sent", "skipped"]
    assert len(mail.outbox) == 3
    assert deliveries[3].reply_detail.endswith(
        ", but <bounces@news.example> has had 3 answers today (UTC), the most "
        "DKIM2WEB_INTAKE_REPLIES_PER_DAY allows; this delivery's report is on the intake page "
        "of the address's owner, and answers to this address resume tomorrow"
    )
    assert ReplyLog.objects.filter(recipient=BOUNCES).count() == 3


def test_an_address_is_answered_once_per_message_id(address: str, behind_the_mta: None) -> None:
    letter = relayed(newsletter(msgid="weekly-48@news.example"))
    first, second = _send_all([(letter, BOUNCES), (letter, BOUNCES)], rcpt=address)
    assert (first.reply_state, second.reply_state) == ("sent", "skipped")
    assert len(mail.outbox) == 1
    assert second.reply_detail.endswith(
        ", but <bounces@news.example> was already answered about the message "
        "<weekly-48@news.example>, and an address gets one answer per Message-ID; the report "
        "is on the intake page of the address's owner"
    )


def test_the_default_is_three_answers_a_day(settings: Any) -> None:
    del settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY
    assert services.replies_per_day() == 3


def _reserve(delivery: Delivery, to: str, key: str) -> str | None:
    return services._reply_reserve(delivery=delivery, to=to, thread_key=key)


def test_the_count_is_per_address_and_a_message_without_id_still_counts(
    address: str, alice: Any, settings: Any
) -> None:
    settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY = 2
    delivery = Delivery.objects.create(owner=alice, mail_from=f"<{BOUNCES}>")
    assert _reserve(delivery, f"<{BOUNCES}>", "") is None
    assert _reserve(delivery, "<BOUNCES@news.example>", "") is None  # one address, any case
    assert "has had 2 answers today" in (_reserve(delivery, f"<{BOUNCES}>", "<m@x.example>") or "")
    assert _reserve(delivery, "<bob@forwarder.example>", "<m@x.example>") is None


def test_two_processes_taking_the_same_slot_are_decided_by_the_database(
    alice: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DKIM2WEB_INTAKE_REPLIES_PER_DAY = 2
    delivery = Delivery.objects.create(owner=alice, mail_from=f"<{BOUNCES}>")
    assert _reserve(delivery, f"<{BOUNCES}>", "<a@news.example>") is None
    # Another process counted before this one's insert landed: it asks for slot 1 again.
    real_filter = ReplyLog.objects.filter

    class StaleCount:
        def __init__(self, qs: Any) -> None:
            self.qs = qs

        def count(self) -> int:
            return 0

        def exists(self) -> bool:
            return bool(self.qs.exists())

    monkeypatch.setattr(ReplyLog.objects, "filter", lambda **kw: StaleCount(real_filter(**kw)))
    assert _reserve(delivery, f"<{BOUNCES}>", "<b@news.example>") is None  # took slot 2
    assert "has had 2 answers today" in (_reserve(delivery, f"<{BOUNCES}>", "<c@x.example>") or "")
    monkeypatch.undo()
    assert sorted(ReplyLog.objects.values_list("slot", flat=True)) == [1, 2]


# -- finding 7: the reply path asks DNS nothing ---------------------------------------------


def test_the_answer_asks_no_dns_question_of_its_own(
    address: str, behind_the_mta: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = demo_zone()  # records every question it is asked
    monkeypatch.setattr(report_services, "key_lookup_from_settings", lambda: zone)
    _send_all(
        [(relayed(newsletter()), BOUNCES)],
        rcpt=address,
        store=lambda **kw: services.delivery_store(**{**kw, "enqueue": False}),
    )
    delivery = Delivery.objects.get()
    analysis = Analysis.objects.get()
    # The worker asks every DNS question; its hook would answer at once, so it is held back
    # and the answer is made below, with every way to DNS closed.
    monkeypatch.setattr(tasks.reply_to_sender, "delay", lambda *args: None)
    report_services.analysis_run(analysis_id=analysis.pk)
    asked = [str(a.query) for a in zone.dns_answers]
    assert asked.count("demo1._domainkey.news.example TXT") == 1
    evidence = analysis.runs.get().document["dns"]
    assert [e["purposes"] for e in evidence if e["name"] == "demo1._domainkey.news.example"] == [
        ["dkim1 key"]
    ]

    def no_dns(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the reply path asked DNS")

    import dns.resolver

    # Every way to DNS is closed: the app's lookup, dnspython (which dkimpy's get_txt uses),
    # and the network guard of tests/conftest.py for anything else.
    monkeypatch.setattr(report_services, "key_lookup_from_settings", no_dns)
    monkeypatch.setattr(dns.resolver.Resolver, "resolve", no_dns)
    monkeypatch.setattr(dns.resolver, "resolve", no_dns)
    assert Delivery.objects.get().reply_state == "pending"
    assert services.delivery_reply(delivery_id=delivery.pk) == "sent"
    assert [str(a.query) for a in zone.dns_answers] == asked  # not one question more
    assert mail.outbox[-1].to == [BOUNCES]


# -- CVE-2024-6923 and CVE-2023-27043 in the answer ------------------------------------------


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        ("Here's an =?UTF-8?Q?embedded_newline=0A?=", "Here's an embedded newline"),
        ("=?UTF-8?Q?hi=0D=0ABcc:_victim@inbox.example?=", "hi Bcc: victim@inbox.example"),
    ],
)
def test_a_subject_carrying_a_newline_gives_one_header_line(
    address: str, behind_the_mta: None, subject: str, shown: str
) -> None:
    delivery = _send(relayed(newsletter(subject=subject)), mail_from=BOUNCES, rcpt=address)
    assert delivery.reply_state == "sent", delivery.reply_detail
    [reply] = mail.outbox
    assert reply.subject.endswith(f": {shown}")
    assert reply.recipients() == [BOUNCES]
    generated = message_from_bytes(reply.message().as_bytes())
    assert sorted(generated.keys()) == sorted(
        [
            "Content-Type",
            "MIME-Version",
            "Content-Transfer-Encoding",
            "Subject",
            "From",
            "To",
            "Date",
            "Message-ID",
            "Auto-Submitted",
            "X-Auto-Response-Suppress",
            "In-Reply-To",
            "References",
        ]
    )


@pytest.mark.parametrize("joint", [")", "(", "<", "@", "[", "]", ",", ":", ";"])
def test_a_mail_from_shaped_like_cve_2023_27043_never_aims_the_answer_at_its_second_address(
    address: str, behind_the_mta: None, joint: str
) -> None:
    # Whatever the SMTP server makes of it (a 501, or aiosmtpd reading "(..." as a comment
    # and keeping the first address), the answer goes only to an address the delivery
    # proves: never to the second one.
    mail_from = f"{BOUNCES}{joint}<victim@inbox.example>"
    with running_intake(inline_analysis=True) as intake:
        with smtplib.SMTP("127.0.0.1", intake.port, timeout=30) as conn:
            conn.ehlo()
            if conn.docmd(f"MAIL FROM:<{mail_from}>")[0] == 250:
                assert conn.rcpt(address)[0] == 250
                assert conn.data(relayed(newsletter()))[0] == 250
        assert intake.wait_idle()
    assert all(reply.recipients() == [BOUNCES] for reply in mail.outbox)
    assert all(d.mail_from == f"<{BOUNCES}>" for d in Delivery.objects.all())


# -- several processes at once, on PostgreSQL -------------------------------------------------

RACE = """
import threading
from django.contrib.auth import get_user_model
from django.db import connection
from dkim2web.intake import services
from dkim2web.intake.models import Delivery, ReplyLog

user = get_user_model().objects.create_user("race", "race@x.example", "race-pw-1")
delivery = Delivery.objects.create(owner=user, mail_from="<b@news.example>")


def race(to, keys):
    barrier = threading.Barrier(len(keys))
    results = []

    def one(key):
        barrier.wait()
        try:
            results.append(services._reply_reserve(delivery=delivery, to=to, thread_key=key))
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(r is None for r in results)


print("distinct", race("<b@news.example>", [f"<m{n}@news.example>" for n in range(8)]))
print("same", race("<c@news.example>", ["<one@news.example>"] * 8))
print("rows", ReplyLog.objects.count())
"""


@pytest.mark.postgres
def test_processes_answering_at_once_share_the_count_on_postgresql(
    require_postgres: str,
) -> None:
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    repo = Path(__file__).resolve().parent.parent.parent
    name = f"dkim2web_test_{secrets.token_hex(6)}"
    with psycopg.connect(require_postgres, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(require_postgres)._replace(path=f"/{name}"))
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(DATABASE_URL=url, DJANGO_SECRET_KEY="test-only", DJANGO_DEBUG="0")
    try:
        for args in (["migrate", "--noinput"], ["shell", "--no-imports", "-c", RACE]):
            done = subprocess.run(
                [sys.executable, "-W", "error", "manage.py", *args],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
    finally:
        with psycopg.connect(require_postgres, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    # Eight processes at once: three answers for one address (the day's cap), one for one
    # Message-ID.
    assert done.stdout.split("\n")[-4:] == ["distinct 3", "same 1", "rows 4", ""]
