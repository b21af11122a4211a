"""The metrics page (TTD/TTR), the incident API with case counts and the support case
list, at scale, each against a trivial signed-in Django view measured in the same run.

Run: ``DATABASE_URL=postgres://…/bench_x .venv/bin/python bench/metrics.py [--full]``.
Fills the database like ``bench/support.py`` (same rows, same ``fill``; a second run
reuses them), rebuilds every incident's metrics figures (the fill writes straight into
the tables, past the actions that keep them), folds the figures' change log as the beat
does every five minutes, and prints milliseconds (median and range) and queries. The
goal rows (issue 15: the metrics page for the last year and all time within 4x a
trivial view) are ratios from alternated rounds: each round times the trivial view and
the page one request after the other, the ratio is the median of the rounds' ratios,
and the range shows the rounds'. ``results(full)`` gives them to ``make bench``.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import scratch_folder

os.environ.setdefault("VAR_DIR", scratch_folder())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Production settings, as bench/support.py: no query logging, no template debugging.
os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 50)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from django.utils import timezone  # noqa: E402

import config.urls  # noqa: E402
from bench.support import fill, trivial  # noqa: E402
from incidents import actions  # noqa: E402
from incidents.models import Incident  # noqa: E402
from incidents.support import figures  # noqa: E402
from incidents.support import tasks as support_tasks  # noqa: E402

GOAL = 4.0
ROUNDS = 5


def timed(client: Client, url: str, repeat: int) -> tuple[float, float, float, int]:
    """Median, fastest and slowest ms, and the queries of one request."""
    response = client.get(url)  # warm caches and templates
    assert response.status_code == 200, (url, response.status_code)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(samples), min(samples), max(samples), len(queries)


def _ms(client: Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def change() -> None:
    """A change the figures count, through the action as a person's edit: an incident of
    half a year ago detected a second later, or earlier (back and forth). Not timed."""
    incident = Incident.objects.get(number=Incident.objects.count() * 3 // 4)
    assert incident.detected_at is not None
    second = timedelta(seconds=1 if incident.detected_at.second % 2 == 0 else -1)
    by = User.objects.get(username="bench")
    actions.update_incident(incident, by=by, detected_at=incident.detected_at + second)


def alternated(client: Client, url: str, repeat: int, *, after: str = "") -> dict[str, Any]:
    """The page against the trivial view, request for request, in ``ROUNDS`` rounds.
    ``after`` a "change" (``change``), each page request is the first after it: the page
    is computed again, and the month the change touched read again from the stored
    figures; after a change and the worker's "warm-up" (``warm_metrics_pages``, run
    here untimed where the worker would), the page is read as computed by the worker."""
    client.get(url)  # warm templates, note the page as open
    ratios, pages, baselines = [], [], []
    for _ in range(ROUNDS):
        page, floor = [], []
        for _ in range(repeat):
            floor.append(_ms(client, TRIVIAL))
            if after:
                change()
            if after == "warm-up":
                support_tasks.warm_metrics_pages()
            page.append(_ms(client, url))
        pages.append(statistics.median(page))
        baselines.append(statistics.median(floor))
        ratios.append(pages[-1] / baselines[-1])
    ratio = statistics.median(ratios)
    return {
        "ms": statistics.median(pages),
        "baseline_ms": statistics.median(baselines),
        "ratio": ratio,
        "goal": f"<= {GOAL:.0f}x trivial",
        "holds": ratio <= GOAL,
        "range": (min(ratios), max(ratios)),
    }


TRIVIAL = "/bench-trivial/"


def prepare(full: bool) -> tuple[Client, int]:
    incidents, active, cases = (100_000, 1_000, 1_000_000) if full else (10_000, 100, 100_000)
    if not any(getattr(p, "name", None) == "bench-trivial" for p in config.urls.urlpatterns):
        config.urls.urlpatterns.insert(
            0, path(TRIVIAL.strip("/") + "/", trivial, name="bench-trivial")
        )
        clear_url_caches()
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name="support"), Group.objects.get(name="incident manager"))
    fill(user, incidents, active, cases)
    started = time.perf_counter()
    figures.rebuild()
    print(f"{connection.vendor}: {incidents} incidents ({active} active), {cases} cases")
    print(f"  metrics figures rebuilt in {time.perf_counter() - started:.1f} s")
    # As the beat does every five minutes: earlier runs' changes are one row a month.
    while figures.fold():
        pass
    client = Client()
    client.force_login(user)
    return client, incidents


AFTER = {
    "": "",
    "change": ", first view after a change",
    "warm-up": ", first view after a change, after the worker's re-render",
}


def goal_pages() -> list[tuple[str, str, str]]:
    """The issue's rows, each as shown again (from the cache), first after a change, and
    first after a change once the worker computed it again."""
    year = (timezone.now() - timedelta(days=365)).date().isoformat()
    pages = [
        ("metrics page (last year)", f"/support/metrics/?since={year}"),
        ("metrics page (all time)", "/support/metrics/?period=all"),
    ]
    return [(f"{name}{said}", url, after) for after, said in AFTER.items() for name, url in pages]


def results(full: bool, repeat: int = 5) -> list[dict[str, Any]]:
    """The goal rows for ``make bench``: path, ms, baseline_ms, ratio, goal, holds, range."""
    client, _ = prepare(full)
    return [
        {"path": name, **alternated(client, url, repeat, after=after)}
        for name, url, after in goal_pages()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="100k incidents, 1M cases")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    client, incidents = prepare(args.full)

    pages = [
        ("trivial view", TRIVIAL),
        ("metrics (default period)", "/support/metrics/"),
        *[(name, url) for name, url, after in goal_pages() if not after],
        ("metrics (all, one team)", "/support/metrics/?period=all&team=t1"),
        ("API incident list", "/api/incidents/"),
        ("API incident detail", f"/api/incidents/HOT-{incidents}/"),
        ("case list", "/support/cases/"),
        ("case list (not labelled)", "/support/cases/?state=unlabelled"),
        ("case list (search, common)", "/support/cases/?q=Org+12"),
        ("case list (search, one ref)", "/support/cases/?q=SD-4711"),
    ]
    print(f"{'page':<28} {'median ms':>9} {'range':>17} {'x trivial':>9} {'queries':>7}")
    baseline = None
    for name, url in pages:
        median, low, high, queries = timed(client, url, args.repeat)
        baseline = baseline or median
        print(
            f"{name:<28} {median:>9.1f} {f'{low:.1f}-{high:.1f}':>17} "
            f"{median / baseline:>9.1f} {queries:>7}"
        )
    print(f"goals, alternated with the trivial view ({ROUNDS} rounds of {args.repeat}):")
    for name, url, after in goal_pages():
        row = alternated(client, url, args.repeat, after=after)
        low, high = row["range"]
        print(
            f"  {name}: {row['ms']:.1f} ms against {row['baseline_ms']:.1f} ms,"
            f" {row['ratio']:.1f}x ({low:.1f}-{high:.1f}x); goal {row['goal']};"
            f" holds {row['holds']}"
        )


if __name__ == "__main__":
    main()
