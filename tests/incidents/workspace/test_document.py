"""The status document (HANDBOOK §3, §9): changes, workstreams, the theory loop, edits."""

import html
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import actions
from incidents.actions import ActionRefused
from incidents.models import (
    EntryKind,
    Experiment,
    IncidentChange,
    Theory,
    TheoryState,
    TimelineEntry,
)
from incidents.workspace import actions as workspace_actions
from incidents.workspace.models import WorkstreamState
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixing(manager):
    return actions.claim_incident(make_incident(), by=manager)


def doc(incident, name="document", *args):
    return reverse(f"incidents:{name}", args=[incident.key, *args])


def text_of(response):
    return html.unescape(response.content.decode())


# Actions ------------------------------------------------------------------------------


def test_a_change_gets_its_row_in_the_changes_table(fixing, responder):
    entry = actions.add_timeline_entry(
        fixing,
        kind=EntryKind.CHANGE,
        text="Raised the connection pool to 200",
        how="helm upgrade db --set pool=200",
        why="Pool exhausted (theory 1)",
        undo="helm rollback db",
        by=responder,
    )

    change = IncidentChange.objects.get()
    assert (change.entry, change.incident) == (entry, fixing)
    assert (change.how, change.why, change.undo) == (
        "helm upgrade db --set pool=200",
        "Pool exhausted (theory 1)",
        "helm rollback db",
    )
    assert change.undone_at is None


def test_a_change_logged_on_the_timeline_is_in_the_table_too(fixing, responder):
    actions.add_timeline_entry(fixing, kind=EntryKind.CHANGE, text="Restarted web", by=responder)

    assert IncidentChange.objects.get().how == ""


def test_undoing_a_change_marks_it_and_logs_the_undo(fixing, responder, manager):
    actions.add_timeline_entry(
        fixing, kind=EntryKind.CHANGE, text="Pool to 200", undo="helm rollback db", by=responder
    )
    change = IncidentChange.objects.get()

    workspace_actions.undo_change(change, by=manager)
    workspace_actions.undo_change(change, by=manager)  # a second click changes nothing

    change.refresh_from_db()
    assert change.undone_by == manager
    assert change.undone_at is not None
    undo = IncidentChange.objects.exclude(pk=change.pk).get()
    assert undo.entry.text == "Undid: Pool to 200\nHow: helm rollback db"
    assert fixing.changes.count() == 2


def test_theories_and_experiments_are_linked(fixing, responder, manager):
    theory_entry = actions.add_timeline_entry(
        fixing, kind=EntryKind.THEORY, text="Only eu-west is affected", by=responder
    )
    theory = theory_entry.theory
    actions.add_timeline_entry(
        fixing,
        kind=EntryKind.EXPERIMENT,
        text="Fail over to eu-central",
        theory=theory,
        by=responder,
    )

    assert theory.state == TheoryState.OPEN
    assert [e.entry.text for e in theory.experiments.all()] == ["Fail over to eu-central"]

    workspace_actions.decide_theory(
        theory, state=TheoryState.CONFIRMED, by=manager, note="Errors stopped."
    )

    theory.refresh_from_db()
    assert (theory.state, theory.decided_by) == (TheoryState.CONFIRMED, manager)
    decision = fixing.timeline.get(kind=EntryKind.DECISION)
    assert decision.text == "Confirmed: Only eu-west is affected\nErrors stopped."


def test_an_experiment_may_not_test_another_incidents_theory(fixing, responder, manager):
    other = make_incident()
    theory = actions.add_timeline_entry(
        other, kind=EntryKind.THEORY, text="DNS", by=responder
    ).theory

    with pytest.raises(ActionRefused) as refused:
        actions.add_timeline_entry(
            fixing, kind=EntryKind.EXPERIMENT, text="Flush", theory=theory, by=responder
        )

    assert refused.value.field == "theory"
    assert not Experiment.objects.exists()


def test_a_workstream_is_started_and_moved_on(fixing, manager, responder):
    workstream = workspace_actions.save_workstream(
        fixing, by=manager, name="Database", goal="Fail over", lead=responder
    )
    workspace_actions.save_workstream(
        fixing, by=manager, workstream=workstream, state=WorkstreamState.DONE
    )

    workstream.refresh_from_db()
    assert workstream.state == WorkstreamState.DONE
    texts = list(fixing.timeline.filter(kind=EntryKind.WORKSTREAM).values_list("text", flat=True))
    assert texts == [
        "maya started the workstream Database, led by rui.",
        "maya updated the workstream Database: now done.",
    ]


