"""The workspace through the API: the same rules and actions as the pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import actions
from incidents.models import Role
from incidents.workspace import actions as workspace_actions
from incidents.workspace import fatigue
from tests.factories import UserFactory, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixing(manager):
    return actions.claim_incident(make_incident(), by=manager)


def test_assessments_through_the_api(api_for, fixing, manager, support):
    url = f"/api/incidents/{fixing.key}/assessments/"
    client = api_for(manager)

    first = client.post(url, {"affected": "all", "data_loss": True}, format="json")
    second = client.post(url, {"affected": "number", "affected_count": 40}, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["suggested_severity"] == 1
    rows = api_for(support).get(url).json()
    assert [(row["revision"], row["suggested_severity"]) for row in rows] == [(2, 2), (1, 1)]


def test_an_assessment_missing_its_number_is_a_400(api_for, fixing, manager):
    response = api_for(manager).post(
        f"/api/incidents/{fixing.key}/assessments/", {"affected": "number"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"affected_count": ["Say how many customers are affected."]}


def test_a_responder_may_not_assess(api_for, fixing, responder):
    response = api_for(responder).post(
        f"/api/incidents/{fixing.key}/assessments/", {"affected": "all"}, format="json"
    )

    assert response.status_code == 403


# The status document, timeline edits, cleanup, review and fatigue ----------------------


def api(incident, *rest):
    return "/".join([f"/api/incidents/{incident.key}", *map(str, rest)]) + "/"


def test_a_change_is_logged_and_undone_through_the_api(api_for, fixing, responder, support):
    client = api_for(responder)

    created = client.post(
        api(fixing, "changes"),
        {"text": "Pool to 200", "how": "helm", "why": "exhausted", "undo": "helm rollback"},
        format="json",
    )
    assert created.status_code == 201
    row = created.json()
    assert (row["what"], row["author"], row["undo"], row["undone_at"]) == (
        "Pool to 200",
        "rui",
        "helm rollback",
        None,
    )
    undone = client.post(api(fixing, "changes", row["id"], "undo"))
    assert undone.json()["undone_by"] == "rui"
    assert len(api_for(support).get(api(fixing, "changes")).json()) == 2
    assert api_for(support).post(api(fixing, "changes"), {"text": "x"}).status_code == 403


def test_a_change_without_what_is_a_400(api_for, fixing, responder):
    response = api_for(responder).post(api(fixing, "changes"), {"how": "x"}, format="json")

    assert response.status_code == 400
    assert "text" in response.json()


def test_theories_and_experiments_through_the_api(api_for, fixing, responder):
    client = api_for(responder)

    theory = client.post(api(fixing, "theories"), {"text": "DNS"}, format="json").json()
    experiment = client.post(
        api(fixing, "experiments"), {"text": "Flush caches", "theory": theory["id"]}, format="json"
    )
    decided = client.post(
        api(fixing, "theories", theory["id"], "decide"), {"state": "confirmed"}, format="json"
    )

    assert experiment.status_code == 201
    assert decided.json()["state"] == "confirmed"
    listed = client.get(api(fixing, "theories")).json()
    assert [e["text"] for e in listed[0]["experiments"]] == ["Flush caches"]


def test_an_experiment_on_a_foreign_theory_is_a_400(api_for, fixing, responder):
    other = make_incident()
    foreign = actions.add_timeline_entry(other, kind="theory", text="x", by=responder).theory

    response = api_for(responder).post(
        api(fixing, "experiments"), {"text": "Try", "theory": foreign.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"theory": ["Link an experiment to a theory of this incident."]}


def test_workstreams_through_the_api(api_for, fixing, manager, responder):
    client = api_for(manager)

    created = client.post(
        api(fixing, "workstreams"), {"name": "Database", "lead": "rui"}, format="json"
    )
    patched = client.patch(
        api(fixing, "workstreams", created.json()["id"]), {"state": "done"}, format="json"
    )
    duplicate = client.post(api(fixing, "workstreams"), {"name": "Database"}, format="json")

    assert created.status_code == 201
    assert created.json()["lead"] == "rui"
    assert patched.json()["state"] == "done"
    assert duplicate.status_code == 400
    assert "name" in duplicate.json()


def test_the_author_edits_an_entry_through_the_api(api_for, fixing, responder, manager):
    entry = actions.add_timeline_entry(fixing, kind="note", text="Typo", by=responder)

    edited = api_for(responder).patch(api(fixing, "timeline", entry.pk), {"text": "Fixed"})
    refused = api_for(manager).patch(api(fixing, "timeline", entry.pk), {"text": "Mine"})

    assert edited.status_code == 200
    assert edited.json()["text"] == "Fixed"
    assert refused.status_code == 403


def test_fatigue_and_breaks_through_the_api(api_for, fixing, manager, responder):
    loads = api_for(responder).get(api(fixing, "fatigue")).json()
    # None while no app counts pages; the on-call app, when it registers its counter,
    # finds none sent here.
    counted = fatigue.pages_received([manager.pk], timezone.now())
    expected_pages = None if counted is None else 0
    assert [(load["person"], load["level"], load["pages_24h"]) for load in loads] == [
        ("maya", "ok", expected_pages)
    ]
    assert api_for(responder).post(api(fixing, "breaks"), {"person": "maya"}).status_code == 403
    response = api_for(manager).post(api(fixing, "breaks"), {"person": "maya"})
    assert response.status_code == 201
    assert response.json()["kind"] == "break"


def test_the_schema_documents_the_workspace(api_for, manager):
    schema = api_for(manager).get("/api/schema/?format=json").json()

    for path in (
        "/api/incidents/{key}/roles/",
        "/api/incidents/{key}/assessments/",
        "/api/incidents/{key}/changes/",
        "/api/incidents/{key}/theories/",
        "/api/incidents/{key}/review/",
        "/api/incidents/{key}/fatigue/",
        "/api/changes/",
    ):
        assert path in schema["paths"]


def test_the_role_and_change_lists_cost_the_same_queries_whatever_their_length(
    api_for, fixing, manager
):
    client = api_for(manager)
    client.get(api(fixing, "roles"))

    def measure(start, count):
        for number in range(start, start + count):
            person = UserFactory(username=f"q{number}", group="responder")
            held = actions.assign_role(fixing, person=person, role=Role.TECH_LEAD, by=manager)
            actions.release_role(held, by=manager)
            entry = actions.add_timeline_entry(fixing, kind="change", text="c", by=person)
            workspace_actions.undo_change(entry.change, by=manager)
        with CaptureQueriesContext(connection) as queries:
            client.get(api(fixing, "roles"))
            client.get(api(fixing, "changes"))
            client.get(api(fixing, "theories"))
            client.get(api(fixing, "cleanup-tasks"))
        return len(queries)

    assert measure(0, 1) == measure(1, 6)
