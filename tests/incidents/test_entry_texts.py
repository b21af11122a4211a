"""System timeline entries read in the reader's language: each shape, written by the real
actions, renders in Korean for a Korean reader and as its stored English text for an
English reader. An entry without a shape, or with its facts missing, shows its text."""

import importlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from incidents import actions, entry_texts
from incidents.after import actions as after_actions
from incidents.models import EntryKind, Role, Status, TheoryState, TimelineEntry
from incidents.support import actions as support_actions
from incidents.workspace import actions as workspace_actions
from incidents.workspace.models import Affected
from tests.factories import ProductFactory, ServiceFactory, make_incident

pytestmark = pytest.mark.django_db(transaction=True)

HANGUL = re.compile(r"[가-힣]")


def _shown(entry, language):
    with translation.override(language):
        return entry_texts.render(entry)


def _check_shapes(incident):
    """Every shaped entry of ``incident``: English as stored, Korean otherwise. Returns
    the shapes seen."""
    seen = set()
    for entry in TimelineEntry.objects.filter(incident=incident):
        text_id = entry.data.get("text_id")
        if text_id is None:
            continue
        seen.add(text_id)
        assert _shown(entry, "en") == entry.text, text_id
        korean = _shown(entry, "ko")
        assert korean != entry.text, (text_id, korean)
        assert HANGUL.search(korean), (text_id, korean)
    return seen


def test_incident_record_and_role_entries_read_in_korean(manager, other_manager, responder):
    service = ServiceFactory(name="Payments API")
    incident = make_incident(by=manager, faulty_service=service, severity=3)
    actions.claim_incident(incident, by=manager)
    actions.change_severity(incident, severity=2, by=manager, reason="More shops fail.")
    actions.update_incident(
        incident, by=manager, summary="Cards fail", affected_products=[ProductFactory()]
    )
    actions.assign_incident(incident, assignee=other_manager, by=manager)
    actions.assign_incident(incident, assignee=None, by=other_manager)
    actions.assign_incident(incident, assignee=manager, by=manager)
    resolved = actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    actions.transition_incident(resolved, to=Status.FIXING, by=manager)
    lead = actions.assign_role(incident, person=responder, role=Role.TECH_LEAD, by=manager)
    actions.assign_role(
        incident, person=responder, role=Role.CUSTOM, custom_name="Scribe", by=manager, scope="EU"
    )
    handed = actions.hand_over_role(lead, to=other_manager, by=manager, note="Shift ends.")
    actions.release_role(handed, by=other_manager)
    second = actions.assign_role(
        incident, person=other_manager, role=Role.INCIDENT_MANAGER, by=manager
    )
    actions.release_role(second, by=manager)
    manager_role = incident.roles.get(person=manager, role=Role.INCIDENT_MANAGER, ended_at=None)
    actions.release_role(manager_role, by=manager)

    assert _check_shapes(incident) == {
        "incident.created",
        "incident.claimed",
        "incident.status",
        "incident.severity",
        "incident.edited",
        "incident.handed",
        "incident.released",
        "role.assigned",
        "role.handed_over",
        "role.released",
    }


def test_some_entries_read_as_expected_in_korean(manager):
    incident = make_incident(by=manager, severity=3)
    actions.claim_incident(incident, by=manager)
    actions.change_severity(incident, severity=1, by=manager, reason="All shops fail.")
    entries = {e.kind: e for e in incident.timeline.filter(kind__in=("assignee", "severity"))}
    status = incident.timeline.get(kind=EntryKind.STATUS)

    assert _shown(entries["assignee"], "ko") == "maya 님이 인시던트를 맡았습니다."
    # A person's reason is theirs: it follows the translated sentence as written.
    assert _shown(entries["severity"], "ko") == "심각도 3 → 1. All shops fail."
    with translation.override("ko"):
        new, fixing = str(Status.NEW.label), str(Status.FIXING.label)
    assert _shown(status, "ko") == f"상태 {new} → {fixing}."


