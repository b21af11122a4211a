"""Paging latency: from an incident's commit to the page accepted by the receivers.

Run: ``.venv/bin/python bench/paging.py [--incidents 200]`` for the embedded default
(throw-away SQLite, filesystem broker), or with ``DATABASE_URL`` and ``REDIS_URL`` set
for PostgreSQL and Redis (use a scratch database: the script migrates and fills it).
A real Celery worker runs in a thread; the on-call person has an e-mail and a signed
webhook contact method, pointed at a local SMTP server and a local HTTP server. Prints
p50 / p99 / max in milliseconds per channel. Goal: p99 under 1 s on Redis.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="hotline-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import logging

import django

django.setup()
logging.getLogger("mail.log").setLevel(logging.WARNING)

from celery.contrib.testing.worker import start_worker  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from config.celery import app as celery_app  # noqa: E402
from incidents import actions  # noqa: E402
from incidents.models import Service, Team  # noqa: E402
from oncall import actions as oncall_actions  # noqa: E402
from oncall.models import Roster  # noqa: E402
from tests.receivers import HttpReceiver, SmtpReceiver  # noqa: E402

accepted: dict[str, dict[str, float]] = {"smtp": {}, "webhook": {}}
arrived = threading.Condition()


def note(channel: str, key: str) -> None:
    with arrived:
        accepted[channel][key] = time.perf_counter()
        arrived.notify_all()


def timed_receivers() -> tuple[SmtpReceiver, HttpReceiver]:
    smtp = SmtpReceiver()
    inbox_handle = smtp.inbox.handle_DATA

    async def handle_data(server: object, session: object, envelope: Any) -> str:
        answer = await inbox_handle(server, session, envelope)
        for line in envelope.original_content.decode(errors="replace").splitlines():
            if line.lower().startswith("x-hotline-idempotency-key:"):
                note("smtp", line.split(":", 1)[1].strip())
        return answer

    # Wraps the receiver's handler to stamp the arrival time of each page.
    smtp.inbox.handle_DATA = handle_data  # type: ignore[method-assign]
    http = HttpReceiver()
    base = http.server.RequestHandlerClass

    class Timed(base):  # type: ignore[misc,valid-type]
        def do_POST(self) -> None:
            super().do_POST()
            note("webhook", self.headers["Idempotency-Key"])

    http.server.RequestHandlerClass = Timed
    return smtp, http


def setup(http: HttpReceiver) -> Service:
    call_command("migrate", verbosity=0)
    person, _ = User.objects.get_or_create(
        username="bench-im", defaults={"email": "im@example.com"}
    )
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    service, _ = Service.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "team": team}
    )
    roster, created = Roster.objects.get_or_create(
        slug="bench-im", defaults={"name": "Bench IM", "team": team, "start_date": date(2020, 1, 6)}
    )
    if created:
        oncall_actions.change_rotation(roster, by=person, participants=[person])
    person.contact_methods.all().delete()
    person.contact_methods.create(kind="email", target="im@example.com")
    person.contact_methods.create(kind="webhook", target=http.url, secret="bench")
    return service


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=200)
    args = parser.parse_args()
    smtp, http = timed_receivers()
    with smtp, http:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        settings.EMAIL_USE_TLS = False
        service = setup(http)
        reporter = User.objects.get(username="bench-im")
        latencies: dict[str, list[float]] = {"smtp": [], "webhook": []}
        with start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            for number in range(args.incidents):
                committed: list[float] = []

                def start_clock(committed: list[float] = committed) -> None:
                    committed.append(time.perf_counter())

                with transaction.atomic():
                    # Registered first, so it runs first after the commit: the clock starts
                    # when the incident is committed, before the task is even published.
                    transaction.on_commit(start_clock)
                    incident = actions.create_incident(
                        by=reporter,
                        summary=f"Bench {number}",
                        description="bench",
                        severity=1,
                        faulty_service=service,
                    )
                key = str(incident.pages.get().idempotency_key)
                with arrived:
                    arrived.wait_for(
                        lambda key=key: all(key in accepted[c] for c in latencies),  # type: ignore[misc]  # mypy cannot type a default-bound lambda
                        timeout=30,
                    )
                for channel, values in latencies.items():
                    if key in accepted[channel]:
                        values.append(accepted[channel][key] - committed[0])
    broker = "Redis" if settings.REDIS_URL else "filesystem (embedded)"
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"{args.incidents} severity-1 incidents, broker {broker}, database {database}")
    for channel, values in latencies.items():
        ms = [value * 1000 for value in values]
        print(
            f"  {channel:8} delivered {len(ms):4}  p50 {statistics.median(ms):7.1f} ms"
            f"  p99 {percentile(ms, 0.99):7.1f} ms  max {max(ms):7.1f} ms"
        )


if __name__ == "__main__":
    main()
