"""New alert groups applied per second by the worker (``process_pending``), in process.

Run: ``.venv/bin/python bench/alert_groups.py [--groups 2000] [--rounds 3]`` for the
embedded default (throw-away SQLite), or with ``DATABASE_URL`` and ``REDIS_URL`` set for
PostgreSQL and Redis (use a scratch database: the script migrates and fills it).

Each round stores ``--groups`` pending alerts with distinct keys (severity critical, so
each group that opens an incident pages) straight into the table, as the receiver
would, then times one ``process_pending()``: the worker's side of ``bench/alerts.py``'s
"new alerts" phase without HTTP in front. Rounds alternate folding on (the integration's
storm threshold, 20 in 5 minutes) and off. Afterwards it counts that every alert is on a
group and every group on an incident (nothing lost).
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import scratch_folder  # noqa: E402

os.environ.setdefault("VAR_DIR", scratch_folder())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DEBUG", "0")

import django  # noqa: E402

django.setup()


GOAL = 500.0  # new alert groups a second with storms folded (issue 15)
# ``make bench`` runs it on the embedded default too, which has the same goal.
ALSO_EMBEDDED = True


def measure(groups: int, rounds: int) -> dict[str, Any]:
    """Groups a second (wall and worker CPU), per way, and what was lost."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from config.celery import app
    from incidents.models import Incident, Service, Team
    from oncall.integrations import actions
    from oncall.integrations.models import Alert, AlertGroup, AlertOutcome

    call_command("migrate", verbosity=0)
    admin, _ = User.objects.get_or_create(username="bench-admin")
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    service, _ = Service.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "team": team}
    )
    event = {"summary": "Bench alert", "source": "bench", "severity": "critical"}
    # Groups a second of wall time, and of this process's CPU time: the machine may be
    # shared, and in process (SQLite) the CPU time is the worker's whole cost.
    rates: dict[str, list[float]] = {"folding on": [], "folding off": []}
    cpu_rates: dict[str, list[float]] = {"folding on": [], "folding off": []}
    integrations = []
    for _ in range(rounds):
        for name, threshold in (("folding on", 20), ("folding off", 0)):
            integration, _key = actions.create_integration(by=admin, name=name, service=service)
            actions.set_storm_threshold(integration, threshold=threshold, window=5)
            integrations.append(integration)
            now = timezone.now()
            Alert.objects.bulk_create(
                Alert(
                    integration=integration,
                    format="pagerduty",
                    outcome=AlertOutcome.PENDING,
                    received_at=now,
                    action="trigger",
                    dedup_key=uuid.uuid4().hex,
                    event=event,
                )
                for _ in range(groups)
            )
            started, cpu = time.perf_counter(), time.process_time()
            applied = actions.process_pending(integration_id=integration.pk)
            seconds = time.perf_counter() - started
            cpu_rates[name].append(groups / (time.process_time() - cpu))
            if applied != groups:
                raise SystemExit(f"{applied} of {groups} alerts applied")
            rates[name].append(groups / seconds)
    # The pages' deliveries queued on the broker: nobody runs them here.
    app.control.purge()

    lost = Alert.objects.filter(integration__in=integrations, group__isnull=True).count()
    orphans = AlertGroup.objects.filter(integration__in=integrations, incident__isnull=True)
    incidents = Incident.objects.filter(alert_groups__integration__in=integrations).distinct()
    return {
        "rates": rates,
        "cpu_rates": cpu_rates,
        "lost": lost,
        "orphans": orphans.count(),
        "incidents": incidents.count(),
    }


def results(full: bool, groups: int = 2000, rounds: int = 3) -> list[dict[str, Any]]:
    """The rows for ``make bench``: groups a second, folding on (the goal) and off. The
    same size either way: a storm's size does not follow the database's."""
    found = measure(groups, rounds)
    safe = found["lost"] == 0 and found["orphans"] == 0
    rows = []
    for name, values in found["rates"].items():
        rate = statistics.median(values)
        folding = name == "folding on"
        rows.append(
            {
                "path": f"new alert groups applied by the worker, {name}"
                f" [{rate:.0f}/s; {statistics.median(found['cpu_rates'][name]):.0f}"
                f" per worker CPU second; lost {found['lost']}, without incident"
                f" {found['orphans']}]",
                "ms": 1000 / rate,
                "baseline_ms": None,
                "ratio": None,
                "goal": f">= {GOAL:.0f} a second, none lost" if folding else "(reference)",
                "holds": safe and (rate >= GOAL or not folding),
                "range": (min(values), max(values)),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of folding on and off")
    args = parser.parse_args()
    found = measure(args.groups, args.rounds)
    print(f"{args.groups} new groups a round, {args.rounds} rounds each")
    for name, values in found["rates"].items():
        low, high = min(values), max(values)
        print(
            f"  {name:12} {statistics.median(values):7.0f} groups/s  (range {low:.0f}-{high:.0f});"
            f" {statistics.median(found['cpu_rates'][name]):7.0f} per CPU second of the worker"
        )
    print(
        f"  alerts without a group: {found['lost']}; groups without an incident:"
        f" {found['orphans']}; incidents: {found['incidents']}"
    )


if __name__ == "__main__":
    main()
