"""Each incident's metrics figures, kept up to date by the incident actions (issue 15):
they always equal a recomputation from scratch, concurrent changes neither lose one nor
deadlock (an alert batch changing several incidents against people changing one), and
the cached page follows every change."""

import io
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incidents import actions
from incidents.models import Incident, Status
from incidents.support import figures, metrics, metrics_months
from incidents.support.figures import IncidentFigures
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident
from tests.incidents.support.metrics_reference import assert_figures_match


def parts():
    return sorted(
        IncidentFigures.objects.values_list(
            "incident_id", "month", "severity", "service_id", "started", "ttd_us", "ttr_us"
        )
    )


def assert_figures_are_a_recomputation():
    kept = parts()
    figures.rebuild()
    assert parts() == kept


# A time within the last ~150 days, to the microsecond: the medians and p90s must be
# exact whatever the durations, and the months and period edges vary.
minutes_ago = st.integers(min_value=10, max_value=150 * 24 * 60)
micro = st.integers(min_value=0, max_value=999_999)
duration = st.integers(min_value=0, max_value=3 * 24 * 60 * 60)  # seconds

create = st.fixed_dictionaries(
    {
        "op": st.just("create"),
        "ago": minutes_ago,
        "micro": micro,
        "started": st.booleans(),
        "ttd": duration,
        "severity": st.sampled_from([1, 2, 3]),
        "service": st.integers(0, 2),
        "restricted": st.booleans(),
    }
)
change = st.fixed_dictionaries(
    {
        "op": st.sampled_from(
            ["times", "severity", "service", "restrict", "resolve", "reopen", "fold", "look"]
        ),
        "which": st.integers(0, 20),
        "ago": minutes_ago,
        "micro": micro,
        "ttd": duration,
        "ttr": duration,
        "severity": st.sampled_from([1, 2, 3]),
        "service": st.integers(0, 2),
    }
)


@pytest.fixture
def seer(security):
    """Sees every incident, restricted ones too."""
    return security


@pytest.fixture
def bystander(db):
    """Sees every unrestricted incident and none of the restricted ones (never took part
    in one): the stored figures alone."""
    return UserFactory(username="bo", group="support")


@pytest.fixture
def world(support, manager):
    team = TeamFactory(slug="pay")
    services = [
        ServiceFactory(slug="s0", name="S0", team=team),
        ServiceFactory(slug="s1", name="S1", team=team),
        ServiceFactory(slug="s2", name="S2"),
    ]
    return support, manager, services


def _apply(step, made, support, manager, services, seer):
    now = timezone.now()
    start = now - timedelta(minutes=step["ago"], microseconds=step["micro"])
    if step["op"] == "create":
        made.append(
            make_incident(
                by=support,
                severity=step["severity"],
                faulty_service=services[step["service"]],
                restricted=step["restricted"],
                impact_started_at=start if step["started"] else None,
                detected_at=min(start + timedelta(seconds=step["ttd"]), now),
            )
        )
        return
    if step["op"] == "fold":
        figures.fold()
        return
    if step["op"] == "look":
        # A page seen midway keeps its months in the cache: later changes must show.
        assert_figures_match(seer)
        return
    if not made:
        return
    incident = Incident.objects.get(pk=made[step["which"] % len(made)].pk)
    try:
        if step["op"] == "times":
            end = start + timedelta(seconds=step["ttr"]) if incident.impact_ended_at else None
            actions.update_incident(
                incident,
                by=manager,
                impact_started_at=start,
                detected_at=min(start + timedelta(seconds=step["ttd"]), now),
                impact_ended_at=min(end, now) if end else None,
            )
        elif step["op"] == "severity":
            actions.change_severity(incident, severity=step["severity"], by=manager)
        elif step["op"] == "service":
            actions.update_incident(incident, by=manager, faulty_service=services[step["service"]])
        elif step["op"] == "restrict":
            actions.update_incident(incident, by=manager, restricted=not incident.restricted)
        elif step["op"] == "resolve" and incident.is_open:
            began = incident.impact_started_at or incident.created_at
            ended = min(began + timedelta(seconds=step["ttr"]), now)
            actions.transition_incident(
                incident, to=Status.RESOLVED, by=manager, impact_ended_at=ended
            )
        elif step["op"] == "reopen" and incident.status == Status.RESOLVED:
            actions.assign_incident(incident, assignee=manager, by=manager)
            actions.transition_incident(incident, to=Status.FIXING, by=manager)
    except actions.ActionRefused:
        pass  # refused as asked (times out of order): nothing was written


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.one_of(create, change), min_size=1, max_size=12))
def test_figures_equal_a_recomputation_after_any_changes(world, seer, bystander, steps):
    support, manager, services = world
    point = transaction.savepoint()  # each example starts from the same empty database
    # Rolled back, the change log counts again from where the last example began: pages
    # and months kept under those versions belong to a database that never committed.
    cache.clear()
    metrics_months.forget()
    try:
        made = []
        for step in steps:
            _apply(step, made, support, manager, services, seer)
        today = timezone.localdate()
        for filters in (
            {},
            {"since": today - timedelta(days=40)},
            {"since": today - timedelta(days=100), "until": today - timedelta(days=20)},
            {"team": "pay", "severity": 2},
        ):
            assert_figures_match(seer, **filters)
            # A viewer who sees no restricted incident, as the page knows: the stored
            # figures alone, no restricted incident read.
            assert_figures_match(bystander, restricted=(), **filters)
            # One who sees those they took part in: the manager, assigned to those
            # reopened (the support desk logged them all, so sees them all).
            assert_figures_match(manager, **filters)
        assert_figures_are_a_recomputation()
    finally:
        transaction.savepoint_rollback(point)


