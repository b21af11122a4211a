"""A worker SIGKILLed mid-delivery: its page is sent again within 15 s, same key.

Real processes: a beat and two ``celery -A config worker`` processes over Redis, the
test's PostgreSQL database, a local HTTP receiver that holds the first request (the
delivery in flight when the worker dies). Nothing is tuned for the test: the lease,
its heartbeat and the sweep run with the settings production runs with.
"""

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from oncall.models import ContactMethod, Page, PageState
from tests.conftest import requires_postgres, wait_for
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident

pytestmark = [
    pytest.mark.django_db(transaction=True),
    requires_postgres,
    pytest.mark.skipif(
        not django_settings.REDIS_URL, reason="needs the real Redis broker (set REDIS_URL)"
    ),
]

RESEND_WITHIN_SECONDS = 15


class HoldFirstReceiver:
    """Records when each POST arrives and its headers; holds the first one unanswered
    (until ``release``), answers the others 200 at once."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.arrivals.append((time.monotonic(), dict(self.headers.items())))
                    first = len(receiver.arrivals) == 1
                if first:
                    receiver.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # the worker that sent it is dead

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/page"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def __enter__(self) -> "HoldFirstReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _env() -> dict[str, str]:
    database = django_settings.DATABASES["default"]["NAME"]
    return {
        **os.environ,
        # The subprocesses use the test database, not the one DATABASE_URL names.
        "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + database,
    }


def _start(*arguments: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "config", *arguments, "-l", "WARNING"]
    return subprocess.Popen(
        command, env=_env(), cwd=django_settings.BASE_DIR, start_new_session=True
    )


def _worker() -> subprocess.Popen:
    return _start(
        "worker",
        "--pool=solo",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_a_page_held_by_a_killed_worker_is_resent_within_15_s_with_the_same_key(
    tmp_path, make_roster
):
    team = TeamFactory(slug="payments", name="Payments")
    roster = make_roster("payments-im", people=["pia"], team=team, start_date=date(2020, 1, 6))
    person = roster.participants.get().user
    processes = []
    with HoldFirstReceiver() as receiver:
        ContactMethod.objects.create(user=person, kind="webhook", target=receiver.url)
        beat = _start("beat", "-s", str(tmp_path / "beat-schedule"))
        processes.append(beat)
        first = _worker()
        processes.append(first)
        try:
            incident = make_incident(
                by=UserFactory(), severity=1, faulty_service=ServiceFactory(team=team)
            )
            page = incident.pages.get()
            assert wait_for(lambda: receiver.count() == 1, 60), "the first worker never sent"

            # In flight for longer than the lease: the heartbeat renews it, so the page
            # stays held (and sent once) while the first worker is alive.
            held_since = time.monotonic()
            lease = django_settings.ONCALL_DELIVERY_LEASE_SECONDS
            # Past the first lease, well before the webhook's own timeout gives it back.
            time.sleep(lease + 1)
            page.refresh_from_db()
            assert page.state == PageState.PENDING
            assert page.claimed_until is not None
            assert page.claimed_until > timezone.now()
            assert receiver.count() == 1

            os.killpg(first.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            first.wait()
            second = _worker()
            processes.append(second)

            assert wait_for(lambda: receiver.count() >= 2, 60), "never sent again"
            resent_after = receiver.arrivals[1][0] - killed_at
            print(
                f"\nheld {killed_at - held_since:.1f} s with lease {lease} s; "
                f"resent {resent_after:.1f} s after SIGKILL"
            )
            assert resent_after < RESEND_WITHIN_SECONDS
            assert wait_for(lambda: Page.objects.get(pk=page.pk).state == PageState.SENT, 30)
        finally:
            for process in reversed(processes):
                _stop(process)
    keys = {headers["Idempotency-Key"] for _, headers in receiver.arrivals}
    assert keys == {str(page.idempotency_key)}
    assert receiver.count() == 2
    page.refresh_from_db()
    assert page.attempt_count == 2
    assert page.attempts.filter(ok=True).count() == 1
