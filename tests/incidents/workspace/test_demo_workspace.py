"""The demo's open SSO incident shows the workspace: roles, assessment, changes, theory."""

import io

import pytest
from django.core.management import call_command

from incidents import selectors
from incidents.models import Incident, IncidentChange, RoleAssignment, Theory, TheoryState
from incidents.workspace import selectors as workspace_selectors
from incidents.workspace.models import ServiceChange

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_on(settings):
    settings.DEMO_DATA = True


def load_demo():
    call_command("load_demo", stdout=io.StringIO())


def test_the_open_demo_incident_has_a_workspace(client_for):
    load_demo()

    login = Incident.objects.get(summary="Login fails for SSO customers")
    assert [(holder.role, holder.person.username) for holder in selectors.current_roles(login)] == [
        ("Incident manager", "lars"),
        ("Tech lead", "priya"),
        ("Communications manager (internal)", "tomas"),
        ("Scribe", "manager"),
    ]
    assert login.assessments.get().suggested_severity == 2
    assert Theory.objects.get(incident=login).state == TheoryState.CONFIRMED
    assert login.changes.get().rolls_back is not None
    nearby = [row.change.summary for row in workspace_selectors.changes_near_impact(login)]
    assert nearby[0] == "auth v2.14.0: new SAML library"
    assert len(nearby) == 3
    body = client_for(login.assignee).get(login.get_absolute_url()).content.decode()
    assert "Record as suspected cause" in body or "suspected cause</span>" in body


def test_a_second_load_adds_no_workspace_data_twice():
    load_demo()
    counts = [
        model.objects.count() for model in (RoleAssignment, ServiceChange, Theory, IncidentChange)
    ]

    load_demo()

    assert [
        model.objects.count() for model in (RoleAssignment, ServiceChange, Theory, IncidentChange)
    ] == counts
