"""The support dashboard, its polls and labelling 1,000 cases, each against a trivial
signed-in Django view measured in the same run (issue 15's goals; the metrics page is
``bench/metrics.py``'s).

Run: ``.venv/bin/python bench/support.py`` (10,000 incidents of which 100 active, and
100,000 support cases) or ``--full`` for the issue's 100,000 incidents (1,000 active) and
1,000,000 cases. Uses a throw-away SQLite database unless ``DATABASE_URL`` is set (use a
scratch PostgreSQL database: the script migrates it and fills it once, with COPY; a
second run reuses the rows, and one that finds another number of incidents, such as those
the alert benchmarks left, empties them and what refers to them first). Set
``REDIS_URL`` to a scratch Redis database: the script empties that cache.
``results(full)`` gives the goal rows to ``make bench`` (``python -m bench``).

Requests run as in production: debug off (no query log, no template debug), the whole
middleware stack, a signed-in session. Each page is timed alternately with the trivial
view (trivial, page, trivial, page, ...), so both see the same machine load, in
``ROUNDS`` rounds: the ratio is the median of the rounds' ratios of medians, and the
range shows the rounds'. Printed are the medians, the ratio, the range, the queries per
request and the goal.

After a change a worker renders the boards people have open (``warm_support_boards``):
"warmed" rows run it untimed before each sample, where the worker would; "not warmed"
rows are the first viewer who polls before the worker is done (or without a worker);
the warm-up's own time is printed too.
"""

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import scratch_folder

os.environ.setdefault("VAR_DIR", scratch_folder())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Production settings: with debug on, Django logs every query and templates keep their
# debug information, which is not what a support team's server runs.
os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 50)
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from django.utils import timezone  # noqa: E402

import config.urls  # noqa: E402
from config import statements  # noqa: E402
from incidents import actions  # noqa: E402
from incidents.models import EntryKind, Incident, Product, Service, Status, Team  # noqa: E402
from incidents.support import actions as support_actions  # noqa: E402
from incidents.support import board, dashboard, rows  # noqa: E402
from incidents.support import tasks as support_tasks  # noqa: E402
from incidents.support.models import SupportCase  # noqa: E402

# Plain static file URLs: the manifest storage production uses needs collectstatic,
# and looking a name up in its manifest costs the same.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def trivial(request: HttpRequest) -> HttpResponse:
    # Signed in like every portal page (the login middleware loads session and user).
    return HttpResponse(f"ok {request.user.pk}")


def layout(request: HttpRequest) -> HttpResponse:
    """The portal's layout with nothing in it: the navigation (which reads the person's
    permissions) and the base template. No portal page costs less: the floor under the
    dashboard's goals."""
    return render(request, "base.html")


# Issue 15's goals: the largest ratio to the trivial view, by row.
COLD, NOT_WARMED, WARM, UNCHANGED_POLL = 3.0, 3.0, 2.0, 1.2
LABEL_MS = 100.0
ROUNDS = 3
# The goal of a row shown for reference only (the floor, the worker's warm-up).
REFERENCE = "(reference)"


# A support floor's people with the same permissions, each with the board open: more
# than a process keeps statements for (``config.statements.KEPT``), were they per person.
COLLEAGUES = 300


class InTurn:
    """Signed-in clients of ``count`` people with ``user``'s groups, each request the
    next one's."""

    def __init__(self, user: User, count: int) -> None:
        groups = list(user.groups.all())
        self.clients = []
        for n in range(count):
            person, _ = User.objects.get_or_create(username=f"bench-colleague-{n}")
            person.groups.add(*groups)
            client = Client()
            client.force_login(person)
            self.clients.append(client)
        self.turn = itertools.cycle(self.clients)

    def get(self, url: str) -> Any:
        return next(self.turn).get(url)

    def open_each(self, url: str) -> None:
        """Every one opens ``url`` once, as a floor that keeps the board open (their
        permissions are kept, the process saw them all)."""
        for client in self.clients:
            assert client.get(url).status_code == 200


