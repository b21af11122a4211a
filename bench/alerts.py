"""The alert intake on gunicorn (2 workers) with one real Celery worker, for
Alertmanager webhooks and PagerDuty events alike: the shape in which it is compared
with other systems.

Run: ``.venv/bin/python bench/alerts.py [--alerts 2000] [--clients 8] [--rounds 2]``
for the embedded default (throw-away SQLite, filesystem broker), or with
``DATABASE_URL`` and ``REDIS_URL`` set for PostgreSQL and Redis, as the issue's figures
are (use a scratch database and Redis database: the script migrates and fills them). It
runs with debug off, as production does.

Each round, for each format, in this order so neighbours see the same machine load:
the trivial insert (a Django view on the same middleware stack that inserts one alert
row and commits: the floor of a request that stores something), the duplicates (one
dedup key: the storm case), and the distinct alerts (each its own key: an alert group,
an incident and a page through the worker). Every phase posts ``--alerts`` requests
from ``--clients`` clients and reports requests per second, p50 / p99 response time and
how long after the last response the worker had applied every alert. Nothing lost is
counted in every phase: every request answered 202, every accepted alert stored, none
left pending or failed, one group per distinct key and every duplicate counted on the
storm's one group.

Figures for ``make bench`` (``results``): a duplicate's cost against the trivial
insert's in the same round (median of the rounds, their range), as wall time per request
(1 / throughput: what a sender sees, blurred by whatever else runs on the machine,
the Celery worker applying the duplicates meanwhile included) and as CPU time of the
gunicorn workers per request (the request's own cost); distinct alerts applied per
second, from the first request until the worker applied the last, beside the trivial
insert's own rate in the same rounds (a reference: the most requests that store
something this machine answers a second, which no distinct alert can beat).
Goals (issue 15): duplicates within 1.3x of the trivial insert; distinct alerts at 500
a second or more.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import scratch_folder  # noqa: E402

os.environ.setdefault("VAR_DIR", scratch_folder())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Production settings (debug off), as the portal is served; plain HTTP on loopback.
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# The pages the incidents send are accepted and dropped: the paging bench times those.
os.environ.setdefault("EMAIL_URL", "dummy://")

import django  # noqa: E402

django.setup()

from django.contrib.auth.decorators import login_not_required  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from bench._processes import celery_worker, children, cpu_seconds  # noqa: E402
from config import urls as portal_urls  # noqa: E402

DUPLICATES_GOAL = 1.3
DISTINCT_GOAL = 500.0
# The trivial insert and the duplicates alternate in this many blocks a round.
BLOCKS = 4


@login_not_required
@csrf_exempt
def trivial_insert(request: HttpRequest) -> JsonResponse:
    """The floor: the same middleware stack, one row inserted (autocommit: the INSERT
    is its own transaction) and the same answer as the receiver's."""
    from oncall.integrations.models import Alert, AlertOutcome

    Alert.objects.create(
        integration_id=int(os.environ["BENCH_INTEGRATION_ID"]),
        format="bench",
        outcome=AlertOutcome.IGNORED,
        payload=request.body.decode(),
    )
    return JsonResponse({"status": "success"}, status=202)


# Served by gunicorn as the URLconf: the portal plus the trivial insert.
urlpatterns = [path("bench/insert", trivial_insert), *portal_urls.urlpatterns]


def application() -> Any:
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    settings.ROOT_URLCONF = "bench.alerts"
    return get_wsgi_application()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Phase:
    name: str
    fmt: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    applied_after: float = 0.0
    lost: list[str] = field(default_factory=list)
    # CPU seconds the gunicorn workers spent answering, and the Celery worker spent
    # until it was done with the phase: what the machine's load does not blur.
    web_cpu: float = 0.0
    worker_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def ms_per_request(self) -> float:
        return 1000 * self.seconds / len(self.latencies)

    @property
    def web_cpu_ms(self) -> float:
        return 1000 * self.web_cpu / len(self.latencies)

    @property
    def worker_cpu_ms(self) -> float:
        return 1000 * self.worker_cpu / len(self.latencies)

    @property
    def end_to_end_rate(self) -> float:
        return len(self.latencies) / (self.seconds + self.applied_after)


