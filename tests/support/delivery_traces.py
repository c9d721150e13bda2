"""Real-shaped Received traces for the delivery-time tests (engine, page and browser).

Each message is written newest field first, as each system prepends its own.  The
signatures are unsigned stand-ins (``b=AA==``): the delivery-time section reads their
position and their ``d=``, ``i=`` and ``t=`` tags, never their cryptography.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def message(*fields: str, subject: str = "x") -> bytes:
    return ("".join(f + "\r\n" for f in fields) + f"Subject: {subject}\r\n\r\nbody\r\n").encode()


# From origin.example through the list lists.example.org to a mailbox at inbox.example.net,
# whose store (Microsoft 365-shaped) seals it with ARC as microsoft.com.  Written 09:57:45
# UTC; the list's outbound queue holds it 4 min 12 s (more than half of the 4 min 29 s total).
THROUGH_THE_LIST = message(
    "Received: from DM6PR01MB0001.namprd01.prod.outlook.com (2603:10b6:5:1::1) by"
    " BN9PR01MB0002.namprd01.prod.outlook.com with HTTPS; Tue, 3 Mar 2026 10:02:14 +0000",
    "ARC-Seal: i=2; a=rsa-sha256; s=arcselector; d=microsoft.com; t=1772532133; cv=pass; b=AA==",
    "ARC-Message-Signature: i=2; a=rsa-sha256; d=microsoft.com; s=arcselector; h=from; bh=A=;"
    " b=AA==",
    "ARC-Authentication-Results: i=2; mx.microsoft.com 1; dkim=pass",
    "Received: from mail.lists.example.org (mail.lists.example.org [198.51.100.7]) by"
    " mx.inbox.example.net (Postfix) with ESMTPS id 4Qx; Tue, 3 Mar 2026 10:02:13 +0000",
    "DKIM2-Signature: i=2; m=2; d=lists.example.org; t=1772532130; mf=bounces@lists.example.org;"
    " rt=bob@inbox.example.net; s=s1; b=AA==",
    "DKIM-Signature: v=1; a=rsa-sha256; d=lists.example.org; s=s1; t=1772532130; h=from;"
    " bh=A=; b=AA==",
    "Received: from lists.example.org (localhost [127.0.0.1]) by mail.lists.example.org"
    " (Postfix) with ESMTP id 77A; Tue, 3 Mar 2026 09:58:01 +0000",
    "ARC-Seal: i=1; a=rsa-sha256; s=s1; d=lists.example.org; t=1772531870; cv=none; b=AA==",
    "ARC-Message-Signature: i=1; a=rsa-sha256; d=lists.example.org; s=s1; h=from; bh=A=; b=AA==",
    "ARC-Authentication-Results: i=1; mail.lists.example.org; dkim=pass",
    "Received: from mail-sor-f41.origin.example (mail-sor-f41.origin.example [203.0.113.41])"
    " by mail.lists.example.org with ESMTPS id 12B for <ops@lists.example.org>;"
    " Tue, 3 Mar 2026 09:57:48 +0000",
    "DKIM2-Signature: i=1; m=1; d=origin.example; t=1772531867; mf=alice@origin.example;"
    " rt=ops@lists.example.org; s=s1; b=AA==",
    "DKIM-Signature: v=1; a=rsa-sha256; d=origin.example; s=s1; t=1772531867; h=from;"
    " bh=A=; b=AA==",
    "Received: by mail-sor-f41.origin.example with SMTP id abc;"
    " Tue, 3 Mar 2026 01:57:47 -0800 (PST)",
    "Date: Tue, 3 Mar 2026 10:57:45 +0100",
    "From: Alice <alice@origin.example>",
    subject="Relay certificates change on Saturday",
)


def long_trace(hops: int, *, start: datetime | None = None) -> bytes:
    """``hops`` Received fields between relays r0.example ... (each a few seconds after the
    one below it, hop 7 after a ten-minute queue), a DKIM1 signature added by the system of
    every third hop, and a Date two seconds before the first stamp."""
    when = start or datetime(2026, 3, 3, 10, 0, 0, tzinfo=UTC)
    stamps = []
    for k in range(1, hops + 1):
        when += timedelta(seconds=600 if k == 7 else 1 + k % 4)
        stamps.append(when)
    fields: list[str] = []
    for k in range(hops, 0, -1):
        fields.append(
            f"Received: from r{k - 1}.example (r{k - 1}.example [192.0.2.{k % 250 + 1}]) by"
            f" r{k}.example with ESMTPS id q{k}; {stamps[k - 1]:%a, %d %b %Y %H:%M:%S} +0000"
        )
        if k % 3 == 1:
            fields.append(
                f"DKIM-Signature: v=1; a=rsa-sha256; d=r{k - 1}.example; s=s; h=from; bh=A=; b=AA=="
            )
    first = stamps[0] - timedelta(seconds=2)
    fields.append(f"Date: {first:%a, %d %b %Y %H:%M:%S} +0000")
    return message(*fields)