class Timer:
    def __init__(self, client: Client, repeat: int) -> None:
        self.client = client
        self.repeat = repeat
        self.rows: list[dict[str, Any]] = []

    def _once(self, client: Client, url: str, expect: int) -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == expect, (url, response.status_code)
        return elapsed * 1000

    def measure(
        self,
        name: str,
        url: str | Callable[[], str],
        *,
        goal: float | None = None,
        client: Client | None = None,
        expect: int = 200,
        before: Callable[[], None] | None = None,
    ) -> None:
        """``before`` runs untimed ahead of every sample (empty the cache, change an
        incident); ``url`` may be computed per sample (a poll's current marker)."""
        client = client or self.client
        get_url = url if callable(url) else lambda: url
        if before is None:
            self._once(client, get_url(), expect)  # warm the caches
        pages, trivials, ratios = [], [], []
        for _ in range(ROUNDS):
            page, trivial = [], []
            for _ in range(self.repeat):
                trivial.append(self._once(self.client, "/bench-trivial/", 200))
                if before is not None:
                    before()
                page.append(self._once(client, get_url(), expect))
            ratios.append(statistics.median(page) / statistics.median(trivial))
            pages += page
            trivials += trivial
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as queries:
            self._once(client, get_url(), expect)
        ratio = statistics.median(ratios)
        self._add(
            {
                "path": name,
                "ms": statistics.median(pages),
                "baseline_ms": statistics.median(trivials),
                "ratio": ratio,
                "goal": f"<= {goal:g}x trivial" if goal else REFERENCE,
                "holds": ratio <= goal if goal else True,
                "range": (min(ratios), max(ratios)),
                "note": f"{len(queries)} queries",
            }
        )

    def add(self, name: str, samples: list[float], *, goal_ms: float | None = None) -> None:
        ms = statistics.median(samples)
        self._add(
            {
                "path": name,
                "ms": ms,
                "baseline_ms": None,
                "ratio": None,
                "goal": f"<= {goal_ms:g} ms" if goal_ms else REFERENCE,
                "holds": ms <= goal_ms if goal_ms else True,
                "range": (min(samples), max(samples)),
            }
        )

    def _add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        low, high = row["range"]
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        spread = f"{low:.2f}-{high:.2f}x" if row["ratio"] is not None else f"{low:.0f}-{high:.0f}"
        base = "" if row["baseline_ms"] is None else f"{row['baseline_ms']:.2f}"
        holds = "" if row["goal"] == REFERENCE else ("holds" if row["holds"] else "DOES NOT HOLD")
        print(
            f"{row['path']:<38} {row['ms']:>8.2f} {base:>8} {ratio:>7} {spread:>13}"
            f" {row.get('note', ''):>11}  {row['goal']} {holds}",
            flush=True,
        )


