"""On-call requests as production runs them: no test transaction around them.

Every other test runs inside a transaction, where a ``select_for_update`` outside
``transaction.atomic`` goes unnoticed; here each request commits on its own, on
PostgreSQL (SQLite does not lock rows, so it would not notice either).
"""

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from incidents import events
from incidents.actions import claim_incident
from oncall import actions, delivery, tasks
from oncall.models import (
    Escalation,
    EscalationPolicy,
    EscalationState,
    EscalationStep,
    EventKind,
    Page,
    PageState,
)
from tests.conftest import requires_postgres, wait_for
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident

pytestmark = [
    requires_postgres,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def incident(make_roster):
    """A severity 1 incident: pia (the team's on-call IM) is paged, bea is next in 5 min."""
    team = TeamFactory(slug="payments", name="Payments")
    make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    backup = make_roster("payments-backup", people=["bea"], team=team, start_date=date(2026, 1, 5))
    policy = EscalationPolicy.objects.create(team=team)
    EscalationStep.objects.create(policy=policy, position=0, wait_minutes=5, roster=backup)
    return make_incident(severity=1, faulty_service=ServiceFactory(team=team))


def _assert_escalation_stopped(incident, page, time_machine):
    page.refresh_from_db()
    assert page.state == PageState.ACKNOWLEDGED
    assert page.acknowledged_by == page.user
    assert Escalation.objects.get(incident=incident).state == EscalationState.ACKNOWLEDGED
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 0
    assert [p.recipient for p in Page.objects.filter(incident=incident)] == ["pia"]


def test_the_person_paged_acknowledges_through_the_api(api_for, incident, time_machine):
    page = incident.pages.get()
    pia = page.user
    pia.groups.add(*UserFactory(username="x", group="responder").groups.all())

    response = api_for(pia).post(f"/api/oncall/pages/{page.pk}/acknowledge/")

    assert response.status_code == 200
    assert response.json()["state"] == PageState.ACKNOWLEDGED
    _assert_escalation_stopped(incident, page, time_machine)


def test_the_person_paged_acknowledges_with_the_portal_form(client_for, incident, time_machine):
    page = incident.pages.get()
    pia = page.user
    pia.groups.add(*UserFactory(username="x", group="responder").groups.all())

    response = client_for(pia).post(reverse("oncall:page_acknowledge", args=[page.pk]), follow=True)

    assert response.status_code == 200
    assert f"Acknowledged: escalation of {incident.key} stopped." in response.content.decode()
    _assert_escalation_stopped(incident, page, time_machine)


def claim_while(incident, manager, rival) -> list[BaseException]:
    """Claim the incident in one thread and, once the claim holds the incident's lock,
    run ``rival`` in another; the claim waits (up to 3 s) for the rival to queue behind
    it before it goes on. Gives the errors of both; each thread has its own connection."""
    errors: list[BaseException] = []
    claim_holds = threading.Event()

    def hold() -> None:
        if threading.current_thread() is not claimer or claim_holds.is_set():
            return
        claim_holds.set()
        deadline = time.monotonic() + 3
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted"
                    " AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
                )
                if cursor.fetchone()[0]:
                    return

    def run(job) -> None:
        try:
            job()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def after_the_claim_holds() -> None:
        assert claim_holds.wait(10)
        rival()

    claimer = threading.Thread(target=run, args=(lambda: claim_incident(incident, by=manager),))
    other = threading.Thread(target=run, args=(after_the_claim_holds,))
    events.on_change(hold)  # runs at the claim's first timeline entry, its lock taken
    try:
        claimer.start()
        other.start()
        claimer.join(30)
        other.join(30)
    finally:
        claim_holds.set()
        events._change_listeners.remove(hold)  # events has no public way to unlisten
    assert not claimer.is_alive(), "the claim is stuck"
    assert not other.is_alive(), "its rival is stuck"
    return errors