def test_workstream_names_are_unique_per_incident(fixing, manager):
    workspace_actions.save_workstream(fixing, by=manager, name="Database")

    with pytest.raises(ActionRefused) as refused:
        workspace_actions.save_workstream(fixing, by=manager, name="Database")

    assert refused.value.field == "name"


def test_the_author_edits_an_entry_and_the_earlier_version_is_kept(fixing, responder):
    entry = actions.add_timeline_entry(
        fixing, kind=EntryKind.OBSERVATION, text="Errors at 40%", by=responder
    )
    earlier = timezone.now() - timedelta(minutes=20)

    workspace_actions.edit_timeline_entry(
        entry, by=responder, text="Errors at 14%", occurred_at=earlier
    )

    entry.refresh_from_db()
    assert (entry.text, entry.occurred_at) == ("Errors at 14%", earlier)
    assert entry.edited_at is not None
    edit = entry.edits.get()
    assert (edit.text, edit.edited_by) == ("Errors at 40%", responder)


def test_only_the_author_edits_an_entry(fixing, responder, manager):
    entry = actions.add_timeline_entry(fixing, kind=EntryKind.NOTE, text="Hello", by=responder)

    with pytest.raises(ActionRefused):
        workspace_actions.edit_timeline_entry(entry, by=manager, text="Changed")
    system = fixing.timeline.get(kind=EntryKind.CREATED)
    with pytest.raises(ActionRefused):
        workspace_actions.edit_timeline_entry(system, by=system.author, text="Changed")


def test_two_writers_lose_nothing(fixing, responder, manager):
    """Interleaved writes from two people: every entry and row is kept."""
    for number in range(5):
        actions.add_timeline_entry(
            fixing, kind=EntryKind.OBSERVATION, text=f"rui {number}", by=responder
        )
        actions.add_timeline_entry(fixing, kind=EntryKind.CHANGE, text=f"maya {number}", by=manager)

    assert fixing.timeline.filter(kind=EntryKind.OBSERVATION).count() == 5
    assert fixing.changes.count() == 5


# Pages --------------------------------------------------------------------------------


def test_the_document_shows_every_section(client_for, fixing, manager, responder):
    actions.add_timeline_entry(
        fixing, kind=EntryKind.CHANGE, text="Pool to 200", how="helm", by=responder
    )
    actions.add_timeline_entry(fixing, kind=EntryKind.OBSERVATION, text="5xx up", by=responder)
    theory = actions.add_timeline_entry(
        fixing, kind=EntryKind.THEORY, text="Pool exhausted", by=responder
    ).theory
    actions.add_timeline_entry(
        fixing, kind=EntryKind.EXPERIMENT, text="Double the pool", theory=theory, by=responder
    )
    actions.add_timeline_entry(fixing, kind=EntryKind.DECISION, text="Roll back", by=manager)
    workspace_actions.save_workstream(fixing, by=manager, name="Database", lead=responder)

    body = text_of(client_for(manager).get(doc(fixing)))

    for expected in (
        'id="changes"',
        "Pool to 200",
        'id="workstreams"',
        "Database",
        "5xx up",
        f'id="theory-{theory.pk}"',
        "Double the pool",
        'id="decisions"',
        "Roll back",
        'id="doc-timeline"',
        "Incident manager:",
    ):
        assert expected in body


