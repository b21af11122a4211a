"""Real races on PostgreSQL: many threads, each with its own connection, start together."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from incidents import events
from incidents.actions import ActionRefused, assign_incident, claim_incident, transition_incident
from incidents.models import EntryKind, Incident, KeyCounter, Status, TimelineEntry
from tests.conftest import requires_postgres
from tests.factories import ServiceFactory, UserFactory, make_incident

pytestmark = [
    requires_postgres,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

THREADS = 50


def run_together(jobs: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Run each job in its own thread (so on its own connection), all released at once."""
    barrier = threading.Barrier(len(jobs), timeout=30)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            result = job()
        except BaseException as error:
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results, errors


@contextmanager
def first_waits_for_a_rival(name: str = events.ASSIGNEE_CHANGED) -> Iterator[list[bool]]:
    """Hold the first action to announce ``name`` (by default an assignee change) inside
    its transaction, its row lock taken, until another connection is queued behind that
    lock: the race then happens every run instead of when the threads happen to overlap.

    Gives a list that gets ``True`` once a rival was seen waiting."""
    first = threading.Lock()
    seen: list[bool] = []

    def hold(event: events.IncidentEvent) -> None:
        if not first.acquire(blocking=False):
            return
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted"
                    " AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
                )
                if cursor.fetchone()[0]:
                    seen.append(True)
                    return

    events.subscribe(name, hold)
    try:
        yield seen
    finally:
        events.unsubscribe(name, hold)


def test_concurrent_creations_get_distinct_contiguous_keys(support):
    service = ServiceFactory()
    assert not KeyCounter.objects.exists()  # the first creations race to make the counter

    def create(n: int) -> Callable[[], Incident]:
        return lambda: make_incident(by=support, faulty_service=service, summary=f"Outage {n}")

    created, errors = run_together([create(n) for n in range(THREADS)])

    assert errors == []
    assert len(created) == THREADS
    assert len({incident.key for incident in created}) == THREADS
    incidents = list(Incident.objects.order_by("id"))
    assert [incident.number for incident in incidents] == list(range(1, THREADS + 1))
    assert [incident.key for incident in incidents] == [f"HOT-{n}" for n in range(1, THREADS + 1)]
    created_at = [incident.created_at for incident in incidents]
    assert created_at == sorted(created_at)
    assert KeyCounter.objects.get(prefix="HOT").last_number == THREADS
    assert TimelineEntry.objects.filter(kind=EntryKind.CREATED).count() == THREADS


def test_only_one_of_two_simultaneous_claims_wins(support, manager, other_manager):
    incident = make_incident(by=support)

    def claim(by):
        return lambda: claim_incident(incident, by=by)

    with first_waits_for_a_rival() as rival_queued:
        claimed, errors = run_together([claim(manager), claim(other_manager)])

    assert rival_queued == [True]
    assert len(claimed) == 1
    assert len(errors) == 1
    [refused] = errors
    assert isinstance(refused, ActionRefused)
    assert refused.conflict is True
    winner = claimed[0].assignee
    assert winner in (manager, other_manager)
    assert winner.get_username() in refused.message
    incident.refresh_from_db()
    assert incident.assignee == winner
    assert incident.status == Status.FIXING
    entries = TimelineEntry.objects.filter(incident=incident)
    assert entries.filter(kind=EntryKind.ASSIGNEE).count() == 1
    assert entries.filter(kind=EntryKind.STATUS).count() == 1


def test_simultaneous_hand_overs_keep_a_consistent_history(support, manager, other_manager):
    third_manager = UserFactory(username="lars", group="incident manager")
    incident = claim_incident(make_incident(by=support), by=manager)

    def hand_to(assignee):
        return lambda: assign_incident(incident, assignee=assignee, by=manager)

    with first_waits_for_a_rival() as rival_queued:
        handed, errors = run_together([hand_to(other_manager), hand_to(third_manager)])

    assert rival_queued == [True]
    assert errors == []
    assert len(handed) == 2
    first, second = TimelineEntry.objects.filter(
        incident=incident, kind=EntryKind.ASSIGNEE
    ).order_by("id")[1:]
    assert first.data["from"] == "maya"
    # The second hand-over took the incident from whoever the first gave it to.
    assert second.data["from"] == first.data["to"]
    incident.refresh_from_db()
    assert incident.assignee.get_username() == second.data["to"]


def test_of_two_simultaneous_resolves_the_loser_gets_a_conflict_naming_the_winner(
    support, manager, other_manager
):
    incident = claim_incident(make_incident(by=support), by=manager)
    ended = incident.created_at

    def resolve(by):
        return lambda: transition_incident(
            incident, to=Status.RESOLVED, by=by, impact_ended_at=ended
        )

    with first_waits_for_a_rival(events.STATUS_CHANGED) as rival_queued:
        resolved, errors = run_together([resolve(manager), resolve(other_manager)])

    assert rival_queued == [True]
    assert len(resolved) == 1
    [refused] = errors
    assert isinstance(refused, ActionRefused)
    assert refused.conflict is True
    assert refused.status_code == 409
    winner = resolved[0].timeline.filter(kind=EntryKind.STATUS).latest("id").author
    assert refused.message == f"{incident.key} is already resolved (by {winner.get_username()})."
    assert TimelineEntry.objects.filter(incident=incident, data__to="resolved").count() == 1