def test_rebuild_command_restores_figures_written_past_the_actions(world):
    support, _, services = world
    made = make_incident(by=support, faulty_service=services[0])
    IncidentFigures.objects.all().delete()
    out = io.StringIO()
    call_command("rebuild_metrics", stdout=out)
    assert "1 incident" in out.getvalue()
    assert IncidentFigures.objects.get().incident_id == made.pk


def test_cached_page_shows_a_change_once_committed(
    client_for, world, django_capture_on_commit_callbacks
):
    support, manager, services = world
    incident = make_incident(
        by=support,
        faulty_service=services[0],
        impact_started_at=timezone.now() - timedelta(hours=1),
    )
    client = client_for(support)
    assert client.get("/support/metrics/").context["m"].ttr.count == 0
    with django_capture_on_commit_callbacks(execute=True):
        actions.transition_incident(
            incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
        )
    assert client.get("/support/metrics/").context["m"].ttr.count == 1
    services[0].name = "Renamed"
    with django_capture_on_commit_callbacks(execute=True):
        services[0].save()  # the admin's way: no action, no event
    page = client.get("/support/metrics/")
    assert [name for name, *_ in page.context["m"].by_service] == ["Renamed"]


@pytest.mark.parametrize("since_days", [None, 70])
def test_after_a_change_only_the_months_it_touched_are_read_again(world, since_days, time_machine):
    """The months a page read stay in the process under their version, whole or the part
    a period covers: a page computed after a change reads the changed month, and no
    other, from the database or cache."""
    # Mid-month, 70 days back too: the old incident's month is covered in part.
    time_machine.move_to(datetime(2026, 6, 16, 12, tzinfo=UTC))
    support, manager, services = world
    now = timezone.now()
    old, recent = (
        make_incident(
            by=support,
            faulty_service=services[0],
            impact_started_at=now - ago,
            detected_at=now - ago + timedelta(minutes=5),
        )
        for ago in (timedelta(days=70), timedelta(days=5))
    )
    # From the day of the old incident's start: its month is covered in part.
    since = timezone.localdate(now - timedelta(days=since_days)) if since_days else None
    assert metrics.compute(support, since=since).ttd.count == 2
    actions.update_incident(recent, by=manager, detected_at=now - timedelta(days=5, minutes=-9))
    # Behind the versions' back (no action, no change logged): only where the old month
    # is read from shows.
    IncidentFigures.objects.filter(incident=old).delete()
    cache.clear()
    assert metrics.compute(support, since=since).ttd.count == 2
    metrics_months.forget()
    assert metrics.compute(support, since=since).ttd.count == 1


