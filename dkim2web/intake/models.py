"""The mailbox: personal intake addresses, deliveries, and what each delivery became."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from dkim2web.reports.models import Analysis


class IntakeAddress(models.Model):
    """``a-<token>@<DKIM2WEB_INTAKE_DOMAIN>``: mail to it is analysed for ``user``.

    Rotating revokes the address (mail to it is refused at RCPT time from then on) and
    makes a new one; revoked rows are kept so the page can list them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="intake_addresses"
    )
    token = models.CharField(max_length=64, unique=True)  # lower-case hex
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.address

    @property
    def local_part(self) -> str:
        return f"a-{self.token}"

    @property
    def address(self) -> str:
        return f"{self.local_part}@{settings.DKIM2WEB_INTAKE_DOMAIN}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Delivery(models.Model):
    """One message accepted for one owner, with the envelope it arrived with.

    One SMTP transaction for recipients of several owners becomes one Delivery per owner;
    each keeps only its owner's recipients (another owner's address is a secret token).
    """

    class Protocol(models.TextChoices):
        SMTP = "smtp", "SMTP"
        LMTP = "lmtp", "LMTP"

    class Reply(models.TextChoices):
        PENDING = "pending", "waiting for the analysis"
        SENDING = "sending", "being sent"
        SENT = "sent", "sent"
        SKIPPED = "skipped", "not sent"
        FAILED = "failed", "could not be sent"
        OFF = "off", "replies are turned off"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="intake_deliveries"
    )
    address = models.ForeignKey(
        IntakeAddress, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    protocol = models.CharField(max_length=4, choices=Protocol.choices, default=Protocol.SMTP)
    mail_from = models.TextField(blank=True)  # reverse-path with brackets, "<>" for null
    rcpt_to = models.JSONField(default=list)  # this owner's forward-paths, as given
    other_recipients = models.PositiveIntegerField(default=0)  # other owners' in the same DATA
    client_ip = models.CharField(max_length=64, blank=True)
    client_port = models.PositiveIntegerField(null=True, blank=True)
    helo = models.TextField(blank=True)  # the HELO/EHLO/LHLO name the client gave
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    reply_state = models.CharField(
        max_length=8, choices=Reply.choices, default=Reply.PENDING, db_index=True
    )
    reply_to = models.TextField(blank=True)
    reply_detail = models.TextField(blank=True)  # why sent or not, in words
    replied_at = models.DateTimeField(null=True, blank=True)
    # When a process claimed the answer (pending -> sending): one that stays "sending" long
    # after this, the sender died mid-send (services.deliveries_reply_pending settles it).
    reply_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-received_at",)
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.mail_from} -> {', '.join(self.rcpt_to)} ({self.received_at:%Y-%m-%d %H:%M})"


class IntakePart(models.Model):
    """How an analysis came out of a delivery: the delivered message, or an original in it."""

    class Kind(models.TextChoices):
        DIRECT = "direct", "delivered directly"
        WRAPPER = "wrapper", "a forward with attached originals"
        ATTACHED = "attached", "an original attached to a forward"
        INLINE = "inline", "a forward made inline"
        DSN = "dsn", "a bounce (DSN)"
        RETURNED = "returned", "the message returned in a bounce"

    analysis = models.OneToOneField(Analysis, on_delete=models.CASCADE, related_name="intake")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="parts")
    # The analysis this one was found inside (none for the delivered message itself).
    parent = models.ForeignKey(
        Analysis,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="intake_children",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    mime_part = models.CharField(max_length=64, blank=True)  # "2", "2.1": where it was found
    transfer_encoding = models.CharField(max_length=32, blank=True)  # undone to get the bytes
    notes = models.JSONField(default=list, blank=True)  # finding-like notes for the page
    dsn = models.JSONField(null=True, blank=True)  # {"status": ..., "verdict": ...}

    class Meta:
        ordering = ("delivery", "mime_part")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.analysis_id})"


class ReplyLog(models.Model):
    """One answer the intake sent, or set out to send, to one address.

    The per-address daily cap and the once-per-Message-ID rule are counted here, in the
    database, so every intake process and worker shares them. A row is taken before the
    answer goes out, by an INSERT the unique constraints decide: slot ``n`` of an address's
    UTC day is taken once, and ``thread_key`` (the message's Message-ID, hashed) once per
    address, whichever process asks first.
    """

    recipient = models.CharField(max_length=254)  # the answered address, lower-cased
    day = models.DateField()  # the UTC day the answer was taken for
    slot = models.PositiveSmallIntegerField()  # 1 .. DKIM2WEB_INTAKE_REPLIES_PER_DAY
    thread_key = models.CharField(max_length=64, blank=True)  # sha256 of the Message-ID
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="reply_logs"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.UniqueConstraint(
                fields=("recipient", "day", "slot"), name="intake_replylog_one_per_slot"
            ),
            models.UniqueConstraint(
                fields=("recipient", "thread_key"),
                condition=~models.Q(thread_key=""),
                name="intake_replylog_one_per_message",
            ),
        )

    def __str__(self) -> str:
        return f"{self.recipient} {self.day} #{self.slot}"
