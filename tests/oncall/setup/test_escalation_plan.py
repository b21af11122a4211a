"""An escalation follows the policy as it was when it started: edits, removed people and
archived rosters during an incident never change or break it."""

from datetime import date, timedelta

import pytest

from oncall import actions, tasks
from oncall.models import Escalation, EventKind, PageReason, PageState, PagingEvent, StepKind
from oncall.setup import actions as setup
from oncall.setup import selectors
from oncall.setup.actions import StepIn
from tests.factories import UserFactory, make_incident

from .conftest import NOW


@pytest.fixture(autouse=True)
def _frozen(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def rosters(team, people, make_roster):
    pia, bea, _lea = people
    first = make_roster("payments-im", people=[], team=team, start_date=date(2026, 1, 5))
    actions.change_rotation(first, by=None, effective=actions.NOW, participants=[pia])
    backup = make_roster("payments-backup", people=[], team=team, start_date=date(2026, 1, 5))
    actions.change_rotation(backup, by=None, effective=actions.NOW, participants=[bea])
    return first, backup


@pytest.fixture
def policy(team, rosters, people, team_admin):
    _first, backup = rosters
    return setup.save_escalation_policy(
        team,
        steps=[
            StepIn(kind=StepKind.ROSTER, wait_minutes=5, roster=backup),
            StepIn(kind=StepKind.USER, wait_minutes=10, user=people[2]),
        ],
        repeat=0,
        by=team_admin,
    )


def paged(incident):
    return [(page.recipient, page.reason) for page in incident.pages.order_by("pk")]


def fire_after(time_machine, minutes):
    time_machine.shift(timedelta(minutes=minutes))
    return tasks.escalate()


def test_the_escalation_stores_the_steps_it_started_with(service, policy, staffed_imoc):
    incident = make_incident(severity=1, faulty_service=service)
    plan = Escalation.objects.get(incident=incident).plan
    assert plan["repeat"] == 0
    assert [(s["kind"], s["wait_minutes"], s["label"]) for s in plan["steps"]] == [
        ("roster", 5, "Payments Backup"),
        ("user", 10, "lea"),
    ]


def test_an_edit_during_an_escalation_changes_only_later_incidents(
    service, policy, staffed_imoc, team, team_admin, time_machine
):
    running = make_incident(severity=1, faulty_service=service)
    zed = UserFactory(username="zed")
    setup.save_escalation_policy(
        team,
        steps=[StepIn(kind=StepKind.USER, wait_minutes=1, user=zed)],
        repeat=0,
        by=team_admin,
    )
    later = make_incident(severity=1, faulty_service=service)

    assert fire_after(time_machine, 1) == 1  # only the later incident's step is due
    assert paged(later)[-1] == ("zed", PageReason.ESCALATION)
    assert paged(running) == [("pia", PageReason.INCIDENT)]
    # The later incident's IMOC (a minute after zed) is due by now too.
    assert fire_after(time_machine, 4) == 2
    assert paged(running)[-1] == ("bea", PageReason.ESCALATION)
    assert fire_after(time_machine, 10) == 1
    assert paged(running)[-1] == ("lea", PageReason.ESCALATION)
    assert "zed" not in [who for who, _ in paged(running)]


def test_a_person_removed_mid_escalation_is_skipped_with_a_note(
    service, policy, staffed_imoc, people, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)
    people[2].delete()  # lea leaves: her step row goes with her, the plan keeps her place
    assert fire_after(time_machine, 5) == 1
    assert fire_after(time_machine, 10) == 1
    # Her step reached nobody, so the IMOC came straight after.
    assert paged(incident)[-1] == ("ivo", PageReason.IMOC)
    notes = PagingEvent.objects.filter(incident=incident, kind=EventKind.NOBODY)
    assert [note.text for note in notes] == ["Step 2: lea can no longer be paged."]


def test_an_archived_roster_pages_nobody(service, rosters, staffed_imoc, team_admin, people, team):
    first, _backup = rosters
    setup.archive_roster(first, by=team_admin)
    incident = make_incident(severity=1, faulty_service=service)
    # The backup is the team's first active roster now.
    assert paged(incident) == [("bea", PageReason.INCIDENT)]
    setup.archive_roster(rosters[1], by=team_admin)
    other = make_incident(severity=1, faulty_service=service)
    assert paged(other) == [("ivo", PageReason.IMOC)]


def test_a_whole_team_step_pages_every_member_and_one_answer_stops_them_all(
    service, rosters, staffed_imoc, people, team, team_admin, time_machine
):
    setup.set_team_members(team, users=people[1:], by=team_admin)
    setup.save_escalation_policy(
        team, steps=[StepIn(kind=StepKind.TEAM, wait_minutes=3)], repeat=0, by=team_admin
    )
    incident = make_incident(severity=1, faulty_service=service)
    assert fire_after(time_machine, 3) == 1
    assert paged(incident) == [
        ("pia", PageReason.INCIDENT),
        ("bea", PageReason.ESCALATION),
        ("lea", PageReason.ESCALATION),
    ]
    bea_page = incident.pages.get(user__username="bea")
    actions.acknowledge_page(bea_page, by=people[1])
    states = dict(incident.pages.values_list("user__username", "state"))
    assert states["bea"] == PageState.ACKNOWLEDGED
    assert states["lea"] == PageState.CANCELLED
    assert fire_after(time_machine, 60) == 0


def test_an_imoc_step_pages_the_imoc_on_call(
    service, rosters, staffed_imoc, team, team_admin, time_machine
):
    setup.save_escalation_policy(
        team, steps=[StepIn(kind=StepKind.IMOC, wait_minutes=2)], repeat=0, by=team_admin
    )
    incident = make_incident(severity=1, faulty_service=service)
    assert fire_after(time_machine, 2) == 1
    assert paged(incident)[-1] == ("ivo", PageReason.IMOC)


def test_an_escalation_started_before_plans_follows_the_policy(
    service, policy, staffed_imoc, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)
    Escalation.objects.filter(incident=incident).update(plan=None)
    assert fire_after(time_machine, 5) == 1
    assert paged(incident)[-1] == ("bea", PageReason.ESCALATION)


def test_the_preview_says_who_is_paged_when_as_it_then_happens(
    service, policy, staffed_imoc, team, time_machine
):
    preview = selectors.preview(team, NOW)
    assert [(row.at - NOW, [u.username for u in row.who]) for row in preview] == [
        (timedelta(0), ["pia"]),
        (timedelta(minutes=5), ["bea"]),
        (timedelta(minutes=15), ["lea"]),
        (timedelta(minutes=20), ["ivo"]),
    ]
    incident = make_incident(severity=1, faulty_service=service)
    for minutes in (5, 10, 5):
        assert fire_after(time_machine, minutes) == 1
    times = [page.created_at - NOW for page in incident.pages.order_by("pk")]
    assert times == [row.at - NOW for row in preview]


def test_the_preview_at_a_later_time_follows_the_rotation(
    service, team, people, make_roster, staffed_imoc, team_admin
):
    pia, bea, lea = people
    setup.create_team_roster(
        team,
        name="Primary",
        by=team_admin,
        participants=[pia, bea, lea],
        shift_unit="days",
        start_date=date(2026, 3, 1),
        handoff_time=NOW.time(),
    )
    # Day shifts from 1 March 10:00 UTC: pia, bea (2 March), lea (3 March).
    assert [u.username for u in selectors.preview(team, NOW)[0].who] == ["bea"]
    later = selectors.preview(team, NOW + timedelta(days=1))
    assert [u.username for u in later[0].who] == ["lea"]