def _at_once(*calls):
    """Run the calls in threads released together; each thread its own connection."""
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_racing_changes_of_one_month_lose_no_count(manager):
    support = UserFactory(group="support")
    service = ServiceFactory()
    start = timezone.now() - timedelta(hours=3)
    made = [
        make_incident(by=support, severity=3, faulty_service=service, impact_started_at=start)
        for _ in range(6)
    ]
    # Every incident moves into one month and severity, all at once.
    _at_once(
        *[
            (lambda incident=incident: actions.change_severity(incident, severity=1, by=manager))
            for incident in made
        ]
    )
    assert IncidentFigures.objects.filter(severity=1).count() == 6
    assert not IncidentFigures.objects.filter(severity=3).exists()
    assert_figures_are_a_recomputation()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_batch_changing_several_incidents_does_not_deadlock_a_person(manager):
    """An alert batch is one transaction: it opens an incident, then changes another
    one (Y). A person changing Y meanwhile holds Y and records its figures: nothing
    the batch holds may be what the person then waits for."""
    support = UserFactory(group="support")
    service = ServiceFactory()
    y = make_incident(by=support, faulty_service=service, severity=2)
    batch_opened_one = threading.Event()
    person_holds_y = threading.Event()

    def batch():
        with transaction.atomic():
            make_incident(by=support, faulty_service=service, severity=2)
            batch_opened_one.set()
            person_holds_y.wait(timeout=5)
            actions.change_severity(y, severity=3, by=support)

    def person():
        batch_opened_one.wait(timeout=5)
        with transaction.atomic():
            Incident.objects.select_for_update().get(pk=y.pk)
            person_holds_y.set()
            actions.change_severity(y, severity=1, by=manager)

    _at_once(batch, person)  # a deadlock fails one of them with OperationalError
    assert IncidentFigures.objects.get(pk=y.pk).severity == 3  # the batch went second
    assert_figures_are_a_recomputation()


@pytest.fixture
def counted(monkeypatch):
    """Counts of what pages do to their months: months read from the database, spans
    merged and groups in them (``_joined``, ``_both``), spans patched."""
    done = {"read": [], "joined": 0, "both": 0, "patched": 0}

    def count(name, real, into=None):
        def counting(*args):
            result = real(*args)
            if into is not None:
                into(args, result)
            else:
                done[name.strip("_")] += 1
            return result

        monkeypatch.setattr(metrics_months, name, counting)

    count("_read_cells", metrics_months._read_cells, lambda args, _: done["read"].extend(args[0]))
    count("_joined", metrics_months._joined)
    count("_both", metrics_months._both)

    def patched(_args, result):
        done["patched"] += result is not None

    count("_patched_span", metrics_months._patched_span, patched)
    return done


def _four_months(world):
    support, _, services = world
    now = timezone.now()
    return [
        make_incident(
            by=support,
            faulty_service=services[index % 3],
            impact_started_at=now - timedelta(days=days),
            detected_at=now - timedelta(days=days, minutes=-5 * (index + 1)),
        )
        for index, days in enumerate((100, 70, 40, 10, 95))
    ]


@pytest.mark.parametrize("folded", [False, True])
def test_after_a_change_only_the_spans_holding_its_month_change(
    world, counted, time_machine, folded
):
    """A page without filters merges its months as a tree of spans. After a change in
    one month of four, the process that kept them patches that month and the two spans
    holding it (its half, the whole) with the incident's figures: nothing is read or
    merged again. Once the log was folded past the change it no longer says which
    incident changed: the month is read again and the two spans merged again, in them
    only the groups the change touched. Either way the figures are the slow way's."""
    time_machine.move_to(datetime(2026, 6, 16, 12, tzinfo=UTC))
    support, manager, _ = world
    made = _four_months(world)
    assert_figures_match(support)
    assert counted["joined"] == 3  # four months: two halves and the whole
    counted.update(read=[], joined=0, both=0)
    now = timezone.now()
    actions.update_incident(made[1], by=manager, detected_at=now - timedelta(days=69))
    if folded:
        figures.fold()
    assert_figures_match(support)
    if folded:
        assert counted["read"] == [made[1].figures.month]
        assert counted["joined"] == 2
        # In each, only what the change touched: its severity, its service and the total.
        assert counted["both"] == 2 * 3
        assert counted["patched"] == 0
    else:
        assert counted["read"] == []
        assert counted["joined"] == counted["both"] == 0
        assert counted["patched"] == 3  # the month, its half, the whole