def test_workspace_and_after_entries_read_in_korean(manager, responder):
    incident = make_incident(by=manager, severity=3)
    actions.claim_incident(incident, by=manager)
    workspace_actions.record_break(incident, person=responder, by=responder, note="Back at 3.")
    workspace_actions.record_break(incident, person=responder, by=manager)
    change, _ = workspace_actions.report_service_change(
        incident.faulty_service,
        summary="v42 of the card router",
        happened_at=timezone.now() - timedelta(minutes=30),
    )
    theory_entry = workspace_actions.suspect_service_change(incident, change, by=manager)
    rollback = workspace_actions.roll_back_service_change(incident, change, by=manager)
    workspace_actions.undo_change(rollback.change, by=manager)
    theory = theory_entry.theory
    workspace_actions.decide_theory(theory, state=TheoryState.CONFIRMED, by=manager, note="Yes.")
    workspace_actions.decide_theory(theory, state=TheoryState.OPEN, by=manager)
    workspace_actions.decide_theory(theory, state=TheoryState.DISPROVED, by=manager)
    stream = workspace_actions.save_workstream(incident, by=manager, name="Rollback", lead=manager)
    workspace_actions.save_workstream(incident, by=manager, name="Comms")
    workspace_actions.save_workstream(
        incident, by=manager, workstream=stream, state="paused", lead=None, goal="Undo v42"
    )
    workspace_actions.save_assessment(
        incident,
        by=manager,
        affected=Affected.NUMBER,
        affected_count=12,
        customer_experience="Card payments fail.",
        started_at=timezone.now() - timedelta(hours=1),
        support_cases=4,
        social_media=True,
        data_loss=True,
        other_factors="A press call at 5.",
    )
    task = after_actions.add_cleanup_task(incident, by=manager, title="Fix the router")
    after_actions.add_cleanup_task(
        incident, by=manager, title="Alert on v43", owner=responder, due=date(2026, 12, 24)
    )
    after_actions.add_cleanup_task(incident, by=manager, title="Write it up", owner=responder)
    after_actions.complete_cleanup_task(task, by=manager)
    after_actions.complete_cleanup_task(task, by=manager, done=False)
    actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    review = after_actions.start_review(incident, by=manager)
    after_actions.complete_review(review, by=manager)

    assert _check_shapes(incident) >= {
        "break.taken",
        "break.sent",
        "change.suspected",
        "change.rolled_back",
        "change.undone",
        "theory.decided",
        "workstream.started",
        "workstream.updated",
        "assessment.saved",
        "cleanup.added",
        "cleanup.done",
        "review.started",
        "review.completed",
    }


def test_support_case_entries_read_in_korean(support, manager):
    incident = make_incident(by=support, severity=3)
    restricted = make_incident(by=support, severity=3, restricted=True)
    other = make_incident(by=support, severity=3)
    for reference in ("SD-1", "SD-2", "SD-3"):
        support_actions.upsert_case(reference=reference, customer_name="Acme")
    support_actions.label_cases(key=other.key, references="SD-1", by=support)
    support_actions.label_cases(key=incident.key, references="SD-1 SD-2", by=support, move=True)
    support_actions.label_cases(key=restricted.key, references="SD-2", by=support, move=True)
    support_actions.remove_label(incident.support_cases.get(reference="SD-1"), by=support)
    support_actions.label_cases(key=incident.key, references="SD-3", by=support)
    support_actions.set_customer_follow_up(incident, enabled=False, by=manager)
    support_actions.set_customer_follow_up(incident, enabled=True, by=manager)

    seen = _check_shapes(incident) | _check_shapes(other)
    assert seen >= {"cases.labelled", "cases.moved", "cases.removed", "cases.follow_up"}
    # Moved to a restricted incident: the entry does not name it, in either language.
    moved = incident.timeline.filter(data__text_id="cases.moved").get()
    assert restricted.key not in moved.text
    assert restricted.key not in _shown(moved, "ko")


def test_a_korean_writer_still_stores_english(manager):
    """The stored text is the English one whatever the writer's language (it is searched)."""
    incident = make_incident(by=manager, severity=3)
    with translation.override("ko"):
        actions.claim_incident(incident, by=manager)
    status = incident.timeline.get(kind=EntryKind.STATUS)
    assert status.text == "Status New → Fixing."


def test_an_old_entry_without_a_shape_shows_its_text(manager):
    incident = make_incident(by=manager, severity=3)
    old = TimelineEntry.objects.create(
        incident=incident, kind=EntryKind.STATUS, text="Status New → Fixing.", data={}
    )
    unknown = TimelineEntry.objects.create(
        incident=incident, kind=EntryKind.ROLE, text="Something else.", data={"text_id": "gone"}
    )
    partial = TimelineEntry.objects.create(
        incident=incident,
        kind=EntryKind.STATUS,
        text="Status New → Fixing.",
        data={"text_id": "incident.status", "from": "new"},
    )
    for entry in (old, unknown, partial):
        assert _shown(entry, "ko") == entry.text


def test_people_keep_their_words(manager):
    """A note is never rendered; a generated text the author corrected shows the correction."""
    incident = make_incident(by=manager, severity=3)
    note = actions.add_timeline_entry(
        incident, kind=EntryKind.NOTE, text="Status New → Fixing.", by=manager
    )
    change, _ = workspace_actions.report_service_change(incident.faulty_service, summary="v42")
    theory = workspace_actions.suspect_service_change(incident, change, by=manager)
    assert HANGUL.search(_shown(theory, "ko"))
    corrected = workspace_actions.edit_timeline_entry(theory, by=manager, text="v42 for sure")

    assert _shown(note, "ko") == "Status New → Fixing."
    assert _shown(corrected, "ko") == "v42 for sure"


