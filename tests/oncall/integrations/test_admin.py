"""The integrations admin pages, the API, the incident panel and paging."""

import pytest

from incidents.models import Incident
from oncall.integrations.models import Alert, Integration, hash_key
from oncall.models import Escalation, EscalationState, EventKind, PageReason, PageState, TeamAdmin
from tests.factories import ServiceFactory, UserFactory

from . import examples

PD = "/v2/enqueue"


# Pages ------------------------------------------------------------------------------------


def test_index_lists_and_offers_to_create(client_for, admin_user, integration):
    response = client_for(admin_user).get("/oncall/integrations/")
    assert response.status_code == 200
    assert b"Prometheus prod" in response.content
    assert b"Add an integration" in response.content


def test_a_responder_sees_an_empty_state_and_no_form(client_for, responder, integration):
    response = client_for(responder).get("/oncall/integrations/")
    assert b"Prometheus prod" not in response.content
    assert b"Ask an admin of your team" in response.content
    assert client_for(responder).get(f"/oncall/integrations/{integration.pk}/").status_code == 404


def test_create_shows_the_key_once(client_for, admin_user, service, post):
    client = client_for(admin_user)
    response = client.post(
        "/oncall/integrations/new/",
        {"name": "Grafana", "service": service.pk, "default_severity": 2},
        follow=True,
    )
    integration = Integration.objects.get(name="Grafana")
    assert response.redirect_chain == [(f"/oncall/integrations/{integration.pk}/", 302)]
    key = response.context["new_key"]
    assert integration.key_hash == hash_key(key)
    assert key not in integration.key_hash
    assert f"/integrations/alertmanager/{key}/".encode() in response.content
    again = client.get(f"/oncall/integrations/{integration.pk}/")
    assert key.encode() not in again.content
    assert post(PD, examples.pagerduty(key)).status_code == 202


def test_create_with_bad_input_names_the_field(client_for, admin_user):
    response = client_for(admin_user).post("/oncall/integrations/new/", {"name": ""})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() >= {"name", "service"}
    assert not Integration.objects.exists()


def test_team_admin_manages_own_team_only(client_for, integration, team):
    pia = UserFactory(username="pia", group="responder")
    TeamAdmin.objects.create(team=team, user=pia)
    client = client_for(pia)
    assert client.get(f"/oncall/integrations/{integration.pk}/").status_code == 200
    other = ServiceFactory(slug="search", name="Search")
    response = client.post("/oncall/integrations/new/", {"name": "x", "service": other.pk})
    assert response.status_code == 400  # not a choice for her


def test_detail_shows_payloads_rejected_and_test_alert(
    client_for, admin_user, integration, key, post
):
    post(PD, examples.pagerduty(key))
    post(PD, examples.pagerduty(key, "explode"))
    client = client_for(admin_user)
    response = client.post(f"/oncall/integrations/{integration.pk}/test/", follow=True)
    assert b"The test alert opened HOT-2" in response.content
    page = client.get(f"/oncall/integrations/{integration.pk}/")
    assert len(page.context["payloads"]) == 2
    [rejected] = page.context["rejected"]
    assert "'event_action' is invalid" in rejected.reason
    assert b"srv01/mysql" in page.content


def test_pause_and_rotate_from_the_page(client_for, admin_user, integration, key, post):
    client = client_for(admin_user)
    client.post(f"/oncall/integrations/{integration.pk}/pause/", {"paused": "1"})
    integration.refresh_from_db()
    assert integration.paused
    response = client.post(f"/oncall/integrations/{integration.pk}/rotate/", follow=True)
    new_key = response.context["new_key"]
    assert client.get(f"/oncall/integrations/{integration.pk}/").context["new_key"] is None
    assert post(PD, examples.pagerduty(key)).status_code == 400  # PagerDuty: "Invalid routing key"
    assert post(PD, examples.pagerduty(new_key)).status_code == 202


def test_page_query_counts_are_constant(client_for, admin_user, integration, key, post):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(admin_user)
    urls = [f"/oncall/integrations/{integration.pk}/", "/oncall/integrations/"]

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    post(PD, examples.pagerduty(key))
    counts()  # the permissions kept (config/auth.py)
    few = counts()
    for number in range(10):
        post(PD, examples.pagerduty(key, dedup_key=f"k{number}"))
        post(PD, examples.pagerduty(key, "explode"))
    assert counts() == few


def test_incident_page_shows_the_alerts_panel(client_for, admin_user, key, deliver):
    deliver(PD, examples.pagerduty(key))
    incident = Incident.objects.get()
    response = client_for(admin_user).get(f"/incidents/{incident.key}/")
    assert response.status_code == 200
    assert b'id="alerts-panel"' in response.content
    assert b"prod-datapipe03.example.com" in response.content


