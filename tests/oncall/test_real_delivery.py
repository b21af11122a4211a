"""Real parts: a Celery worker over the real broker, real SMTP and HTTP receivers."""

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from django.conf import settings as django_settings

from config.celery import app as celery_app
from oncall import tasks
from oncall.models import ContactMethod, PageState
from tests.conftest import fresh_producers, requires_postgres, start_test_worker, wait_for
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident
from tests.receivers import HttpReceiver, free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def roster(make_roster):
    team = TeamFactory(slug="payments", name="Payments")
    return make_roster("payments-im", people=["pia"], team=team, start_date=date(2020, 1, 6))


def test_sev1_page_reaches_the_smtp_receiver_through_a_worker(worker, smtp, roster):
    incident = make_incident(
        by=UserFactory(), severity=1, faulty_service=ServiceFactory(team=roster.team)
    )
    page = incident.pages.get()
    assert wait_for(lambda: len(smtp.messages) == 1)
    assert incident.key in smtp.messages[0]["Subject"]
    assert wait_for(lambda: page.__class__.objects.get(pk=page.pk).state == PageState.SENT)


def test_receiver_failing_twice_is_delivered_on_the_third_attempt(worker, settings, roster):
    settings.ONCALL_RETRY_BACKOFF = [0.2, 0.2, 0.2, 0.2]
    with HttpReceiver(fail_first=2) as receiver:
        ContactMethod.objects.create(
            user=roster.participants.get().user, kind="webhook", target=receiver.url
        )
        page = make_incident(
            by=UserFactory(), severity=1, faulty_service=ServiceFactory(team=roster.team)
        ).pages.get()
        # Retries are due times on the row, handed out by the sweep (a beat task in
        # production, run here by hand).
        delivered = wait_for(
            lambda: (
                (tasks.sweep_pages(), page.__class__.objects.get(pk=page.pk).state)[1]
                == PageState.SENT
            )
        )
    page.refresh_from_db()
    assert delivered, (
        page.state,
        page.next_attempt_at,
        page.claimed_until,
        list(page.attempts.values_list("ok", "result")),
    )
    assert receiver.attempts == 3
    assert len(receiver.requests) == 1
    assert page.attempt_count == 3
    assert [a.ok for a in page.attempts.all()] == [False, False, True]


@requires_postgres
@pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="needs the real Redis broker (set REDIS_URL)"
)
def test_broker_down_at_commit_then_back_delivers_exactly_once(settings, smtp, roster):
    settings.ONCALL_SWEEP_GRACE_SECONDS = 0
    real = celery_app.conf.broker_url
    # "Redis stopped": the app publishes to a port nobody listens on, not the shared server.
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/3"
    fresh_producers()
    try:
        incident = make_incident(
            by=UserFactory(), severity=1, faulty_service=ServiceFactory(team=roster.team)
        )
    finally:
        celery_app.conf.broker_url = real
        fresh_producers()
    page = incident.pages.get()
    assert page.state == PageState.PENDING
    assert smtp.messages == []
    with start_test_worker():
        tasks.sweep_pages.delay()
        assert wait_for(lambda: len(smtp.messages) == 1)
        tasks.sweep_pages.delay()
        tasks.sweep_pages.delay()
        time.sleep(1)
    page.refresh_from_db()
    assert page.state == PageState.SENT
    assert len(smtp.messages) == 1
    assert page.attempts.filter(ok=True).count() == 1


@requires_postgres
@pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="needs the real Redis broker (set REDIS_URL)"
)
def test_worker_killed_mid_delivery_still_delivers_once(settings, roster, tmp_path):
    """A worker process is SIGKILLed while the receiver holds its request; the message
    goes back to Redis (acks_late), the lease expires, a new worker delivers once."""
    with HeldReceiver() as receiver:
        ContactMethod.objects.create(
            user=roster.participants.get().user, kind="webhook", target=receiver.url
        )
        env = {
            **os.environ,
            "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0]
            + "/"
            + django_settings.DATABASES["default"]["NAME"],
            "ONCALL_DELIVERY_LEASE_SECONDS": "2",
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            "celery",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "WARNING",
        ]
        first = subprocess.Popen(
            command, env=env, cwd=django_settings.BASE_DIR, start_new_session=True
        )
        try:
            page = make_incident(
                by=UserFactory(), severity=1, faulty_service=ServiceFactory(team=roster.team)
            ).pages.get()
            assert wait_for(lambda: receiver.attempts >= 1, 30)
            first.send_signal(signal.SIGKILL)
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
        receiver.release.set()
        second = subprocess.Popen(
            command, env=env, cwd=django_settings.BASE_DIR, start_new_session=True
        )
        try:
            settings.ONCALL_SWEEP_GRACE_SECONDS = 0
            assert wait_for(
                lambda: (
                    (tasks.sweep_pages(), page.__class__.objects.get(pk=page.pk).state)[1]
                    == PageState.SENT
                ),
                60,
            )
        finally:
            second.terminate()
            second.wait(10)
    page.refresh_from_db()
    assert page.attempts.filter(ok=True).count() == 1
    page.refresh_from_db()
    assert page.attempts.filter(ok=True).count() == 1
    assert len(receiver.requests) >= 1
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {str(page.idempotency_key)}


class HeldReceiver(HttpReceiver):
    """Holds every request until ``release`` is set: a delivery caught mid-flight."""

    def __post_init__(self) -> None:
        import threading

        super().__post_init__()
        self.release = threading.Event()
        handler = self.server.RequestHandlerClass
        receiver = self

        class Held(handler):  # type: ignore[misc,valid-type]
            def do_POST(self):
                with receiver.lock:
                    receiver.attempts += 1
                receiver.release.wait(30)
                with receiver.lock:
                    receiver.attempts -= 1
                super().do_POST()

        self.server.RequestHandlerClass = Held
