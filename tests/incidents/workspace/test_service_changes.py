"""Changes reported by CI/CD and the window around the impact start (HANDBOOK §4)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from incidents import actions
from incidents.models import EntryKind
from incidents.workspace import actions as workspace_actions
from incidents.workspace import selectors as workspace_selectors
from incidents.workspace.models import ChangeToken, ServiceChange
from tests.factories import ProductFactory, ServiceFactory, make_incident

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def payments(db):
    return ServiceFactory(name="Payments API", slug="payments-api")


@pytest.fixture
def incident(payments, manager):
    incident = make_incident(
        faulty_service=payments, impact_started_at=START, detected_at=START + timedelta(minutes=5)
    )
    return actions.claim_incident(incident, by=manager)


def report(service, minutes, summary=None, **fields):
    change, _ = workspace_actions.report_service_change(
        service,
        summary=summary or f"change at {minutes:+d} min",
        happened_at=START + timedelta(minutes=minutes),
        **fields,
    )
    return change


def nearby(incident):
    return [row.change.summary for row in workspace_selectors.changes_near_impact(incident)]


def test_the_window_keeps_its_edges_and_drops_what_is_outside(incident, payments):
    for minutes in (-121, -120, -30, 0, 30, 31):
        report(payments, minutes)

    assert sorted(nearby(incident)) == sorted(
        ["change at -120 min", "change at -30 min", "change at +0 min", "change at +30 min"]
    )


def test_the_closest_change_comes_first(incident, payments):
    for minutes in (-100, -5, 20, -40):
        report(payments, minutes)

    assert nearby(incident) == [
        "change at -5 min",
        "change at +20 min",
        "change at -40 min",
        "change at -100 min",
    ]


def test_the_window_follows_the_settings(incident, payments, settings):
    settings.CHANGE_WINDOW_BEFORE_MINUTES = 10
    settings.CHANGE_WINDOW_AFTER_MINUTES = 0
    for minutes in (-11, -10, 0, 1):
        report(payments, minutes)

    assert sorted(nearby(incident)) == ["change at +0 min", "change at -10 min"]


def test_changes_of_the_affected_products_services_count_too(incident, payments):
    frontend = ServiceFactory(name="Web frontend", slug="web-frontend")
    unrelated = ServiceFactory(name="Search", slug="search")
    web = ProductFactory(name="Web app", slug="web-app")
    web.services.add(frontend)
    incident.affected_products.add(web)
    report(frontend, -3, "frontend deploy")
    report(unrelated, -1, "search deploy")

    assert nearby(incident) == ["frontend deploy"]


def test_without_an_impact_start_the_detection_anchors_the_window(payments, manager):
    incident = make_incident(faulty_service=payments, detected_at=START)
    report(payments, -60)

    assert nearby(incident) == ["change at -60 min"]


def test_suspecting_a_change_records_a_theory_once(incident, payments, responder):
    change = report(payments, -5, "Deploy v42")

    workspace_actions.suspect_service_change(incident, change, by=responder)
    workspace_actions.suspect_service_change(incident, change, by=responder)

    theory = incident.theories.get()
    assert theory.suspects == change
    assert theory.entry.text == (
        "Suspected cause: Deployment of Payments API at 2026-03-04 11:55 UTC: Deploy v42"
    )
    row = workspace_selectors.changes_near_impact(incident)[0]
    assert (row.suspected, row.rolled_back) == (True, False)


def test_logging_a_rollback_adds_to_the_changes_table(incident, payments, responder):
    change = report(payments, -5, "Deploy v42")

    workspace_actions.roll_back_service_change(incident, change, by=responder)

    logged = incident.changes.get()
    assert logged.rolls_back == change
    assert logged.undo == "Redeploy: Deploy v42"
    assert logged.entry.kind == EntryKind.CHANGE
    assert workspace_selectors.changes_near_impact(incident)[0].rolled_back


def test_the_workspace_lists_nearby_changes_with_their_actions(
    client_for, incident, payments, responder
):
    change = report(payments, -5, "Deploy v42", url="https://ci.example.com/42", author="ci-bot")
    client = client_for(responder)

    body = client.get(incident.get_absolute_url()).content.decode()
    assert "Deploy v42" in body
    assert "5 min before" in body
    assert "Record as suspected cause" in body

    suspect = reverse("incidents:service_change_suspect", args=[incident.key, change.pk])
    rollback = reverse("incidents:service_change_rollback", args=[incident.key, change.pk])
    assert client.post(suspect).status_code == 302
    assert client.post(rollback).status_code == 302
    body = client.get(incident.get_absolute_url()).content.decode()
    assert "suspected cause</span>" in body
    assert "rolled back</span>" in body


def test_support_may_not_suspect_a_change(client_for, incident, payments, support):
    change = report(payments, -5)
    url = reverse("incidents:service_change_suspect", args=[incident.key, change.pk])

    assert client_for(support).post(url).status_code == 403


def test_an_empty_window_says_how_changes_arrive(client_for, incident, responder):
    body = client_for(responder).get(incident.get_absolute_url()).content.decode()

    assert "No deployments or changes reported for Payments API" in body


# The CI/CD endpoint --------------------------------------------------------------------


@pytest.fixture
def token(payments):
    _, token = workspace_actions.issue_change_token(payments, label="deploy pipeline")
    return token


def ci(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_ci_reports_a_deployment_with_its_token(token, payments):
    response = ci(token).post(
        "/api/changes/",
        {
            "summary": "Deploy v42",
            "author": "ci-bot",
            "happened_at": "2026-03-04T11:55:00Z",
            "url": "https://ci.example.com/42",
            "kind": "deploy",
            "external_id": "run-42",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["service"] == "payments-api"
    change = ServiceChange.objects.get()
    assert (change.service, change.author, change.happened_at) == (
        payments,
        "ci-bot",
        START - timedelta(minutes=5),
    )
    assert ChangeToken.objects.get().last_used_at is not None


def test_a_retried_report_is_stored_once(token):
    body = {"summary": "Deploy v42", "external_id": "run-42"}

    first = ci(token).post("/api/changes/", body, format="json")
    second = ci(token).post("/api/changes/", body, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert ServiceChange.objects.count() == 1


def test_only_the_digest_of_a_token_is_stored(token):
    assert ChangeToken.objects.get().digest != token
    assert len(ChangeToken.objects.get().digest) == 64


def test_an_unknown_token_is_401(token):
    response = ci("nope").post("/api/changes/", {"summary": "x"}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="changes"'


def test_no_token_is_401(db):
    assert APIClient().post("/api/changes/", {"summary": "x"}, format="json").status_code == 401


def test_a_user_session_may_not_report_changes(api_for, manager):
    response = api_for(manager).post("/api/changes/", {"summary": "x"}, format="json")

    assert response.status_code in (401, 403)
    assert not ServiceChange.objects.exists()


def test_a_token_reports_its_own_service_only(token):
    ServiceFactory(slug="search")

    response = ci(token).post("/api/changes/", {"summary": "x", "service": "search"}, format="json")

    assert response.status_code == 403
    assert not ServiceChange.objects.exists()


def test_a_bad_kind_is_a_400_naming_the_field(token):
    response = ci(token).post("/api/changes/", {"summary": "x", "kind": "yolo"}, format="json")

    assert response.status_code == 400
    assert "kind" in response.json()


def test_a_change_in_the_future_is_a_400(token):
    response = ci(token).post(
        "/api/changes/", {"summary": "x", "happened_at": "2999-01-01T00:00:00Z"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"happened_at": ["This time is in the future."]}


def test_the_command_prints_a_working_token(payments, capsys):
    call_command("issue_change_token", "payments-api", "--label", "gh actions")

    token = capsys.readouterr().out.strip()
    assert ci(token).post("/api/changes/", {"summary": "x"}, format="json").status_code == 201


def test_nearby_changes_and_their_actions_through_the_api(api_for, incident, payments, responder):
    change = report(payments, -5, "Deploy v42")
    client = api_for(responder)
    base = f"/api/incidents/{incident.key}/nearby-changes/"

    rows = client.get(base).json()
    assert rows[0]["change"]["summary"] == "Deploy v42"
    assert rows[0]["offset_seconds"] == -300
    assert client.post(f"{base}{change.pk}/suspect/").status_code == 201
    assert client.post(f"{base}{change.pk}/rollback/").status_code == 201
    assert client.post(f"{base}999/rollback/").status_code == 404
    assert client.get(base).json()[0]["suspected"] is True