def test_integrations_are_a_tab_of_the_on_call_section(client_for, admin_user):
    response = client_for(admin_user).get("/oncall/integrations/")
    assert {"label": "On call", "url": "/oncall/", "active": True} in response.context["nav_items"]
    assert b'href="/oncall/integrations/" class="active">Integrations</a>' in response.content


# API --------------------------------------------------------------------------------------


def test_api_create_list_pause_rotate(api_for, admin_user, service, post):
    api = api_for(admin_user)
    created = api.post(
        "/api/integrations/",
        {"name": "PD tools", "service": service.slug, "severity_map": {"warning": 2}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    key = body["key"]
    assert body["urls"]["alertmanager"].endswith(f"/integrations/alertmanager/{key}/")
    assert body["urls"]["pagerduty"].endswith("/v2/enqueue")
    assert body["severity_map"] == {"warning": 2}
    [listed] = api.get("/api/integrations/").json()
    assert listed["key"] is None
    assert key not in listed["urls"]["alertmanager"]
    pk = body["id"]
    assert api.patch(f"/api/integrations/{pk}/", {"paused": True}, format="json").json()["paused"]
    rotated = api.post(f"/api/integrations/{pk}/rotate/").json()
    assert rotated["key"] != key
    assert post(PD, examples.pagerduty(key)).status_code == 400  # PagerDuty: "Invalid routing key"
    assert post(PD, examples.pagerduty(rotated["key"])).status_code == 202
    assert Alert.objects.get().outcome == "ignored"  # paused


def test_api_bad_input_names_the_field(api_for, admin_user):
    response = api_for(admin_user).post(
        "/api/integrations/", {"name": "x", "service": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert (
        "service" in response.json()["errors"]
        if "errors" in response.json()
        else "service" in response.json()
    )


def test_api_is_for_admins(api_for, responder, integration, service):
    api = api_for(responder)
    assert api.get("/api/integrations/").json() == []
    assert (
        api.post(
            "/api/integrations/", {"name": "x", "service": service.slug}, format="json"
        ).status_code
        == 403
    )
    assert api.post(f"/api/integrations/{integration.pk}/rotate/").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get("/api/integrations/").status_code == 401


# Paging -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "paged"), [("critical", True), ("error", True), ("warning", False)]
)
def test_severity_1_2_alerts_page_on_call(key, deliver, severity, paged):
    deliver(PD, examples.pagerduty(key, severity=severity))
    incident = Incident.objects.get()
    # The on-call subscribers start paging and escalation for severity 1-2 only.
    assert Escalation.objects.filter(incident=incident).exists() == paged


@pytest.fixture
def on_call(make_roster, team):
    """Pia is on call for the integration's team."""
    from datetime import date

    return make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))


def test_pagerduty_acknowledge_acknowledges_the_page_and_stops_the_escalation(
    key, deliver, on_call
):
    deliver(PD, examples.pagerduty(key))
    incident = Incident.objects.get()
    [page] = incident.pages.all()
    assert (page.user.username, page.reason, page.state) == ("pia", PageReason.INCIDENT, "pending")
    assert incident.escalation.state == EscalationState.ACTIVE
    deliver(PD, examples.pagerduty(key, "acknowledge"))
    page.refresh_from_db()
    assert page.state == PageState.ACKNOWLEDGED
    assert page.acknowledged_by.username == "alerts"
    escalation = Escalation.objects.get(incident=incident)
    assert (escalation.state, escalation.next_escalation_at) == (EscalationState.ACKNOWLEDGED, None)
    assert incident.paging_events.filter(kind=EventKind.ACKNOWLEDGED).count() == 1
    # A second acknowledge changes nothing more.
    deliver(PD, examples.pagerduty(key, "acknowledge"))
    assert incident.paging_events.filter(kind=EventKind.ACKNOWLEDGED).count() == 1
    incident.refresh_from_db()
    assert incident.status == "new"  # acknowledging is not claiming


def test_pagerduty_acknowledge_with_nobody_on_call_still_stops_the_clock(key, deliver):
    deliver(PD, examples.pagerduty(key))
    incident = Incident.objects.get()
    assert not incident.pages.exists()
    assert incident.escalation.state == EscalationState.ACTIVE
    deliver(PD, examples.pagerduty(key, "acknowledge"))
    incident.escalation.refresh_from_db()
    assert incident.escalation.state == EscalationState.STOPPED