def test_a_claim_and_an_acknowledgement_at_the_same_moment_both_succeed(
    incident, manager, time_machine
):
    # Both lock the incident before the page: one queues behind the other, no deadlock.
    page = incident.pages.get()

    errors = claim_while(incident, manager, lambda: actions.acknowledge_page(page, by=page.user))

    assert errors == []
    page.refresh_from_db()
    assert page.state == PageState.ACKNOWLEDGED
    incident.refresh_from_db()
    assert incident.assignee == manager
    assert Escalation.objects.get(incident=incident).state == EscalationState.ACKNOWLEDGED
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 0


def test_an_escalation_tick_during_a_claim_leaves_it_to_the_next_tick(
    incident, manager, time_machine
):
    # The tick skips an escalation whose incident an action holds, instead of paging
    # and deadlocking with the claim's acknowledgement.
    time_machine.shift(timedelta(minutes=5))  # bea's step is due
    fired: list[int] = []

    errors = claim_while(incident, manager, lambda: fired.append(tasks.escalate()))

    assert errors == []
    assert fired == [0]
    assert Escalation.objects.get(incident=incident).state == EscalationState.ACKNOWLEDGED
    assert tasks.escalate() == 0
    assert [p.recipient for p in Page.objects.filter(incident=incident)] == ["pia"]


# The delivery side locks the incident first too (incident → page → escalation) ----------


def test_a_claim_and_a_page_reaching_nobody_at_the_same_moment_both_complete(
    incident, manager, time_machine
):
    page = incident.pages.get()

    errors = claim_while(incident, manager, lambda: actions.page_reached_nobody(page.pk))

    assert errors == []
    page.refresh_from_db()
    assert page.state == PageState.ACKNOWLEDGED
    assert Escalation.objects.get(incident=incident).state == EscalationState.ACKNOWLEDGED
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 0


def test_a_claim_and_a_page_failing_at_the_same_moment_both_complete(incident, manager):
    page = incident.pages.get()
    assert delivery._claim(page.pk) == 1  # a worker is delivering it

    errors = claim_while(
        incident, manager, lambda: actions.mark_failed(page.pk, "receiver down", number=1)
    )

    assert errors == []
    page.refresh_from_db()
    # The claim came first: the page is acknowledged, the failure finds nothing to fail.
    assert page.state == PageState.ACKNOWLEDGED
    assert not incident.paging_events.filter(kind=EventKind.FAILED).exists()
    assert Escalation.objects.get(incident=incident).state == EscalationState.ACKNOWLEDGED


def test_the_heartbeat_logs_a_database_error_and_keeps_renewing(
    incident, settings, monkeypatch, caplog
):
    page = incident.pages.get()
    assert delivery._claim(page.pk) == 1
    settings.ONCALL_DELIVERY_LEASE_SECONDS = 0.3
    renew = actions.renew_lease
    calls: list[bool] = []

    def database_down_once(page_id: int, attempt: int) -> bool:
        calls.append(True)
        if len(calls) == 1:
            # Only the database can fail here: a restart drops the connection.
            raise OperationalError("server closed the connection unexpectedly")
        return renew(page_id, attempt)

    monkeypatch.setattr(actions, "renew_lease", database_down_once)
    with delivery._heartbeat(page.pk, 1):
        assert wait_for(lambda: len(calls) >= 3, 10), "the heartbeat died"

    assert "could not renew the delivery lease" in caplog.text


def test_a_claim_and_a_channel_giving_up_at_the_same_moment_both_complete(incident, manager):
    page = incident.pages.get()
    assert delivery._claim(page.pk) == 1

    def give_up() -> None:
        actions.record_attempt(
            page,
            channel="email",
            target="pia@example.com",
            number=1,
            ok=False,
            result="550 no such user",
            gave_up=True,
        )

    errors = claim_while(incident, manager, give_up)

    assert errors == []
    page.refresh_from_db()
    assert page.state == PageState.ACKNOWLEDGED
    assert page.attempts.get().gave_up