def test_the_document_query_count_does_not_grow(client_for, fixing, manager, responder):
    client = client_for(manager)
    client.get(doc(fixing))

    def fill(start, count):
        for number in range(start, start + count):
            theory = actions.add_timeline_entry(
                fixing, kind=EntryKind.THEORY, text=f"theory {number}", by=responder
            ).theory
            actions.add_timeline_entry(
                fixing, kind=EntryKind.EXPERIMENT, text="try", theory=theory, by=manager
            )
            entry = actions.add_timeline_entry(
                fixing, kind=EntryKind.CHANGE, text=f"change {number}", by=responder
            )
            workspace_actions.edit_timeline_entry(entry, by=responder, text=f"change {number}!")
            workspace_actions.save_workstream(
                fixing, by=manager, name=f"ws {number}", lead=responder
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(doc(fixing)).status_code == 200
        return len(queries)

    few = fill(0, 1)
    many = fill(1, 6)
    assert many == few


def test_a_responder_logs_a_change_from_the_document(client_for, fixing, responder):
    response = client_for(responder).post(
        doc(fixing, "document_change"),
        {"text": "Restarted pods", "how": "kubectl", "why": "stuck", "undo": "nothing"},
    )

    assert response.status_code == 302
    assert response["Location"].endswith("/document/#changes")
    assert fixing.changes.get().why == "stuck"


def test_a_change_without_what_is_a_400(client_for, fixing, responder):
    response = client_for(responder).post(doc(fixing, "document_change"), {"how": "kubectl"})

    assert response.status_code == 400
    assert "This field is required." in text_of(response)
    assert not fixing.changes.exists()


def test_support_reads_the_document_but_may_not_write(client_for, fixing, support):
    client = client_for(support)

    assert client.get(doc(fixing)).status_code == 200
    assert client.post(doc(fixing, "document_theory"), {"text": "DNS"}).status_code == 403
    assert not Theory.objects.exists()


def test_an_outsider_is_refused_the_document(client_for, fixing, outsider):
    assert client_for(outsider).get(doc(fixing)).status_code == 403


def test_a_theory_is_decided_from_the_document(client_for, fixing, responder):
    theory = actions.add_timeline_entry(
        fixing, kind=EntryKind.THEORY, text="DNS", by=responder
    ).theory

    response = client_for(responder).post(
        doc(fixing, "theory_decide", theory.pk), {"state": "disproved"}
    )

    assert response.status_code == 302
    theory.refresh_from_db()
    assert theory.state == TheoryState.DISPROVED


def test_a_bad_theory_state_is_a_400(client_for, fixing, responder):
    theory = actions.add_timeline_entry(
        fixing, kind=EntryKind.THEORY, text="DNS", by=responder
    ).theory

    response = client_for(responder).post(
        doc(fixing, "theory_decide", theory.pk), {"state": "maybe"}
    )

    assert response.status_code == 400


def test_a_duplicate_workstream_is_a_400_on_its_name(client_for, fixing, manager):
    workspace_actions.save_workstream(fixing, by=manager, name="Database")

    response = client_for(manager).post(
        doc(fixing, "workstreams"), {"name": "Database", "state": "active"}
    )

    assert response.status_code == 400
    assert "There is already a workstream named Database." in text_of(response)


def test_an_experiment_form_offers_this_incidents_theories_only(client_for, fixing, responder):
    other = make_incident()
    foreign = actions.add_timeline_entry(
        other, kind=EntryKind.THEORY, text="Foreign", by=responder
    ).theory

    response = client_for(responder).post(
        doc(fixing, "document_experiment"), {"text": "Try", "theory": foreign.pk}
    )

    assert response.status_code == 400
    assert not Experiment.objects.exists()


def test_the_author_edits_from_the_page(client_for, fixing, responder):
    entry = actions.add_timeline_entry(fixing, kind=EntryKind.NOTE, text="Typo", by=responder)
    client = client_for(responder)

    assert client.get(doc(fixing, "entry_edit", entry.pk)).status_code == 200
    response = client.post(
        doc(fixing, "entry_edit", entry.pk),
        {"text": "Fixed", "occurred_at": entry.occurred_at.strftime("%Y-%m-%dT%H:%M:%S")},
    )

    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.text == "Fixed"
    assert "(edited)" in client.get(fixing.get_absolute_url()).content.decode()


def test_someone_else_may_not_edit_an_entry(client_for, fixing, responder, manager):
    entry = actions.add_timeline_entry(fixing, kind=EntryKind.NOTE, text="Mine", by=responder)

    response = client_for(manager).post(
        doc(fixing, "entry_edit", entry.pk), {"text": "Theirs", "occurred_at": "2025-01-01T00:00"}
    )

    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.text == "Mine"


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_at_the_same_moment_lose_nothing():
    """Two people, each on their own connection, add entries at once to the same incident."""
    manager = UserFactory(username="maya", group="incident manager")
    responder = UserFactory(username="rui", group="responder")
    incident = actions.claim_incident(make_incident(), by=manager)
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def write(person, kind):
        try:
            barrier.wait()
            for number in range(20):
                actions.add_timeline_entry(
                    incident, kind=kind, text=f"{person.username} {number}", by=person
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(manager, EntryKind.DECISION)),
        threading.Thread(target=write, args=(responder, EntryKind.CHANGE)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    written = TimelineEntry.objects.filter(incident=incident, kind__in=["decision", "change"])
    assert written.count() == 40
    assert incident.changes.count() == 20
