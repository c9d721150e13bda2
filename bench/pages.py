"""Page timings of the result page for a 5-hop analysis (issue #3).

Builds a 5-hop chain with the demo keys (every hop after the first changes the message),
stores and analyses it in a throwaway SQLite database, then requests its result page
(and the status partial, and the JSON report) 100 times each:

* in-process through Django's test client (server time only), and
* over HTTP against ``manage.py runserver`` on a loopback port (what a browser waits for,
  minus the network).

Prints p50/p95/max per page.  Loopback only; bounded in count.

Usage: python bench/pages.py [--requests N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def five_hop_chain(now: int) -> tuple[bytes, str, list[str]]:
    from analysis.dkim2.sign import sign
    from dkim2web.samples.keys import signing_key

    body = "".join(
        f"Line {n} of a weekly status report, with some words in it.\r\n" for n in range(400)
    )
    msg = (
        "From: Alice <alice@origin.example>\r\nTo: team@lists.example\r\n"
        "Subject: Weekly status\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <bench-pages@origin.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()
    route = [
        "origin.example",
        "lists.example",
        "forwarder.example",
        "relay.example",
        "news.example",
    ]
    for hop, domain in enumerate(route):
        previous = msg
        if hop:
            msg = msg.replace(b"Subject: ", f"Subject: [{domain}] ".encode(), 1)
            msg += f"-- \r\nfooter added by {domain}\r\n".encode()
        nxt = route[hop + 1] if hop + 1 < len(route) else "inbox.example"
        msg = sign(
            msg,
            domain=domain,
            keys=[signing_key(domain)],
            timestamp=now - 600 + hop * 60,
            mail_from=f"<bounce@{domain}>",
            rcpt_to=[f"<user@{nxt}>"],
            previous=previous if hop else None,
        ).message
    return msg, "<bounce@news.example>", ["<user@inbox.example>"]


def percentiles(samples: list[float]) -> str:
    s = sorted(samples)
    p50 = statistics.median(s)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    return f"p50 {p50 * 1e3:7.2f} ms   p95 {p95 * 1e3:7.2f} ms   max {s[-1] * 1e3:7.2f} ms"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="dkim2web-bench-")
    env = {
        "DJANGO_SETTINGS_MODULE": "dkim2web.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "DKIM2_KEY_LOOKUP": "dkim2web.samples.keys.DemoDnsLookup",
        # Plain HTTP on loopback (DEBUG off turns HTTPS redirects on), and no rate limit on
        # the hundreds of requests made here.
        "DKIM2WEB_SECURE": "0",
        "DKIM2WEB_RATE_SHARE_LINKS": "off",
        "DKIM2WEB_WHITENOISE": "0",  # static files as in `make run`: no collectstatic needed
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from dkim2web.reports import services

    call_command("migrate", verbosity=0)
    raw, mail_from, rcpt_to = five_hop_chain(int(time.time()))
    analysis = services.analysis_submit(
        raw=raw, filename="five-hops.eml", mail_from=mail_from, rcpt_to=rcpt_to, enqueue=False
    )
    run = services.analysis_run(analysis_id=analysis.pk)
    assert run is not None, "the analysis did not run"
    print(
        f"5-hop analysis: {len(raw)} octets, result {run.result}, "
        f"{len(run.report['dkim2']['hops'])} hops, {len(run.report['dkim2']['diffs'])} diffs"
    )

    # The result page is owner-only: make the visitor the owner through a session.
    client = Client()
    session = client.session
    session["anon_analyses"] = [str(analysis.pk)]
    session.save()
    pages = {
        "result page": reverse("reports:detail", args=[analysis.pk]),
        "status partial": reverse("reports:status", args=[analysis.pk]),
        "JSON report": reverse("reports:report_json", args=[analysis.pk]),
    }
    print(f"in-process (Django test client), {args.requests} requests each")
    for name, url in pages.items():
        times = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
        print(f"  {name:15} {percentiles(times)}")

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--nothreading",
        ],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("runserver did not start") from None
                time.sleep(0.2)
        cookie = f"sessionid={session.session_key}"
        print(f"over HTTP (runserver on 127.0.0.1:{port}), {args.requests} requests each")
        for name, url in pages.items():
            times = []
            for _ in range(args.requests):
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{url}", headers={"Cookie": cookie}
                )
                start = time.perf_counter()
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                    assert response.status == 200
                times.append(time.perf_counter() - start)
            print(f"  {name:15} {percentiles(times)}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
