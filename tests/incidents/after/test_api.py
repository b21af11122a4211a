"""Cleanup tasks and the review through the API: the same rules and actions as the pages."""

import pytest

from incidents import actions
from tests.factories import make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixing(manager):
    return actions.claim_incident(make_incident(), by=manager)


def api(incident, *rest):
    return "/".join([f"/api/incidents/{incident.key}", *map(str, rest)]) + "/"


def test_cleanup_tasks_through_the_api(api_for, fixing, manager, responder):
    created = api_for(manager).post(
        api(fixing, "cleanup-tasks"),
        {"title": "Alert", "owner": "rui", "due": "2020-01-01", "link": "https://x.example/1"},
        format="json",
    )
    task = created.json()

    assert created.status_code == 201
    assert task["overdue"] is True
    done = api_for(responder).post(api(fixing, "cleanup-tasks", task["id"], "done"))
    assert done.json()["done_by"] == "rui"
    assert api_for(responder).get(api(fixing, "cleanup-tasks")).json()[0]["overdue"] is False


def test_the_review_through_the_api(api_for, fixing, manager, responder):
    client = api_for(manager)
    assert client.post(api(fixing, "review")).status_code == 400  # not resolved yet
    actions.transition_incident(
        fixing, to="resolved", by=manager, impact_ended_at=fixing.created_at
    )

    assert client.get(api(fixing, "review")).status_code == 404
    started = client.post(api(fixing, "review"))
    assert started.status_code == 201
    assert started.json()["body"].startswith("# Post-incident review")
    assert api_for(responder).patch(api(fixing, "review"), {"body": "x"}).status_code == 403
    assert client.patch(api(fixing, "review"), {"body": "# Final"}).json()["body"] == "# Final"
    assert client.post(api(fixing, "review", "complete")).json()["completed_at"] is not None
    fixing.refresh_from_db()
    assert fixing.status == "reviewed"
