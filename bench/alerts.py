"""Alerts accepted per second on gunicorn (2 workers) with a real Celery worker.

Run: ``.venv/bin/python bench/alerts.py [--alerts 2000] [--clients 8] [--rounds 3]``
for the embedded default (throw-away SQLite, filesystem broker), or with ``DATABASE_URL``
and ``REDIS_URL`` set for PostgreSQL and Redis (use a scratch database: the script
migrates and fills it). It runs with debug off, as production does.

Three phases against the same server: a trivial Django view (the ceiling), new alerts
(each its own key: a group and a severity-1 incident, which pages through the worker),
and duplicates (one key: the storm case), the last in ``--rounds`` rounds each right
after a trivial phase, and compared with it. Each phase posts the PagerDuty Events v2 body.
A request stores the alert and wakes the worker; the worker (a separate ``celery worker``
process) applies it. After each phase the script checks that every accepted alert was
stored (count in = count recorded), waits until the worker has applied them all and
prints how long that took after the last request (the lag). At the end it checks the
storm's group counted every duplicate on one incident.
Goal: duplicates within 2x of the trivial view.
"""

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="hotline-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Production settings (debug off), as the portal is served; plain HTTP on loopback.
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django  # noqa: E402

django.setup()

from django.contrib.auth.decorators import login_not_required  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from config import urls as portal_urls  # noqa: E402


@login_not_required
@csrf_exempt
def trivial(request: HttpRequest) -> JsonResponse:
    """The ceiling: the same middleware stack, no database work."""
    return JsonResponse({"status": "success"}, status=202)


# Served by gunicorn as the URLconf: the portal plus the trivial view.
urlpatterns = [path("bench/trivial", trivial), *portal_urls.urlpatterns]


def application():
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    settings.ROOT_URLCONF = "bench.alerts"
    return get_wsgi_application()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(port: int, url: str, body: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", url, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def run_phase(
    port: int, url: str, bodies: list[bytes], clients: int
) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [bodies[number::clients] for number in range(clients)]

    def client(chunk: list[bytes]) -> None:
        for body in chunk:
            status = post(port, url, body)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def wait_until_applied(integration_id: int, seconds: float = 600) -> float:
    """Seconds until no alert of the integration is pending."""
    from oncall.integrations.models import Alert, AlertOutcome

    started = time.perf_counter()
    pending = Alert.objects.filter(integration_id=integration_id, outcome=AlertOutcome.PENDING)
    while pending.exists():
        if time.perf_counter() - started > seconds:
            raise SystemExit(f"{pending.count()} alerts still pending after {seconds:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - started


def wait_until_idle(seconds: float = 600) -> None:
    """Until the worker's queue stays empty: the incidents the alerts opened queue work
    of their own (pages, e-mails, chat posts), which must not run into the next phase."""
    from config.celery import app

    started, empty = time.perf_counter(), 0
    while empty < 3 and time.perf_counter() - started < seconds:
        with app.connection_for_write() as connection:
            waiting = connection.default_channel.queue_declare(queue="celery").message_count
        empty = empty + 1 if waiting == 0 else 0
        time.sleep(0.3)


def main() -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from incidents.models import Incident, Service, Team
    from oncall.integrations import actions
    from oncall.integrations.models import Alert, AlertGroup, AlertOutcome

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="trivial + duplicates pairs")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    admin, _ = User.objects.get_or_create(username="bench-admin")
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    service, _ = Service.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "team": team}
    )
    integration, key = actions.create_integration(by=admin, name="bench", service=service)

    def event(dedup_key: str) -> bytes:
        return json.dumps(
            {
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {"summary": "Bench alert", "source": "bench", "severity": "critical"},
            }
        ).encode()

    port = free_port()
    env = os.environ.copy()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "bench.alerts:application()",
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    # The real worker, as ``make run`` starts it (one process: the machine has 2 cores).
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # pages go to the console e-mail backend
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                post(port, "/bench/trivial", b"{}")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        count = args.alerts
        post(port, "/v2/enqueue", event("storm"))  # opens the storm's group first
        wait_until_applied(integration.pk, seconds=60)
        # The trivial view runs again right before each round of duplicates: the
        # machine's load drifts, and a ratio of two adjacent phases drifts least.
        phases = [
            ("trivial view", "/bench/trivial", [event("x")] * count),
            ("new alerts", "/v2/enqueue", [event(uuid.uuid4().hex) for _ in range(count)]),
        ]
        for _ in range(args.rounds):
            phases.append(("trivial view", "/bench/trivial", [event("x")] * count))
            phases.append(("duplicates", "/v2/enqueue", [event("storm")] * count))
        results: list[tuple[str, float, dict[int, int], int, float]] = []
        for name, url, bodies in phases:
            before = Alert.objects.filter(integration=integration).count()
            seconds, statuses = run_phase(port, url, bodies, args.clients)
            recorded = Alert.objects.filter(integration=integration).count() - before
            lag = wait_until_applied(integration.pk)
            wait_until_idle()
            results.append((name, count / seconds, statuses, recorded, lag))
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=15)
        worker.wait(timeout=30)

    broker = "Redis" if settings.REDIS_URL else "filesystem (embedded)"
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"{count} alerts per phase, {args.clients} clients, gunicorn 2 workers,"
        f" 1 celery worker, broker {broker}, database {database}"
    )
    for name, rate, statuses, recorded, lag in results:
        accepted = statuses.get(202, 0)
        line = f"  {name:13} {rate:8.0f} /s  statuses {statuses}"
        if name != "trivial view":
            line += f"  recorded {recorded} of {accepted} accepted; all applied {lag:.1f} s later"
        print(line)
    storm = AlertGroup.objects.get(integration=integration, dedup_key="storm")
    incidents = (
        Incident.objects.filter(
            alert_groups__integration=integration, alert_groups__dedup_key="storm"
        )
        .distinct()
        .count()
    )
    failed = Alert.objects.filter(integration=integration, outcome=AlertOutcome.FAILED).count()
    print(f"  storm group: {storm.alert_count} alerts, {incidents} incident(s); failed: {failed}")
    ratios = [
        before[1] / after[1]
        for before, after in itertools.pairwise(results)
        if (before[0], after[0]) == ("trivial view", "duplicates")
    ]
    shown = ", ".join(f"{ratio:.2f}x" for ratio in ratios)
    print(
        f"  duplicates vs the trivial view just before: {shown}"
        f" (median {statistics.median(ratios):.2f}x; goal: within 2x)"
    )
    lost = [
        name
        for name, _, statuses, recorded, _ in results
        if name != "trivial view" and recorded != statuses.get(202, 0)
    ]
    if lost or storm.alert_count != count * args.rounds + 1 or incidents != 1 or failed:
        raise SystemExit(f"alerts lost in: {lost or ['storm group']}")


if __name__ == "__main__":
    main()