def test_a_kept_month_follows_every_kind_of_change_by_patches(world, counted, time_machine):
    """Each change the log names is patched into the months a process keeps, whatever it
    moves: durations, severity, service, an incident restricted (its figures gone) and
    opened again, moved to another month, a new one, resolved. The figures stay the slow
    way's and no month is read again."""
    time_machine.move_to(datetime(2026, 6, 16, 12, tzinfo=UTC))
    support, manager, services = world
    made = _four_months(world)
    assert_figures_match(support)
    assert_figures_match(support, since=timezone.localdate() - timedelta(days=80))
    now = timezone.now()
    one, other = made[0], made[3]
    changes = [
        lambda: actions.update_incident(one, by=manager, detected_at=one.detected_at + SECOND),
        lambda: actions.change_severity(one, severity=1, by=manager),
        lambda: actions.update_incident(one, by=manager, faulty_service=services[2]),
        lambda: actions.update_incident(one, by=manager, restricted=True),
        lambda: actions.update_incident(one, by=manager, restricted=False),
        lambda: actions.update_incident(
            other,
            by=manager,
            impact_started_at=now - timedelta(days=41),
            detected_at=now - timedelta(days=40, hours=23),
        ),
        lambda: make_incident(
            by=support, faulty_service=services[1], impact_started_at=now - timedelta(days=99)
        ),
        lambda: actions.transition_incident(
            one, to=Status.RESOLVED, by=manager, impact_ended_at=now - timedelta(days=90)
        ),
    ]
    for change in changes:
        counted.update(read=[], patched=0)
        change()
        one.refresh_from_db()
        other.refresh_from_db()
        assert_figures_match(support)
        assert counted["read"] == []
        assert counted["patched"] >= 1
    # A month patched twice between two pages without filters (a page with filters, or
    # of another period, in between), for two of its incidents: the spans merged from
    # it are merged again.
    for incident in (one, made[4]):  # of one month
        incident.refresh_from_db()
        actions.update_incident(incident, by=manager, detected_at=incident.detected_at + SECOND)
        assert_figures_match(support, team="pay")
    counted.update(read=[], patched=0, joined=0)
    assert_figures_match(support)
    assert counted["read"] == []
    assert counted["joined"] >= 1
    assert_figures_are_a_recomputation()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ids handed out before commit")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("folded", [False, True])
def test_a_change_committed_after_a_later_one_shows(counted, folded):
    """A change takes its log row's id before another change and commits after a page
    read the month and the later row: the next page patches the month with it; once a
    fold merged it into the row the page saw, the log no longer tells it apart and the
    month is read again. Either way the page shows both changes."""
    support = UserFactory(group="support")
    service = ServiceFactory()
    now = timezone.now()
    made = [
        make_incident(
            by=support,
            faulty_service=service,
            impact_started_at=now - timedelta(minutes=5),
            detected_at=now - timedelta(minutes=4),
        )
        for _ in range(2)
    ]

    def later(incident, seconds):
        incident = Incident.objects.get(pk=incident.pk)
        detected = incident.detected_at + timedelta(seconds=seconds)
        actions.update_incident(incident, by=support, detected_at=detected)

    def slow():
        with transaction.atomic():
            later(made[0], 10)  # the lower id
            held.set()
            assert go.wait(10)

    held, go = threading.Event(), threading.Event()
    first = threading.Thread(target=_at_once, args=(slow,))
    first.start()
    assert held.wait(10)
    later(made[1], 20)  # a higher id, committed first
    assert_figures_match(support)
    go.set()
    first.join()
    if folded:
        figures.fold()  # the lower row merged into the higher one, which the page saw
    counted.update(read=[])
    assert_figures_match(support)
    assert counted["read"] == ([made[0].figures.month] if folded else [])


SECOND = timedelta(seconds=1)


_DURATION = st.none() | st.integers(min_value=0, max_value=2**50)


