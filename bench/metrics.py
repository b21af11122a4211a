"""The metrics page (TTD/TTR), the incident API with case counts and the support case
list, at scale,
each against a trivial signed-in Django view measured in the same run.

Run: ``DATABASE_URL=postgres://…/bench_x .venv/bin/python bench/metrics.py --full``.
Fills the database like ``bench/support.py`` (same rows, same ``fill``; a second run
reuses them) and prints milliseconds (median and range of the runs) and queries.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="hotline-bench-"))
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
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from django.utils import timezone  # noqa: E402

import config.urls  # noqa: E402
from bench.support import fill, trivial  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="100k incidents, 1M cases")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    incidents, active, cases = (100_000, 1_000, 1_000_000) if args.full else (10_000, 100, 100_000)

    setup_test_environment()
    config.urls.urlpatterns.insert(0, path("bench-trivial/", trivial))
    clear_url_caches()
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name="support"), Group.objects.get(name="incident manager"))
    fill(user, incidents, active, cases)
    print(f"{connection.vendor}: {incidents} incidents ({active} active), {cases} cases")

    client = Client()
    client.force_login(user)
    year = (timezone.now() - timedelta(days=365)).date().isoformat()
    pages = [
        ("trivial view", "/bench-trivial/"),
        ("metrics (default period)", "/support/metrics/"),
        ("metrics (last year)", f"/support/metrics/?since={year}"),
        ("metrics (all time)", "/support/metrics/?period=all"),
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


if __name__ == "__main__":
    main()