def _copy(model: type[models.Model], objects: Iterable[models.Model]) -> None:
    """COPY the objects into the model's table (PostgreSQL): ~20x faster than inserts.
    Values are prepared by the fields themselves, so defaults and auto_now apply."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    connection.ensure_connection()
    raw = connection.connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objects:
            copy.write_row(
                [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
            )


def _insert(model: type[models.Model], objects: Iterable[models.Model]) -> None:
    if connection.vendor == "postgresql":
        _copy(model, objects)
        return
    batch: list[models.Model] = []
    for obj in objects:
        batch.append(obj)
        if len(batch) == 5000:
            model.objects.bulk_create(batch)  # type: ignore[attr-defined]
            batch = []
    model.objects.bulk_create(batch)  # type: ignore[attr-defined]


def fill(user: User, incidents: int, active: int, cases: int) -> None:
    """Rows straight into the tables: the actions would take hours here."""
    have, have_cases = Incident.objects.count(), SupportCase.objects.count()
    if (have, have_cases) == (incidents, cases):
        # A second run: the first one's changes and labels left dead rows behind,
        # which autovacuum would have cleared by now (it may be off on a scratch server).
        _vacuum()
        return
    if have or have_cases:
        # Another size's, a fill cut short, or the alert and paging benchmarks'
        # incidents on a shared database (they would show on the board too).
        print(f"  emptying {have} incidents and what refers to them", flush=True)
        _empty(Incident)
    teams = [
        Team.objects.get_or_create(slug=f"t{i}", defaults={"name": f"Team {i}"})[0]
        for i in range(5)
    ]
    services = [
        Service.objects.get_or_create(
            slug=f"s{i}", defaults={"name": f"Service {i}", "team": teams[i % 5]}
        )[0]
        for i in range(20)
    ]
    products = [
        Product.objects.get_or_create(slug=f"p{i}", defaults={"name": f"Product {i}"})[0]
        for i in range(10)
    ]
    now = timezone.now()
    started = time.perf_counter()

    def incident_rows() -> Iterator[Incident]:
        for number in range(1, incidents + 1):
            is_active = number > incidents - active
            # Two years of incidents, the active ones over the last few days.
            began = now - timedelta(days=(incidents - number) * 730 / incidents, minutes=30)
            yield Incident(
                prefix="HOT",
                number=number,
                key=f"HOT-{number}",
                summary=f"Bench incident {number}: checkout errors for some customers",
                description="Generated by bench/support.py",
                severity=number % 3 + 1,
                faulty_service=services[number % 20],
                status=Status.FIXING if is_active else Status.RESOLVED,
                assignee=user,
                impact_started_at=began,
                detected_at=began + timedelta(minutes=number % 90),
                impact_ended_at=None if is_active else began + timedelta(minutes=30 + number % 600),
                created_by=user,
                created_at=began,
            )

    _insert(Incident, incident_rows())
    numbers = dict(Incident.objects.values_list("number", "pk"))
    through = Incident.affected_products.through
    _insert(
        through,
        (
            through(incident_id=pk, product_id=products[number % 10].pk)
            for number, pk in numbers.items()
        ),
    )
    print(f"  {incidents} incidents in {time.perf_counter() - started:.0f} s", flush=True)
    first = min(numbers.values())
    _insert(
        SupportCase,
        (
            SupportCase(
                reference=f"SD-{n}",
                customer_name=f"Customer {n}",
                organisation=f"Org {n % 997}",
                contact_email=f"c{n}@customer.example",
                subject="Bench case",
                # Half the cases labelled, spread over every incident.
                label_id=first + (n * 7919) % incidents if n % 2 else None,
            )
            for n in range(cases)
        ),
    )
    _vacuum()
    print(f"  {cases} cases, {time.perf_counter() - started:.0f} s in all", flush=True)


def _empty(model: type[models.Model]) -> None:
    """Delete every row of ``model``'s table and of every table that refers to it,
    directly or through another."""
    sql = connection.ops.sql_flush(no_style(), [model._meta.db_table], allow_cascade=True)
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)


def _vacuum() -> None:
    """What autovacuum does to tables this size soon after: statistics, the visibility
    map that lets index-only scans skip the table, and no dead rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def run(full: bool, repeat: int) -> list[dict[str, Any]]:
    """Fill (once), then time every path; the rows as ``results`` gives them."""
    incidents, active, cases = (100_000, 1_000, 1_000_000) if full else (10_000, 100, 100_000)
    if not any(getattr(p, "name", None) == "bench-trivial" for p in config.urls.urlpatterns):
        config.urls.urlpatterns.insert(0, path("bench-trivial/", trivial, name="bench-trivial"))
        config.urls.urlpatterns.insert(0, path("bench-layout/", layout, name="bench-layout"))
        clear_url_caches()
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name="support"), Group.objects.get(name="incident manager"))
    print(f"{connection.vendor}: {incidents} incidents ({active} active), {cases} cases")
    print(f"cache: {settings.CACHES['default']['BACKEND']}, sessions: {settings.SESSION_ENGINE}")
    fill(user, incidents, active, cases)
    cache.clear()

    client = Client()
    client.force_login(user)
    # A colleague who sees the same incidents: the board rendered for one serves both.
    colleague, _ = User.objects.get_or_create(username="bench-colleague")
    colleague.groups.add(*user.groups.all())
    other = Client()
    other.force_login(colleague)
    poll = Client(HTTP_HX_REQUEST="true")
    poll.force_login(user)
    timer = Timer(client, repeat)
    print(
        f"{f'{ROUNDS} rounds of {repeat}':<38} {'ms':>8} {'trivial':>8} {'ratio':>7}"
        f" {'range':>13} {'':>11}  goal"
    )

    # The whole floor signed up before the first row: what reads everyone's grants or
    # sessions pays for all of them in every row, as on a real floor.
    team = InTurn(user, COLLEAGUES)
    shown = list(
        Incident.objects.open().order_by("severity", "created_at", "pk")[:20].only("pk", "key")
    )
    turn = iter(range(10**9))

    def change_one() -> None:
        # What a team sees all day: one incident changed since the last render.
        incident = shown[next(turn) % len(shown)]
        actions.add_timeline_entry(
            incident, kind=EntryKind.OBSERVATION, text="Still failing", by=user
        )

    def cold() -> None:
        # Everything in the shared cache is gone (board, marker, catalogue, and the
        # cached session if any), as after a Redis restart: the web process keeps the
        # rows it rendered (``rows``) and its compiled statements.
        cache.clear()

    def new_process() -> None:
        # A web process just started: no rows kept, no statement compiled.
        rows.forget()
        statements.forget()

    def cold_and_new() -> None:
        # And a web process started as gunicorn starts it (gunicorn.conf.py): the boards
        # people have open rendered before it serves, the cache lost after that.
        new_process()
        board.warm_at_start()
        cache.clear()

    def cold_and_new_not_warmed() -> None:
        cache.clear()
        new_process()

    def change_one_and_warm() -> None:
        # A worker's warm-up after the change (incidents.support.tasks.warm_support_boards),
        # run here where the worker would.
        change_one()
        support_tasks.warm_support_boards()

    def change_one_seen_by_a_colleague() -> None:
        change_one()
        other.get("/support/")

    other_poll = Client(HTTP_HX_REQUEST="true")
    other_poll.force_login(colleague)

    def change_one_polled_by_a_colleague() -> None:
        change_one()
        other_poll.get("/support/board/?since=stale")

    measure = timer.measure
    measure("empty portal page (the floor)", "/bench-layout/")
    measure("dashboard page, cold cache", "/support/", goal=COLD, before=cold)
    measure("dashboard page, cold cache, new process", "/support/", goal=COLD, before=cold_and_new)
    measure(
        "dashboard page, cold cache, new process not warmed at start",
        "/support/",
        before=cold_and_new_not_warmed,
    )
    measure("dashboard page, changed, not warmed", "/support/", goal=NOT_WARMED, before=change_one)
    measure("dashboard page, changed, warmed", "/support/", goal=WARM, before=change_one_and_warm)
    team.open_each("/support/")
    measure(
        f"dashboard page, changed, not warmed, {COLLEAGUES} colleagues in turn",
        "/support/",
        goal=NOT_WARMED,
        client=team,  # type: ignore[arg-type]  # a Client's get
        before=change_one,
    )
    measure(
        "dashboard page, changed, next viewer",
        "/support/",
        goal=WARM,
        before=change_one_seen_by_a_colleague,
    )
    measure("dashboard page, nothing changed", "/support/", goal=WARM)
    stale = "/support/board/?since=stale"
    measure(
        "changed poll, changed, not warmed", stale, goal=NOT_WARMED, client=poll, before=change_one
    )
    measure(
        "changed poll, changed, warmed",
        stale,
        goal=WARM,
        client=poll,
        before=change_one_and_warm,
    )
    measure(
        "changed poll, next viewer",
        stale,
        goal=WARM,
        client=poll,
        before=change_one_polled_by_a_colleague,
    )
    current = lambda: f"/support/board/?since={dashboard.change_marker()}"  # noqa: E731
    # The goal's row: a lone viewer's poll, which asks the cache for the marker; then
    # a poll soon after another on the same process (``dashboard.kept_marker``).
    kept_for, dashboard.MARKER_KEPT_SECONDS = dashboard.MARKER_KEPT_SECONDS, 0
    try:
        measure("unchanged poll (204)", current, goal=UNCHANGED_POLL, client=poll, expect=204)
    finally:
        dashboard.MARKER_KEPT_SECONDS = kept_for
    measure("unchanged poll (204), kept marker", current, client=poll, expect=204)

    samples = []
    for _ in range(repeat):
        change_one()
        started = time.perf_counter()
        support_tasks.warm_support_boards()
        samples.append((time.perf_counter() - started) * 1000)
    timer.add("warm-up after a change (worker)", samples)

    keys = list(Incident.objects.filter(status=Status.FIXING).values_list("key", flat=True)[:2])
    refs = [f"SD-{n}" for n in range(0, 2000, 2)]  # 1,000 unlabelled cases
    SupportCase.objects.filter(reference__in=refs).update(label=None)  # a second run
    samples = []
    for round_ in range(2 * ROUNDS + 1):
        started = time.perf_counter()
        # Alternate the key: every round moves all 1,000 cases, the worst case.
        result = support_actions.label_cases(
            key=keys[round_ % 2], references=refs, by=user, move=True
        )
        samples.append((time.perf_counter() - started) * 1000)
        assert result.changed == 1000
    timer.add("label 1,000 cases (action)", samples, goal_ms=LABEL_MS)
    return timer.rows


# ``python -m bench`` runs this module once more on the embedded default (SQLite and
# the file cache), where the dashboard is the same page with the same goals.
ALSO_EMBEDDED = True


def results(full: bool) -> list[dict[str, Any]]:
    """The goal rows for ``make bench``: path, ms, baseline_ms, ratio, goal, holds, range."""
    return run(full, repeat=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="100k incidents, 1M cases")
    parser.add_argument("--repeat", type=int, default=20, help="samples per round")
    args = parser.parse_args()
    rows = run(args.full, args.repeat)
    missed = [row["path"] for row in rows if not row["holds"]]
    print("every goal holds" if not missed else "goals not met: " + "; ".join(missed))


if __name__ == "__main__":
    main()