@given(
    rows=st.lists(
        st.tuples(st.booleans(), st.integers(1, 4), st.integers(1, 5), _DURATION, _DURATION),
        max_size=60,
    ),
    random=st.randoms(use_true_random=False),
)
def test_a_months_cells_are_its_rows_whatever_their_order(rows, random):
    """A month's rows come from the database in no order (``_month`` sorts them): each
    cell holds its rows' incidents and sorted durations, as when they come sorted
    (``gathered``)."""
    shuffled = [(pk, *row) for pk, row in enumerate(rows)]
    random.shuffle(shuffled)
    cells = metrics_months._month(metrics_months._rows(shuffled), None)
    ordered = metrics_months.gathered(sorted(rows, key=lambda row: row[:3]))
    expected = {}
    for started, severity, service, ttd, ttr in rows:
        cell = expected.setdefault((started, severity, service), [0, [], []])
        cell[0] += 1
        cell[1] += [ttd] if ttd is not None else []
        cell[2] += [ttr] if ttr is not None else []
    assert cells.keys == sorted(expected)
    for gathered in (cells, ordered):
        assert {
            key: [count, ttds.tolist(), ttrs.tolist()]
            for key, (count, ttds, ttrs) in gathered.items()
        } == {
            key: [count, sorted(ttds), sorted(ttrs)]
            for key, (count, ttds, ttrs) in expected.items()
        }


# Few values: equal durations in a cell, and parts equal to those they replace.
_FEW = st.none() | st.integers(0, 4)
_PART = st.tuples(st.booleans(), st.integers(1, 2), st.integers(1, 2), _FEW, _FEW)


@given(
    before=st.dictionaries(st.integers(1, 40), _PART, max_size=30),
    after=st.dictionaries(st.integers(1, 40), st.none() | _PART, max_size=10),
)
# Two incidents of one cell with equal durations go; one comes back in another.
@example(
    before={1: (True, 1, 1, 2, 2), 2: (True, 1, 1, 2, 2)}, after={1: None, 2: (False, 1, 1, 2, 2)}
)
def test_a_patched_month_is_the_month_gathered_from_its_rows(before, after):
    """A month patched with the parts some incidents have now (None: no longer in the
    month) holds the cells gathered from its rows as they are now, and its span is the
    span of those cells, whatever moved: cells emptied and new ones, equal durations,
    missing ones."""
    month = date(2026, 5, 1)
    log = metrics_months.Log(frozenset(), 0)

    def cells_of(parts):
        rows = metrics_months._rows(sorted((pk, *part) for pk, part in parts.items()))
        return metrics_months._month(rows, log)

    kept = cells_of(before)
    # As the log's join reads them: month, id, changes, incident, its month and part.
    new = [
        (month, pk, 1, pk, month if part else date(2026, 4, 1), *(part or (True, 1, 1, 0, 0)))
        for pk, part in after.items()
    ]
    patched, (gone, came) = metrics_months._patch(kept, month, new, log)
    now = {**before, **after}
    expected = cells_of({pk: part for pk, part in now.items() if part is not None})
    assert patched.rows.ids.tolist() == expected.rows.ids.tolist()
    # Patched in place, not gathered again from the rows (``_patch``'s way out).
    moved = metrics_months._moved_cells(kept, gone, came)
    assert moved is not None
    assert _as_lists(moved[:6]) == _as_lists(expected[:6]) == _as_lists(patched[:6])
    # The span patched with what changed is the span of the cells as they are now.
    span = metrics_months._patched_span(metrics_months.Month(kept, "k0", "p").span, (gone, came))
    assert _as_lists(span) == _as_lists(metrics_months.Month(expected, "k1", "p").span)


def _as_lists(value):
    """Arrays as lists, in whatever tuples and dicts hold them."""
    if isinstance(value, dict):
        return {key: _as_lists(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_as_lists(item) for item in value]
    return value.tolist() if hasattr(value, "tolist") else value


@given(
    values=st.lists(st.integers(0, 5), max_size=20),
    taken=st.lists(st.integers(0, 19), max_size=6, unique=True),
    into=st.lists(st.integers(0, 6), max_size=6),
    absent=st.integers(6, 9),
)
def test_sorted_durations_replaced_in_one_copy(values, taken, into, absent):
    """Durations taken out of and put into sorted ones (equal values too) are the sorted
    durations that remain; one not there refuses the patch."""
    ordered = metrics_months._shared(np.array(sorted(values), dtype=np.int64))
    out = [ordered.item(index) for index in taken if index < len(values)]
    replaced = metrics_months._replaced(ordered, out, into)
    expected = Counter(values)
    expected.subtract(out)
    expected.update(into)
    assert replaced.tolist() == sorted(expected.elements())
    assert metrics_months._replaced(ordered, [*out, absent], into) is None
