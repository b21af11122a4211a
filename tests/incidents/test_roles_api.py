"""Roles through the API: the same rules and actions as the pages."""

import pytest

from incidents import actions
from incidents.models import Role
from tests.factories import make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixing(manager):
    return actions.claim_incident(make_incident(), by=manager)


def roles_url(incident, *rest):
    return "/".join([f"/api/incidents/{incident.key}/roles", *map(str, rest)]) + "/"


def test_an_incident_manager_assigns_a_tech_lead(api_for, fixing, manager, responder):
    response = api_for(manager).post(
        roles_url(fixing),
        {"person": "rui", "role": "tech_lead", "scope": "database"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json() | {"id": 0, "started_at": ""} == {
        "id": 0,
        "role": "tech_lead",
        "custom_name": "",
        "label": "Tech lead",
        "scope": "database",
        "person": "rui",
        "current": True,
        "started_at": "",
        "ended_at": None,
        "assigned_by": "maya",
        "ended_by": None,
    }


def test_the_role_list_holds_the_history(api_for, fixing, manager, other_manager, support):
    actions.hand_over_role(fixing.roles.get(), to=other_manager, by=manager)

    response = api_for(support).get(roles_url(fixing))

    assert response.status_code == 200
    assert [(row["person"], row["current"]) for row in response.json()] == [
        ("maya", False),
        ("imani", True),
    ]


def test_a_responder_may_not_assign_roles(api_for, fixing, responder):
    response = api_for(responder).post(
        roles_url(fixing), {"person": "rui", "role": "tech_lead"}, format="json"
    )

    assert response.status_code == 403


def test_a_bad_role_is_a_400_naming_the_field(api_for, fixing, manager):
    response = api_for(manager).post(
        roles_url(fixing), {"person": "rui", "role": "captain"}, format="json"
    )

    assert response.status_code == 400
    assert "role" in response.json()


def test_an_incident_manager_role_for_a_responder_is_a_400_on_person(
    api_for, fixing, manager, responder
):
    response = api_for(manager).post(
        roles_url(fixing), {"person": "rui", "role": "incident_manager"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"person": ["rui is not an incident manager."]}


def test_hand_over_through_the_api_moves_the_assignee(api_for, fixing, manager, other_manager):
    held = fixing.roles.get()

    response = api_for(manager).post(
        roles_url(fixing, held.pk, "hand-over"),
        {"to": "imani", "note": "Shift ends."},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["person"] == "imani"
    fixing.refresh_from_db()
    assert fixing.assignee == other_manager


def test_releasing_twice_is_a_conflict(api_for, fixing, manager, responder):
    held = actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)
    client = api_for(responder)

    assert client.post(roles_url(fixing, held.pk, "release")).status_code == 200
    second = client.post(roles_url(fixing, held.pk, "release"))

    assert second.status_code == 409


def test_a_missing_role_is_404(api_for, fixing, manager):
    assert api_for(manager).post(roles_url(fixing, 999, "release")).status_code == 404


def test_assigning_a_role_on_an_incident_resolved_meanwhile_is_a_conflict(
    api_for, fixing, manager, responder
):
    actions.transition_incident(
        fixing, to="resolved", by=manager, impact_ended_at=fixing.created_at
    )

    response = api_for(manager).post(
        roles_url(fixing), {"person": responder.username, "role": "tech_lead"}, format="json"
    )

    assert response.status_code == 409
    assert "resolved" in response.json()["detail"]
