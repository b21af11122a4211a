"""Fatigue and hand-over (HANDBOOK §9), with time moved forward."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import actions
from incidents.models import EntryKind, Role
from incidents.workspace import actions as workspace_actions
from incidents.workspace import fatigue
from incidents.workspace import selectors as workspace_selectors
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def providers():
    """Each test starts without the providers other apps register, and gets them back."""
    saved = (fatigue._page_counter, fatigue._next_responder)
    fatigue.unregister()
    yield
    fatigue._page_counter, fatigue._next_responder = saved


@pytest.fixture
def team(manager, responder):
    team = TeamFactory(name="Payments", slug="payments")
    team.members.add(manager, responder)
    return team


@pytest.fixture
def fixing(clock, manager, team):
    incident = make_incident(faulty_service=ServiceFactory(team=team))
    return actions.claim_incident(incident, by=manager)


def load_of(incident, person):
    return next(
        load for load in workspace_selectors.responder_fatigue(incident) if load.person == person
    )


def test_the_clock_runs_from_the_first_role(fixing, manager, clock):
    clock.shift(timedelta(hours=3, minutes=59))
    assert load_of(fixing, manager).level == "ok"

    clock.shift(timedelta(minutes=1))
    load = load_of(fixing, manager)
    assert (load.level, load.awake_for, load.on_incident_since) == ("amber", timedelta(hours=4), T0)

    clock.shift(timedelta(hours=4))
    assert load_of(fixing, manager).level == "red"


def test_the_limits_come_from_the_settings(fixing, manager, clock, settings):
    settings.FATIGUE_AMBER_HOURS = 1
    settings.FATIGUE_RED_HOURS = 2
    clock.shift(timedelta(hours=2))

    assert load_of(fixing, manager).level == "red"


def test_a_timeline_author_counts_from_their_first_entry(fixing, manager, clock):
    tess = UserFactory(username="tess", group="responder")
    clock.shift(timedelta(hours=1))
    actions.add_timeline_entry(fixing, kind=EntryKind.NOTE, text="Looking", by=tess)
    clock.shift(timedelta(hours=4))

    load = load_of(fixing, tess)
    assert (load.awake_for, load.level, load.roles) == (timedelta(hours=4), "amber", [])


def test_a_break_starts_the_clock_again(fixing, manager, clock):
    clock.shift(timedelta(hours=5))
    workspace_actions.record_break(fixing, person=manager, by=manager)
    clock.shift(timedelta(hours=1))

    load = load_of(fixing, manager)
    assert (load.level, load.awake_for, load.rested_at) == (
        "ok",
        timedelta(hours=1),
        T0 + timedelta(hours=5),
    )
    assert fixing.timeline.get(kind=EntryKind.BREAK).text == "maya took a break."


def test_a_hand_over_starts_the_clock_again(fixing, manager, responder, clock):
    tech = actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)
    clock.shift(timedelta(hours=9))
    actions.hand_over_role(tech, to=UserFactory(username="tess", group="responder"), by=manager)
    actions.assign_role(fixing, person=responder, role=Role.COMMS_INTERNAL, by=manager)
    clock.shift(timedelta(minutes=30))

    assert load_of(fixing, responder).awake_for == timedelta(minutes=30)
    assert load_of(fixing, manager).level == "red"


def test_pages_are_unknown_without_a_provider(fixing, manager):
    assert load_of(fixing, manager).pages_24h is None


def test_pages_come_from_the_registered_provider(fixing, manager, providers):
    seen = []

    def count(user_ids, since):
        seen.append((sorted(user_ids), since))
        return {manager.pk: 3}

    fatigue.register_page_counter(count)

    assert load_of(fixing, manager).pages_24h == 3
    assert seen == [([manager.pk], T0 - timedelta(hours=24))]


def test_a_tired_person_gets_a_spare_teammate_proposed(fixing, manager, responder, clock):
    clock.shift(timedelta(hours=5))

    assert load_of(fixing, manager).next_up == responder


def test_the_roster_provider_names_who_is_next(fixing, manager, clock, providers):
    roster_next = UserFactory(username="nina", group="incident manager")
    fatigue.register_next_responder(lambda incident, person: roster_next)
    clock.shift(timedelta(hours=5))

    assert load_of(fixing, manager).next_up == roster_next


def test_a_fresh_person_gets_no_proposal(fixing, manager):
    assert load_of(fixing, manager).next_up is None


def test_the_workspace_warns_and_records_a_break(client_for, fixing, manager, clock):
    clock.shift(timedelta(hours=9))
    client = client_for(manager)

    body = client.get(fixing.get_absolute_url()).content.decode()
    assert 'class="badge fatigue-red">hand over' in body
    assert "pages in 24 h: unknown" in body

    response = client.post(reverse("incidents:break", args=[fixing.key]), {"person": manager.pk})
    assert response.status_code == 302
    assert (
        'class="badge fatigue-ok">fresh' in client.get(fixing.get_absolute_url()).content.decode()
    )


def test_a_responder_may_not_send_someone_else_on_a_break(client_for, fixing, manager, responder):
    url = reverse("incidents:break", args=[fixing.key])

    assert client_for(responder).post(url, {"person": manager.pk}).status_code == 403
    assert client_for(responder).post(url, {"person": responder.pk}).status_code == 302


def test_a_break_without_a_person_is_a_400(client_for, fixing, manager):
    response = client_for(manager).post(reverse("incidents:break", args=[fixing.key]), {})

    assert response.status_code == 400


def test_the_fatigue_card_costs_the_same_queries_whatever_the_team_size(fixing, manager, clock):
    def measure():
        with CaptureQueriesContext(connection) as queries:
            workspace_selectors.responder_fatigue(fixing)
        return len(queries)

    measure()  # warm up: the incident's service and team
    few = measure()
    for number in range(8):
        person = UserFactory(username=f"r{number}", group="responder")
        actions.assign_role(fixing, person=person, role=Role.TECH_LEAD, by=manager)
        actions.add_timeline_entry(fixing, kind=EntryKind.NOTE, text="hi", by=person)
    assert measure() == few
