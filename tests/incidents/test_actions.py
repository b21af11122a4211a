"""Every incident action against the real database: rows, timeline entries and events."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from incidents import events
from incidents.actions import (
    TRANSITIONS,
    ActionRefused,
    add_timeline_entry,
    assign_incident,
    change_severity,
    claim_incident,
    transition_incident,
    update_incident,
)
from incidents.models import EntryKind, Incident, KeyCounter, Status, TimelineEntry
from tests.factories import ProductFactory, ServiceFactory, UserFactory, make_incident

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    """The clock stands still at NOW."""
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def service():
    return ServiceFactory(name="Payments API", slug="payments-api")


@pytest.fixture
def incident(support, service):
    return make_incident(by=support, faulty_service=service, severity=3)


@pytest.fixture
def fixing(incident, manager):
    return claim_incident(incident, by=manager)


@pytest.fixture
def resolved(fixing, manager):
    return transition_incident(fixing, to=Status.RESOLVED, by=manager, impact_ended_at=_ago(1))


class Boom(Exception):
    pass


@pytest.fixture
def failing_handler():
    """Subscribe a handler that raises to one event, like a broken outbox writer."""
    subscribed: list[str] = []

    def explode(event: events.IncidentEvent) -> None:
        raise Boom(event.name)

    def subscribe(name: str) -> None:
        events.subscribe(name, explode)
        subscribed.append(name)

    yield subscribe
    for name in subscribed:
        events.unsubscribe(name, explode)


def _ago(hours: float) -> datetime:
    return timezone.now() - timedelta(hours=hours)


def _later(hours: float) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def _entries(incident: Incident, kind: str | None = None) -> list[TimelineEntry]:
    entries = TimelineEntry.objects.filter(incident=incident).order_by("id")
    if kind is not None:
        entries = entries.filter(kind=kind)
    return list(entries)


def _snapshot(incident: Incident) -> tuple:
    """What an action must leave untouched when it refuses."""
    row = Incident.objects.values().get(pk=incident.pk)
    return row, TimelineEntry.objects.filter(incident=incident).count()


# create_incident ------------------------------------------------------------------------


def test_created_incident_gets_the_configured_prefix_and_number_one(settings, support, service):
    settings.INCIDENT_KEY_PREFIX = "OPS"

    incident = make_incident(by=support, faulty_service=service)

    assert incident.key == "OPS-1"
    assert (incident.prefix, incident.number) == ("OPS", 1)
    assert KeyCounter.objects.get(prefix="OPS").last_number == 1


def test_key_numbers_increase_with_each_creation(support, service):
    keys = [make_incident(by=support, faulty_service=service).key for _ in range(3)]

    assert keys == ["HOT-1", "HOT-2", "HOT-3"]


def test_each_prefix_counts_on_its_own(settings, support, service):
    make_incident(by=support, faulty_service=service)
    make_incident(by=support, faulty_service=service)
    settings.INCIDENT_KEY_PREFIX = "SEC"

    assert make_incident(by=support, faulty_service=service).key == "SEC-1"


def test_chat_room_defaults_to_the_key(support, service):
    incident = make_incident(by=support, faulty_service=service)

    assert incident.chat_room == incident.key


def test_chat_room_given_is_kept(support, service):
    incident = make_incident(by=support, faulty_service=service, chat_room="#payments-war-room")

    assert incident.chat_room == "#payments-war-room"


def test_detected_at_defaults_to_now(frozen, support, service):
    incident = make_incident(by=support, faulty_service=service)

    incident.refresh_from_db()
    assert incident.detected_at == frozen
    assert incident.created_at == frozen


def test_created_incident_is_new_unassigned_with_its_products(support, service):
    web, api = ProductFactory(), ProductFactory()

    incident = make_incident(by=support, faulty_service=service, products=[web, api])

    incident.refresh_from_db()
    assert incident.status == Status.NEW
    assert incident.assignee is None
    assert incident.created_by == support
    assert set(incident.affected_products.all()) == {web, api}


def test_creation_writes_one_created_entry(support, service):
    incident = make_incident(by=support, faulty_service=service, severity=2)

    [entry] = _entries(incident)
    assert entry.kind == EntryKind.CREATED
    assert entry.author == support
    assert entry.text == f"sam logged {incident.key} with severity 2 on Payments API."
    assert entry.data.items() >= {"severity": 2, "faulty_service": "payments-api"}.items()


@pytest.mark.parametrize("field", ["impact_started_at", "detected_at"])
def test_creation_refuses_a_time_in_the_future(field, support, service):
    with pytest.raises(ActionRefused) as refused:
        make_incident(by=support, faulty_service=service, **{field: _later(1)})

    assert refused.value.field == field
    assert "future" in refused.value.message
    assert not Incident.objects.exists()


def test_creation_allows_a_clock_a_few_minutes_ahead(support, service):
    soon = _later(0.05)  # three minutes: clock drift, not a mistake

    incident = make_incident(by=support, faulty_service=service, detected_at=soon)

    assert incident.detected_at == soon


def test_creation_refuses_detection_before_the_impact_started(support, service):
    with pytest.raises(ActionRefused) as refused:
        make_incident(
            by=support,
            faulty_service=service,
            impact_started_at=_ago(1),
            detected_at=_ago(2),
        )

    assert refused.value.field == "detected_at"
    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_creation_refuses_an_unknown_severity(support, service):
    with pytest.raises(ActionRefused) as refused:
        make_incident(by=support, faulty_service=service, severity=4)

    assert refused.value.field == "severity"
    assert not Incident.objects.exists()


def test_refused_creation_does_not_use_up_a_number(support, service):
    with pytest.raises(ActionRefused):
        make_incident(by=support, faulty_service=service, detected_at=_later(1))

    assert make_incident(by=support, faulty_service=service).key == "HOT-1"


# claim_incident -------------------------------------------------------------------------


def test_claim_assigns_the_manager_and_starts_fixing(incident, manager):
    claimed = claim_incident(incident, by=manager)

    claimed.refresh_from_db()
    assert claimed.assignee == manager
    assert claimed.status == Status.FIXING


def test_claim_writes_an_assignee_entry_and_a_status_entry(incident, manager):
    claim_incident(incident, by=manager)

    [assignee] = _entries(incident, EntryKind.ASSIGNEE)
    assert assignee.author == manager
    assert assignee.text == "maya claimed the incident."
    assert assignee.data.items() >= {"to": "maya"}.items()
    [status] = _entries(incident, EntryKind.STATUS)
    assert status.author == manager
    assert status.data.items() >= {"from": "new", "to": "fixing"}.items()
    assert status.text == "Status New → Fixing."


def test_second_claim_is_refused_as_a_conflict_naming_the_holder(incident, manager, other_manager):
    claim_incident(incident, by=manager)
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        claim_incident(incident, by=other_manager)

    assert refused.value.conflict is True
    assert "maya" in refused.value.message
    assert incident.key in refused.value.message
    assert _snapshot(incident) == before


def test_claiming_again_by_the_same_manager_changes_nothing(incident, manager):
    claim_incident(incident, by=manager)
    before = _snapshot(incident)

    again = claim_incident(incident, by=manager)

    assert again.assignee == manager
    assert _snapshot(incident) == before


def test_claiming_an_incident_resolved_meanwhile_is_a_conflict(incident, manager, other_manager):
    # new → resolved directly: nobody ever claimed it.
    transition_incident(incident, to=Status.RESOLVED, by=manager, impact_ended_at=_ago(1))
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        claim_incident(incident, by=other_manager)

    # It was open when other_manager saw it: maya resolved it first, a lost race.
    assert refused.value.message == f"{incident.key} is already resolved (by maya)."
    assert refused.value.conflict is True
    assert _snapshot(incident) == before


def test_resolved_incident_cannot_be_taken_over_by_a_claim(resolved, other_manager):
    before = _snapshot(resolved)

    with pytest.raises(ActionRefused):
        claim_incident(resolved, by=other_manager)

    assert _snapshot(resolved) == before


def test_claim_of_a_released_fixing_incident_writes_no_status_entry(fixing, manager, other_manager):
    assign_incident(fixing, assignee=None, by=manager)

    claim_incident(fixing, by=other_manager)

    fixing.refresh_from_db()
    assert fixing.assignee == other_manager
    assert fixing.status == Status.FIXING
    assert len(_entries(fixing, EntryKind.STATUS)) == 1  # only the first claim's


# transition_incident --------------------------------------------------------------------

ALLOWED_MOVES = [(old, new) for old, targets in TRANSITIONS.items() for new in targets]
ILLEGAL_MOVES = [
    (old, new)
    for old in Status.values
    for new in Status.values
    if new not in TRANSITIONS[old] and new != old
]


# Refused moves a status the incident held before allowed: whoever asked saw that status
# and someone moved the incident first (a lost race, 409). Other refused moves are bad
# input (400, naming ``to``): no status the incident ever had allowed them.
LOST_RACES = [
    ("fixing", "fixing"),
    ("resolved", "resolved"),
    ("reviewed", "reviewed"),
    ("reviewed", "fixing"),
    ("reviewed", "resolved"),
]


def _incident_in(status: str, *, by: User, manager: User) -> Incident:
    """An incident brought to ``status`` through the actions, with an IM assigned."""
    incident = make_incident(by=by, impact_started_at=_ago(3))
    if status == Status.NEW:
        assign_incident(incident, assignee=manager, by=manager)
        return Incident.objects.get(pk=incident.pk)
    claim_incident(incident, by=manager)
    if status in (Status.RESOLVED, Status.REVIEWED):
        transition_incident(incident, to=Status.RESOLVED, by=manager, impact_ended_at=_ago(1))
    if status == Status.REVIEWED:
        transition_incident(incident, to=Status.REVIEWED, by=manager)
    return Incident.objects.get(pk=incident.pk)


def test_the_workflow_allows_exactly_these_moves():
    assert sorted(ALLOWED_MOVES) == sorted(
        [
            ("new", "fixing"),
            ("new", "resolved"),
            ("fixing", "resolved"),
            ("resolved", "fixing"),
            ("resolved", "reviewed"),
        ]
    )


@pytest.mark.parametrize(("old", "new"), ALLOWED_MOVES)
def test_allowed_move_changes_status_and_writes_an_entry(old, new, support, manager):
    incident = _incident_in(old, by=support, manager=manager)
    entries_before = len(_entries(incident))

    moved = transition_incident(incident, to=new, by=manager, impact_ended_at=_ago(0.5))

    moved.refresh_from_db()
    assert moved.status == new
    entries = _entries(incident)
    assert len(entries) == entries_before + 1
    assert entries[-1].kind == EntryKind.STATUS
    assert entries[-1].author == manager
    assert entries[-1].data.items() >= {"from": old, "to": new}.items()


@pytest.mark.parametrize(("old", "new"), ILLEGAL_MOVES)
def test_illegal_move_is_refused_and_writes_nothing(old, new, support, manager):
    incident = _incident_in(old, by=support, manager=manager)
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(incident, to=new, by=manager, impact_ended_at=_ago(0.5))

    lost_race = (old, new) in LOST_RACES
    assert (refused.value.conflict, refused.value.field) == (
        (True, None) if lost_race else (False, "to")
    )
    assert _snapshot(incident) == before


@pytest.mark.parametrize("status", Status.values)
def test_moving_to_the_same_status_is_refused(status, support, manager):
    incident = _incident_in(status, by=support, manager=manager)
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(incident, to=status, by=manager, impact_ended_at=_ago(0.5))

    lost_race = (status, status) in LOST_RACES
    assert (refused.value.conflict, refused.value.field) == (
        (True, None) if lost_race else (False, "to")
    )
    assert _snapshot(incident) == before


def test_resolving_an_incident_someone_resolved_first_is_a_conflict_naming_them(
    resolved, manager, other_manager
):
    before = _snapshot(resolved)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(resolved, to=Status.RESOLVED, by=other_manager, impact_ended_at=_ago(1))

    assert refused.value.conflict is True
    assert refused.value.status_code == 409
    assert refused.value.message == f"{resolved.key} is already resolved (by maya)."
    assert _snapshot(resolved) == before


def test_a_move_the_status_no_longer_allows_is_a_conflict(resolved, manager, other_manager):
    # other_manager saw it resolved and reopens it; maya reviewed it first.
    transition_incident(resolved, to=Status.REVIEWED, by=manager)
    before = _snapshot(resolved)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(resolved, to=Status.FIXING, by=other_manager)

    assert refused.value.conflict is True
    assert refused.value.message == (
        f"{resolved.key} is already reviewed (by maya): it cannot go to fixing now."
    )
    assert _snapshot(resolved) == before


def test_a_move_no_earlier_status_allowed_stays_bad_input(fixing, manager):
    with pytest.raises(ActionRefused) as refused:
        transition_incident(fixing, to=Status.REVIEWED, by=manager)

    assert (refused.value.conflict, refused.value.field) == (False, "to")
    assert refused.value.status_code == 400
    assert "cannot go from fixing to reviewed" in refused.value.message


def test_unknown_status_is_refused(incident, manager):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(incident, to="panicking", by=manager)

    assert refused.value.field == "to"
    assert _snapshot(incident) == before


def test_fixing_needs_an_incident_manager(incident, manager):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(incident, to=Status.FIXING, by=manager)

    assert refused.value.field == "to"
    assert "claim" in refused.value.message
    assert _snapshot(incident) == before


def test_resolving_needs_the_impact_end(fixing, manager):
    before = _snapshot(fixing)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(fixing, to=Status.RESOLVED, by=manager)

    assert refused.value.field == "impact_ended_at"
    assert _snapshot(fixing) == before


def test_resolving_stores_the_impact_end_given(fixing, manager):
    ended = _ago(0.5)

    transition_incident(fixing, to=Status.RESOLVED, by=manager, impact_ended_at=ended)

    fixing.refresh_from_db()
    assert fixing.status == Status.RESOLVED
    assert fixing.impact_ended_at == ended


def test_resolving_uses_the_impact_end_already_stored(fixing, manager):
    ended = _ago(0.5)
    update_incident(fixing, by=manager, impact_ended_at=ended)

    transition_incident(fixing, to=Status.RESOLVED, by=manager)

    fixing.refresh_from_db()
    assert fixing.status == Status.RESOLVED
    assert fixing.impact_ended_at == ended


def test_resolving_refuses_an_impact_end_before_its_start(support, manager):
    incident = make_incident(by=support, impact_started_at=_ago(2))
    claim_incident(incident, by=manager)
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(incident, to=Status.RESOLVED, by=manager, impact_ended_at=_ago(3))

    assert refused.value.field == "impact_ended_at"
    assert _snapshot(incident) == before


def test_resolving_refuses_an_impact_end_in_the_future(fixing, manager):
    before = _snapshot(fixing)

    with pytest.raises(ActionRefused) as refused:
        transition_incident(fixing, to=Status.RESOLVED, by=manager, impact_ended_at=_later(1))

    assert refused.value.field == "impact_ended_at"
    assert _snapshot(fixing) == before


def test_reopening_a_resolved_incident_goes_back_to_fixing(resolved, manager):
    transition_incident(resolved, to=Status.FIXING, by=manager)

    resolved.refresh_from_db()
    assert resolved.status == Status.FIXING
    assert _entries(resolved)[-1].data.items() >= {"from": "resolved", "to": "fixing"}.items()


def test_reopening_forgets_the_old_impact_end_so_resolving_asks_again(resolved, manager):
    transition_incident(resolved, to=Status.FIXING, by=manager)
    resolved.refresh_from_db()
    assert resolved.impact_ended_at is None

    with pytest.raises(ActionRefused) as refused:
        transition_incident(resolved, to=Status.RESOLVED, by=manager)
    assert refused.value.field == "impact_ended_at"


# change_severity ------------------------------------------------------------------------


def test_severity_change_is_stored_with_an_entry(incident, manager):
    change_severity(incident, severity=1, by=manager)

    incident.refresh_from_db()
    assert incident.severity == 1
    [entry] = _entries(incident, EntryKind.SEVERITY)
    assert entry.text == "Severity 3 → 1."
    assert entry.author == manager
    assert entry.data.items() >= {"from": 3, "to": 1}.items()


def test_severity_change_records_the_reason(incident, manager):
    change_severity(incident, severity=2, by=manager, reason="Only EU customers affected.")

    [entry] = _entries(incident, EntryKind.SEVERITY)
    assert entry.text == "Severity 3 → 2. Only EU customers affected."


def test_unchanged_severity_writes_nothing(incident, manager):
    before = _snapshot(incident)

    change_severity(incident, severity=3, by=manager)

    assert _snapshot(incident) == before


def test_unknown_severity_is_refused(incident, manager):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        change_severity(incident, severity=0, by=manager)

    assert refused.value.field == "severity"
    assert _snapshot(incident) == before


# assign_incident ------------------------------------------------------------------------


def test_incident_can_be_handed_to_another_manager(fixing, manager, other_manager):
    assign_incident(fixing, assignee=other_manager, by=manager)

    fixing.refresh_from_db()
    assert fixing.assignee == other_manager
    entry = _entries(fixing, EntryKind.ASSIGNEE)[-1]
    assert entry.text == "maya handed the incident to imani."
    assert entry.data.items() >= {"from": "maya", "to": "imani"}.items()


def test_incident_can_be_released(fixing, manager):
    assign_incident(fixing, assignee=None, by=manager)

    fixing.refresh_from_db()
    assert fixing.assignee is None
    entry = _entries(fixing, EntryKind.ASSIGNEE)[-1]
    assert entry.data.items() >= {"from": "maya", "to": None}.items()
    assert "released" in entry.text


def test_assigning_the_current_manager_again_writes_nothing(fixing, manager):
    before = _snapshot(fixing)

    assign_incident(fixing, assignee=manager, by=manager)

    assert _snapshot(fixing) == before


def test_assigning_someone_who_is_not_an_incident_manager_is_refused(fixing, manager, responder):
    before = _snapshot(fixing)

    with pytest.raises(ActionRefused) as refused:
        assign_incident(fixing, assignee=responder, by=manager)

    assert refused.value.field == "assignee"
    assert "rui" in refused.value.message
    assert _snapshot(fixing) == before


def test_superuser_can_be_handed_an_incident(fixing, manager):
    root = UserFactory(username="root", is_superuser=True)

    assign_incident(fixing, assignee=root, by=manager)

    fixing.refresh_from_db()
    assert fixing.assignee == root


# update_incident ------------------------------------------------------------------------


def test_edit_records_an_entry_listing_the_fields(incident, manager):
    update_incident(
        incident,
        by=manager,
        summary="Card payments fail",
        video_url="https://meet.example.com/hot-1",
    )

    incident.refresh_from_db()
    assert incident.summary == "Card payments fail"
    assert incident.video_url == "https://meet.example.com/hot-1"
    [entry] = _entries(incident, EntryKind.EDITED)
    assert entry.author == manager
    assert entry.data.items() >= {"fields": ["summary", "video_url"]}.items()
    assert entry.text == "maya edited summary, video call."


def test_edit_of_products_and_service_is_recorded(incident, manager):
    product = ProductFactory()
    other_service = ServiceFactory()

    update_incident(incident, by=manager, affected_products=[product], faulty_service=other_service)

    incident.refresh_from_db()
    assert list(incident.affected_products.all()) == [product]
    assert incident.faulty_service == other_service
    [entry] = _entries(incident, EntryKind.EDITED)
    assert entry.data.items() >= {"fields": ["faulty_service", "affected_products"]}.items()


def test_edit_that_changes_nothing_writes_no_entry(incident, manager):
    before = _snapshot(incident)

    update_incident(incident, by=manager, summary=incident.summary, chat_room=incident.chat_room)

    assert _snapshot(incident) == before


def test_edit_refuses_unknown_fields(incident, manager):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        update_incident(incident, by=manager, status=Status.RESOLVED, key="HOT-99")

    assert "key" in refused.value.message
    assert "status" in refused.value.message
    assert _snapshot(incident) == before


def test_edit_refuses_clearing_the_impact_end_of_a_resolved_incident(resolved, manager):
    before = _snapshot(resolved)

    with pytest.raises(ActionRefused) as refused:
        update_incident(resolved, by=manager, impact_ended_at=None)

    assert refused.value.field == "impact_ended_at"
    assert _snapshot(resolved) == before


def test_edit_refuses_detection_before_the_impact_started(incident, manager):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        update_incident(incident, by=manager, impact_started_at=_ago(1), detected_at=_ago(2))

    assert refused.value.field == "detected_at"
    assert _snapshot(incident) == before


def test_edit_refuses_a_time_in_the_future(incident, manager):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        update_incident(incident, by=manager, impact_ended_at=_later(2))

    assert refused.value.field == "impact_ended_at"
    assert _snapshot(incident) == before


def test_edit_of_severity_and_assignee_goes_through_their_own_entries(incident, manager):
    update_incident(incident, by=manager, severity=1, assignee=manager)

    incident.refresh_from_db()
    assert incident.severity == 1
    assert incident.assignee == manager
    kinds = [entry.kind for entry in _entries(incident)]
    assert kinds == [EntryKind.CREATED, EntryKind.SEVERITY, EntryKind.ASSIGNEE]


def test_edit_mixing_severity_and_fields_writes_one_entry_each(incident, manager):
    update_incident(incident, by=manager, severity=2, summary="Card payments fail")

    kinds = [entry.kind for entry in _entries(incident)]
    assert kinds == [EntryKind.CREATED, EntryKind.SEVERITY, EntryKind.EDITED]
    assert _entries(incident, EntryKind.EDITED)[0].data.items() >= {"fields": ["summary"]}.items()


def test_refused_edit_keeps_the_severity_it_came_with(incident, manager):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused):
        update_incident(incident, by=manager, severity=1, detected_at=_later(2))

    assert _snapshot(incident) == before


def test_edit_refuses_a_non_manager_as_assignee(incident, manager, support):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        update_incident(incident, by=manager, assignee=support)

    assert refused.value.field == "assignee"
    assert _snapshot(incident) == before


# add_timeline_entry ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["note", "observation", "theory", "experiment", "change", "decision", "assessment"],
)
def test_people_can_add_each_human_kind(kind, incident, responder):
    entry = add_timeline_entry(incident, kind=kind, text="  Error rate at 40%.  ", by=responder)

    entry.refresh_from_db()
    assert entry.kind == kind
    assert entry.text == "Error rate at 40%."
    assert entry.author == responder
    assert not entry.is_system


@pytest.mark.parametrize("kind", ["created", "status", "severity", "assignee", "edited", "x"])
def test_system_kinds_cannot_be_added_by_people(kind, incident, responder):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        add_timeline_entry(incident, kind=kind, text="Resolved, trust me.", by=responder)

    assert refused.value.field == "kind"
    assert _snapshot(incident) == before


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_entry_is_refused(text, incident, responder):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        add_timeline_entry(incident, kind="observation", text=text, by=responder)

    assert refused.value.field == "text"
    assert _snapshot(incident) == before


def test_entry_occurs_now_unless_told(frozen, incident, responder):
    entry = add_timeline_entry(incident, kind="observation", text="Queue growing.", by=responder)

    assert entry.occurred_at == frozen
    assert entry.recorded_at == frozen


def test_backdated_entry_keeps_when_it_happened_apart_from_when_it_was_written(
    frozen, incident, responder
):
    earlier = frozen - timedelta(minutes=40)

    entry = add_timeline_entry(
        incident, kind="change", text="Rolled back deploy 412.", by=responder, occurred_at=earlier
    )

    entry.refresh_from_db()
    assert entry.occurred_at == earlier
    assert entry.recorded_at == frozen


def test_backdated_entry_takes_its_place_in_the_timeline(frozen, incident, responder):
    later = add_timeline_entry(incident, kind="note", text="Second.", by=responder)
    earlier = add_timeline_entry(
        incident,
        kind="note",
        text="First.",
        by=responder,
        occurred_at=frozen - timedelta(minutes=1),
    )

    human = [e for e in incident.timeline.all() if not e.is_system]
    assert human == [earlier, later]


def test_entry_in_the_future_is_refused(incident, responder):
    before = _snapshot(incident)

    with pytest.raises(ActionRefused) as refused:
        add_timeline_entry(
            incident, kind="note", text="Will fix.", by=responder, occurred_at=_later(1)
        )

    assert refused.value.field == "occurred_at"
    assert _snapshot(incident) == before


def test_new_entry_touches_the_incident(time_machine, support, responder):
    time_machine.move_to(NOW, tick=False)
    incident = make_incident(by=support)
    time_machine.move_to(NOW + timedelta(minutes=3), tick=False)

    add_timeline_entry(incident, kind="note", text="Still on it.", by=responder)

    incident.refresh_from_db()
    assert incident.updated_at == NOW + timedelta(minutes=3)


# events ---------------------------------------------------------------------------------


def test_creation_publishes_created(support, service, published):
    incident = make_incident(by=support, faulty_service=service)

    [event] = published
    assert event.name == events.CREATED
    assert event.incident.pk == incident.pk
    assert event.by == support


def test_claim_publishes_assignee_and_status_changes(incident, manager, published):
    claim_incident(incident, by=manager)

    assert [(e.name, e.incident.pk, e.by) for e in published] == [
        (events.ASSIGNEE_CHANGED, incident.pk, manager),
        (events.STATUS_CHANGED, incident.pk, manager),
    ]
    assert published[0].data == {"previous": None}
    assert published[1].data == {"previous": Status.NEW}
    assert published[1].incident.status == Status.FIXING


def test_transition_publishes_status_changed(fixing, manager, published):
    transition_incident(fixing, to=Status.RESOLVED, by=manager, impact_ended_at=_ago(1))

    [event] = published
    assert event.name == events.STATUS_CHANGED
    assert event.incident.pk == fixing.pk
    assert event.incident.status == Status.RESOLVED
    assert event.by == manager
    assert event.data == {"previous": Status.FIXING}


def test_severity_change_publishes_severity_changed(incident, manager, published):
    change_severity(incident, severity=1, by=manager)

    [event] = published
    assert event.name == events.SEVERITY_CHANGED
    assert event.incident.pk == incident.pk
    assert event.incident.severity == 1
    assert event.by == manager
    assert event.data == {"previous": 3}


def test_hand_over_publishes_assignee_changed(fixing, manager, other_manager, published):
    assign_incident(fixing, assignee=other_manager, by=manager)

    [event] = published
    assert event.name == events.ASSIGNEE_CHANGED
    assert event.incident.assignee == other_manager
    assert event.by == manager
    assert event.data == {"previous": manager}


def test_edit_publishes_updated_with_the_fields(incident, manager, published):
    update_incident(incident, by=manager, summary="Card payments fail", restricted=True)

    [event] = published
    assert event.name == events.UPDATED
    assert event.incident.pk == incident.pk
    assert event.by == manager
    assert event.data == {"fields": ["restricted", "summary"]}


def test_no_op_actions_publish_nothing(fixing, manager, published):
    claim_incident(fixing, by=manager)
    change_severity(fixing, severity=fixing.severity, by=manager)
    assign_incident(fixing, assignee=manager, by=manager)
    update_incident(fixing, by=manager, summary=fixing.summary)

    assert published == []


def test_refused_action_publishes_nothing(fixing, manager, other_manager, published):
    with pytest.raises(ActionRefused):
        claim_incident(fixing, by=other_manager)

    assert published == []


def test_failing_handler_rolls_back_the_whole_creation(failing_handler, support, service):
    failing_handler(events.CREATED)

    with pytest.raises(Boom):
        make_incident(by=support, faulty_service=service)

    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()
    assert not KeyCounter.objects.filter(last_number__gt=0).exists()


def test_failing_handler_rolls_back_the_whole_claim(failing_handler, incident, manager):
    before = _snapshot(incident)
    failing_handler(events.STATUS_CHANGED)  # published last: the claim is all written by then

    with pytest.raises(Boom):
        claim_incident(incident, by=manager)

    assert _snapshot(incident) == before


def test_failing_handler_rolls_back_the_whole_transition(failing_handler, fixing, manager):
    before = _snapshot(fixing)
    failing_handler(events.STATUS_CHANGED)

    with pytest.raises(Boom):
        transition_incident(fixing, to=Status.RESOLVED, by=manager, impact_ended_at=_ago(1))

    assert _snapshot(fixing) == before


def test_failing_handler_rolls_back_the_whole_severity_change(failing_handler, incident, manager):
    before = _snapshot(incident)
    failing_handler(events.SEVERITY_CHANGED)

    with pytest.raises(Boom):
        change_severity(incident, severity=1, by=manager)

    assert _snapshot(incident) == before


def test_failing_handler_rolls_back_the_whole_hand_over(
    failing_handler, fixing, manager, other_manager
):
    before = _snapshot(fixing)
    failing_handler(events.ASSIGNEE_CHANGED)

    with pytest.raises(Boom):
        assign_incident(fixing, assignee=other_manager, by=manager)

    assert _snapshot(fixing) == before


def test_failing_handler_rolls_back_an_edit_with_its_severity_change(
    failing_handler, incident, manager
):
    before = _snapshot(incident)
    failing_handler(events.UPDATED)  # the severity change before it is rolled back too

    with pytest.raises(Boom):
        update_incident(incident, by=manager, severity=1, summary="Card payments fail")

    assert _snapshot(incident) == before


def test_unknown_event_name_cannot_be_subscribed():
    with pytest.raises(ValueError, match="nonsense"):
        events.subscribe("nonsense", lambda event: None)