def test_the_timeline_page_and_api_speak_the_readers_language(manager, client_for, api_for):
    incident = make_incident(by=manager, severity=3)
    actions.claim_incident(incident, by=manager)

    korean = client_for(manager, HTTP_ACCEPT_LANGUAGE="ko").get(incident.get_absolute_url())
    english = client_for(manager, HTTP_ACCEPT_LANGUAGE="en").get(incident.get_absolute_url())
    assert "maya 님이 인시던트를 맡았습니다." in korean.content.decode()
    assert "maya claimed the incident." in english.content.decode()
    fragment = client_for(manager, HTTP_ACCEPT_LANGUAGE="ko", HTTP_HX_REQUEST="true").get(
        incident.get_absolute_url()
    )
    assert "maya 님이 인시던트를 맡았습니다." in fragment.content.decode()
    document = client_for(manager, HTTP_ACCEPT_LANGUAGE="ko").get(
        reverse("incidents:document", args=[incident.key])
    )
    assert "maya 님이 인시던트를 맡았습니다." in document.content.decode()

    api = api_for(manager)
    url = f"/api/incidents/{incident.key}/timeline/"
    entries = api.get(url, HTTP_ACCEPT_LANGUAGE="ko").json()
    claimed = next(e for e in entries if e["data"].get("text_id") == "incident.claimed")
    assert claimed["text"] == "maya 님이 인시던트를 맡았습니다."
    # Machine values stay as they are.
    assert (claimed["kind"], claimed["data"]["to"]) == ("assignee", "maya")
    entries = api.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    claimed = next(e for e in entries if e["data"].get("text_id") == "incident.claimed")
    assert claimed["text"] == "maya claimed the incident."


def test_the_review_draft_quotes_entries_in_the_starters_language(manager):
    incident = make_incident(by=manager, severity=3)
    actions.claim_incident(incident, by=manager)
    actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    with translation.override("ko"):
        review = after_actions.start_review(incident, by=manager)
    assert "maya 님이 인시던트를 맡았습니다." in review.body


@pytest.mark.django_db(transaction=False)
@given(reason=st.text(max_size=40), name=st.text(min_size=1, max_size=20))
def test_people_data_is_kept_as_given_in_both_languages(reason, name):
    """Names and reasons are data: any text (a "%" too) comes out as it went in."""
    severity = entry_texts.facts("incident.severity", reason=reason, **{"from": 3, "to": 1})
    role = entry_texts.facts(
        "role.assigned", who=name, person=name, role=Role.CUSTOM, label=name, scope=""
    )
    for data, value in ((severity, reason), (role, name)):
        english = entry_texts.english(data)
        with translation.override("ko"):
            korean = entry_texts.render_data(data, "")
        assert HANGUL.search(korean)
        assert value in english
        assert value in korean


def test_the_migration_names_only_the_old_rows_that_fit_exactly():
    migration = importlib.import_module("incidents.migrations.0022_timeline_rendering")
    shaped = migration._shaped

    status = shaped("status", "Status New → Fixing.", {"from": "new", "to": "fixing"})
    assert entry_texts.english(status) == "Status New → Fixing."
    severity = shaped("severity", "Severity 3 → 1. Shops fail.", {"from": 3, "to": 1})
    assert entry_texts.english(severity) == "Severity 3 → 1. Shops fail."
    claim = shaped("assignee", "maya claimed the incident.", {"to": "maya"})
    assert entry_texts.english(claim) == "maya claimed the incident."
    # Anything else keeps its text: a text that does not match its facts, a handover.
    assert shaped("status", "Status New → Resolved.", {"from": "new", "to": "fixing"}) is None
    assert shaped("severity", "Severity 2 → 1.", {"from": 3, "to": 1}) is None
    assert shaped("assignee", "maya handed the incident to imani.", {"to": "imani"}) is None


def test_the_migration_backfills_old_rows(manager):
    migration = importlib.import_module("incidents.migrations.0022_timeline_rendering")
    incident = make_incident(by=manager, severity=3)
    old = TimelineEntry.objects.create(
        incident=incident,
        kind=EntryKind.STATUS,
        text="Status New → Fixing.",
        data={"from": "new", "to": "fixing"},
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    odd = TimelineEntry.objects.create(
        incident=incident, kind=EntryKind.STATUS, text="Moved by hand.", data={"from": "new"}
    )
    with connection.schema_editor() as editor:
        migration.name_shapes(apps, editor)
    old.refresh_from_db()
    odd.refresh_from_db()
    assert old.data["text_id"] == "incident.status"
    assert HANGUL.search(_shown(old, "ko"))
    assert "text_id" not in odd.data