def run_clients(port: int, requests: list[tuple[str, bytes]], clients: int, phase: Phase) -> None:
    """Posts every request, ``clients`` at a time. Each client reuses one connection
    object, which reconnects after each answer (gunicorn's sync workers close it)."""
    lock = threading.Lock()

    def client(chunk: list[tuple[str, bytes]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        statuses: dict[int, int] = {}
        try:
            for url, body in chunk:
                started = time.perf_counter()
                connection.request("POST", url, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            connection.close()
        with lock:
            phase.latencies.extend(mine)
            for status, count in statuses.items():
                phase.statuses[status] = phase.statuses.get(status, 0) + count

    threads = [
        threading.Thread(target=client, args=(requests[number::clients],))
        for number in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds += time.perf_counter() - started


def wait_until_applied(integration_id: int, seconds: float = 900) -> float:
    """Seconds until no alert of the integration is pending."""
    from oncall.integrations.models import Alert, AlertOutcome

    started = time.perf_counter()
    pending = Alert.objects.filter(integration_id=integration_id, outcome=AlertOutcome.PENDING)
    while pending.exists():
        if time.perf_counter() - started > seconds:
            raise SystemExit(f"{pending.count()} alerts still pending after {seconds:.0f} s")
        time.sleep(0.02)
    return time.perf_counter() - started


def wait_until_idle(seconds: float = 900) -> None:
    """Until the worker's queue stays empty: the incidents the alerts opened queue work
    of their own (pages, e-mails, chat posts), which must not run into the next phase."""
    from config.celery import app

    started, empty = time.perf_counter(), 0
    while empty < 3 and time.perf_counter() - started < seconds:
        with app.connection_for_write() as connection:
            waiting = connection.default_channel.queue_declare(queue="celery").message_count
        empty = empty + 1 if waiting == 0 else 0
        time.sleep(0.3)


class Bench:
    """The server, the worker and the integrations one run posts to."""

    def __init__(self, alerts: int, clients: int) -> None:
        from django.contrib.auth.models import User
        from django.core.management import call_command

        from incidents.models import Service, Team
        from oncall.integrations import actions

        self.alerts, self.clients = alerts, clients
        call_command("migrate", verbosity=0)
        admin, _ = User.objects.get_or_create(username="bench-admin")
        team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        service, _ = Service.objects.get_or_create(
            slug="bench", defaults={"name": "Bench", "team": team}
        )
        # One integration per format and run: counts are per integration.
        stamp = uuid.uuid4().hex[:6]
        self.integrations = {
            fmt: actions.create_integration(by=admin, name=f"bench {fmt} {stamp}", service=service)
            for fmt in ("pagerduty", "alertmanager")
        }
        self.storm_count = dict.fromkeys(self.integrations, 0)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.web_pids: set[int] = set()
        self.worker_pids: set[int] = set()

    def body(self, fmt: str, dedup_key: str) -> tuple[str, bytes]:
        _integration, key = self.integrations[fmt]
        if fmt == "pagerduty":
            event = {
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {"summary": "Bench alert", "source": "bench", "severity": "critical"},
            }
            return "/v2/enqueue", json.dumps(event).encode()
        labels = {"alertname": "BenchAlert", "instance": dedup_key, "severity": "critical"}
        webhook = {
            "version": "4",
            "groupKey": f'{{}}:{{instance="{dedup_key}"}}',
            "status": "firing",
            "receiver": "hotline",
            "groupLabels": {"instance": dedup_key},
            "commonLabels": labels,
            "commonAnnotations": {"summary": "Bench alert"},
            "externalURL": "http://alertmanager.example.com:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": "Bench alert"},
                    "startsAt": "2026-03-02T09:55:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example.com:9090/graph",
                }
            ],
        }
        return f"/integrations/alertmanager/{key}/", json.dumps(webhook).encode()

    def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, "BENCH_INTEGRATION_ID": str(self.integrations["pagerduty"][0].pk)}
        self.processes.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "bench.alerts:application()",
                    "--chdir",
                    str(ROOT),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--log-level",
                    "warning",
                ],
                env=env,
            )
        )
        self.processes.append(celery_worker(env))
        deadline = time.monotonic() + 60
        while not self.answers():
            if time.monotonic() > deadline or self.processes[0].poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        self.web_pids = children(self.processes[0].pid)
        self.worker_pids = {self.processes[1].pid}
        for fmt in self.integrations:
            # Opens the storm's group first: the duplicates phases only add to it.
            self.post_phase("open storm", fmt, [self.body(fmt, "storm")], clients=1)
            self.storm_count[fmt] = 1

    def answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("POST", "/bench/insert", b"{}")
            return connection.getresponse().status == 202
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)

    def post_phase(
        self,
        name: str,
        fmt: str,
        requests: list[tuple[str, bytes]],
        clients: int,
        phase: Phase | None = None,
    ) -> Phase:
        """Posts the requests (adding to ``phase`` when given), waits until the worker
        is done with them and counts what was lost."""
        from oncall.integrations.models import Alert, AlertGroup, AlertOutcome

        integration, _key = self.integrations[fmt] if fmt else (None, "")
        alerts = Alert.objects.filter(integration=integration)
        groups = AlertGroup.objects.filter(integration=integration)
        before, groups_before = alerts.count(), groups.count()
        phase = phase or Phase(name, fmt)
        answered = sum(phase.statuses.values())
        web, worker = cpu_seconds(self.web_pids), cpu_seconds(self.worker_pids)
        run_clients(self.port, requests, clients, phase)
        phase.web_cpu += cpu_seconds(self.web_pids) - web
        if integration is not None:
            phase.applied_after = max(phase.applied_after, wait_until_applied(integration.pk))
        wait_until_idle()
        phase.worker_cpu += cpu_seconds(self.worker_pids) - worker
        if integration is None:
            return phase
        if phase.statuses.get(202, 0) != answered + len(requests):
            phase.lost.append(f"answers {phase.statuses}")
        stored = alerts.count() - before
        if stored != len(requests):
            phase.lost.append(f"{stored} stored of {len(requests)}")
        failed = alerts.filter(outcome=AlertOutcome.FAILED).count()
        if failed:
            phase.lost.append(f"{failed} failed")
        if name == "distinct" and groups.count() - groups_before != len(requests):
            phase.lost.append(f"{groups.count() - groups_before} groups of {len(requests)}")
        if name == "duplicates":
            self.storm_count[fmt] += len(requests)
            storm = groups.get(dedup_key=self.dedup("storm", fmt))
            if storm.alert_count != self.storm_count[fmt]:
                phase.lost.append(f"storm counted {storm.alert_count} of {self.storm_count[fmt]}")
        return phase

    def dedup(self, key: str, fmt: str) -> str:
        """The dedup key the format makes of ``key``."""
        if fmt == "pagerduty":
            return key
        return f'{{}}:{{instance="{key}"}}'

    def round(self) -> list[Phase]:
        """Per format: the trivial insert and the duplicates in alternated blocks (the
        load other programs put on the machine drifts; neighbouring blocks share it),
        then the distinct alerts."""
        phases = []
        count = self.alerts
        for fmt in self.integrations:
            floor, duplicates = Phase("trivial insert", fmt), Phase("duplicates", fmt)
            block = -(-count // BLOCKS)
            for start in range(0, count, block):
                size = min(block, count - start)
                insert = [("/bench/insert", self.body(fmt, "storm")[1])] * size
                self.post_phase(floor.name, "", insert, self.clients, floor)
                storm = [self.body(fmt, "storm")] * size
                self.post_phase(duplicates.name, fmt, storm, self.clients, duplicates)
            distinct = [self.body(fmt, uuid.uuid4().hex) for _ in range(count)]
            phases += [floor, duplicates, self.post_phase("distinct", fmt, distinct, self.clients)]
        return phases

    def warm(self) -> None:
        """Every path once per gunicorn worker and connection before anything is timed:
        imports, the first connection to the database, compiled statements."""
        for fmt in self.integrations:
            warming = [("/bench/insert", b"{}"), self.body(fmt, "storm")] * (4 * self.clients)
            self.post_phase("warm-up", "", warming, self.clients)
            self.storm_count[fmt] += 4 * self.clients


def measure(alerts: int, clients: int, rounds: int) -> list[list[Phase]]:
    bench = Bench(alerts, clients)
    bench.start()
    try:
        bench.warm()
        return [bench.round() for _ in range(rounds)]
    finally:
        bench.stop()


def describe() -> str:
    from django.conf import settings

    broker = "Redis" if settings.REDIS_URL else "filesystem (embedded)"
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"broker {broker}, database {database}"


def print_phases(rounds: list[list[Phase]], alerts: int, clients: int) -> None:
    print(
        f"{alerts} requests per phase, {clients} clients, gunicorn 2 workers,"
        f" 1 celery worker, {describe()}"
    )
    print(
        f"  {'round':>5} {'format':12} {'phase':15} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'applied after':>13} {'web CPU ms':>10} {'worker CPU ms':>13}  lost"
    )
    for number, phases in enumerate(rounds, 1):
        for phase in phases:
            ms = [value * 1000 for value in phase.latencies]
            applied = f"{phase.applied_after:11.2f} s" if phase.name != "trivial insert" else ""
            lost = "; ".join(phase.lost) or ("none" if phase.name != "trivial insert" else "")
            print(
                f"  {number:>5} {phase.fmt:12} {phase.name:15} {phase.rate:7.0f}"
                f" {statistics.median(ms):7.2f} {percentile(ms, 0.99):7.2f} {applied:>13}"
                f" {phase.web_cpu_ms:10.2f} {phase.worker_cpu_ms:13.2f}  {lost}"
            )


def rows(rounds: list[list[Phase]]) -> list[dict[str, Any]]:
    """The figures ``make bench`` shows, one row per format and path."""
    found: list[dict[str, Any]] = []
    labels = {"pagerduty": "PagerDuty", "alertmanager": "Alertmanager"}

    def phase(phases: list[Phase], name: str, fmt: str) -> Phase:
        return next(p for p in phases if (p.name, p.fmt) == (name, fmt))

    for fmt, label in labels.items():
        floors = [phase(phases, "trivial insert", fmt) for phases in rounds]
        duplicates = [phase(phases, "duplicates", fmt) for phases in rounds]
        rates = [phase(phases, "distinct", fmt).end_to_end_rate for phases in rounds]
        lost = [p for phases in rounds for p in phases if p.fmt == fmt and p.lost]
        for what, cost in [
            ("wall time a request at 8 clients", lambda p: p.ms_per_request),
            ("web CPU a request", lambda p: p.web_cpu_ms),
        ]:
            ratios = [cost(d) / cost(f) for d, f in zip(duplicates, floors, strict=True)]
            ratio = statistics.median(ratios)
            found.append(
                {
                    "path": f"duplicate alert accepted ({label}), {what}",
                    "ms": statistics.median(cost(d) for d in duplicates),
                    "baseline_ms": statistics.median(cost(f) for f in floors),
                    "ratio": ratio,
                    "goal": f"<= {DUPLICATES_GOAL}x trivial insert",
                    "holds": ratio <= DUPLICATES_GOAL and not lost,
                    "range": (min(ratios), max(ratios)),
                }
            )
        # The floor under that rate: no request that stores something is answered
        # faster on this machine, whatever the worker does after it.
        floor_rates = [f.rate for f in floors]
        floor = statistics.median(floor_rates)
        found.append(
            {
                "path": f"trivial insert ({label} rounds), per second at 8 clients",
                "ms": 1000 / floor,
                "baseline_ms": None,
                "ratio": None,
                "goal": "(reference: the floor of a request that stores)",
                "holds": True,
                "range": (min(floor_rates), max(floor_rates)),
                "note": f"{floor:.0f}/s",
            }
        )
        rate = statistics.median(rates)
        found.append(
            {
                "path": f"distinct alerts applied ({label}), per second end to end",
                "ms": 1000 / rate,
                "baseline_ms": None,
                "ratio": None,
                "goal": f">= {DISTINCT_GOAL:.0f} a second",
                "holds": rate >= DISTINCT_GOAL and not lost,
                "range": (min(rates), max(rates)),
                "note": f"{rate:.0f}/s ({min(rates):.0f}-{max(rates):.0f})",
            }
        )
    return found


def results(full: bool) -> list[dict[str, Any]]:
    """The rows for ``make bench``: 2,000 requests a phase, 2 rounds (3 with full)."""
    alerts, clients, rounds = 2000, 8, 3 if full else 2
    measured = measure(alerts, clients, rounds)
    print_phases(measured, alerts, clients)
    return rows(measured)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    measured = measure(args.alerts, args.clients, args.rounds)
    print_phases(measured, args.alerts, args.clients)
    for row in rows(measured):
        low, high = row["range"]
        if row["ratio"] is None:
            print(f"  {row['path']}: {row['note']}; goal {row['goal']}; holds {row['holds']}")
        else:
            print(
                f"  {row['path']}: {row['ms']:.2f} ms against {row['baseline_ms']:.2f} ms,"
                f" {row['ratio']:.2f}x ({low:.2f}-{high:.2f}x); goal {row['goal']};"
                f" holds {row['holds']}"
            )
    if any(phase.lost for phases in measured for phase in phases):
        raise SystemExit("alerts lost: see the table")


if __name__ == "__main__":
    main()
