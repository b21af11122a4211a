"""Heartbeats: setting one up (portal and API), pings, the sweep that finds missed ones,
and the alert group, incident and page a missed ping makes through the alerts' path."""

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from incidents.models import EntryKind, Incident
from oncall.integrations import heartbeats, tasks
from oncall.integrations.heartbeat_models import Heartbeat, HeartbeatState
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome, GroupState
from oncall.models import PageReason, TeamAdmin
from tests.factories import ServiceFactory, UserFactory

from .conftest import apply_pending

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PING = "/integrations/heartbeat/{}/"


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def on_call(make_roster, team):
    """Pia is on call for the integration's team."""
    return make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))


@pytest.fixture
def beating(integration, admin_user):
    """A heartbeat every 10 minutes with 5 minutes' grace, on an integration whose
    alerts are severity 2 (so a miss pages)."""
    integration.default_severity = 2
    integration.save(update_fields=["default_severity"])
    return heartbeats.set_heartbeat(
        integration, by=admin_user, interval=timedelta(minutes=10), grace=timedelta(minutes=5)
    )


def sweep_and_apply():
    missed = tasks.check_heartbeats.apply().get()
    apply_pending()
    return missed


# Setting up -------------------------------------------------------------------------------


def test_admin_sets_up_a_heartbeat_in_the_portal(client_for, admin_user, integration):
    client = client_for(admin_user)
    url = f"/oncall/integrations/{integration.pk}/heartbeat/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"interval_minutes": 60, "grace_minutes": 10})
    assert response.status_code == 302
    heartbeat = Heartbeat.objects.get()
    assert (heartbeat.interval, heartbeat.grace) == (timedelta(hours=1), timedelta(minutes=10))
    # Counted from now: a job that never pings is caught too.
    assert (heartbeat.state, heartbeat.next_expected_at) == (
        HeartbeatState.WAITING,
        NOW + timedelta(hours=1),
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"interval_minutes": 0, "grace_minutes": 5}, "interval_minutes"),
        ({"interval_minutes": 10, "grace_minutes": -1}, "grace_minutes"),
        ({"interval_minutes": "ten", "grace_minutes": 5}, "interval_minutes"),
        ({"grace_minutes": 5}, "interval_minutes"),
    ],
)
def test_bad_heartbeat_input_names_the_field(client_for, admin_user, integration, data, field):
    response = client_for(admin_user).post(
        f"/oncall/integrations/{integration.pk}/heartbeat/", data
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Heartbeat.objects.exists()


def test_outsiders_cannot_see_or_set_a_heartbeat(client_for, responder, integration, team):
    url = f"/oncall/integrations/{integration.pk}/heartbeat/"
    assert client_for(responder).get(url).status_code == 404
    assert client_for(responder).post(url, {"interval_minutes": 5}).status_code == 404
    other = UserFactory(username="olga", group="responder")
    TeamAdmin.objects.create(team=ServiceFactory(slug="search").team, user=other)
    assert client_for(other).post(url, {"interval_minutes": 5}).status_code == 404
    assert not Heartbeat.objects.exists()


def test_team_admin_sets_up_a_heartbeat_for_their_service(client_for, integration, team):
    pia = UserFactory(username="pia", group="responder")
    TeamAdmin.objects.create(team=team, user=pia)
    response = client_for(pia).post(
        f"/oncall/integrations/{integration.pk}/heartbeat/",
        {"interval_minutes": 5, "grace_minutes": 0},
    )
    assert response.status_code == 302
    assert Heartbeat.objects.get().grace == timedelta(0)


def test_integration_page_shows_state_url_and_curl(client_for, admin_user, beating, key):
    client = client_for(admin_user)
    page = client.get(f"/oncall/integrations/{beating.integration_id}/").content.decode()
    assert "Waiting for the first ping" in page
    hint = f"/integrations/heartbeat/&lt;key …{beating.integration.key_hint}&gt;/"
    assert f"curl -fsS -m 10 --retry 3 -o /dev/null http://testserver{hint}" in page
    client.get(PING.format(key))
    page = client.get(f"/oncall/integrations/{beating.integration_id}/").content.decode()
    assert 'id="heartbeat-state">Up<' in page


def test_turning_the_heartbeat_off(client_for, admin_user, beating):
    client = client_for(admin_user)
    response = client.post(f"/oncall/integrations/{beating.integration_id}/heartbeat/remove/")
    assert response.status_code == 302
    assert not Heartbeat.objects.exists()


# Pings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "head"])
def test_a_ping_records_the_time_and_plans_the_next(client, beating, key, method, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=3), tick=False)
    response = getattr(client, method)(PING.format(key))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    beating.refresh_from_db()
    assert beating.state == HeartbeatState.UP
    assert beating.last_ping_at == NOW + timedelta(minutes=3)
    assert beating.next_expected_at == NOW + timedelta(minutes=13)
    assert not Alert.objects.exists()  # an on-time ping stores nothing


def test_a_wrong_key_or_no_heartbeat_is_404(client, integration, key):
    assert client.get(PING.format("0" * 32)).status_code == 404
    # The key is right, but this integration expects no heartbeat.
    assert client.get(PING.format(key)).status_code == 404
    assert client.put(PING.format(key)).status_code == 405


def test_the_key_is_never_logged_nor_stored(client, beating, key, caplog, time_machine):
    caplog.set_level(logging.DEBUG)
    client.get(PING.format(key))
    client.get(PING.format("f" * 32))
    time_machine.move_to(NOW + timedelta(minutes=30), tick=False)
    sweep_and_apply()
    client.post(PING.format(key))
    apply_pending()
    # A valid key whose integration expects no heartbeat: Django warns "Not Found: <path>".
    beating.delete()
    assert client.get(PING.format(key)).status_code == 404
    assert "Not Found: /integrations/heartbeat/" in caplog.text
    assert key not in caplog.text
    assert not [a for a in Alert.objects.all() if key in a.payload or key in str(a.event)]


# Missed pings -------------------------------------------------------------------------------


def test_nothing_is_missed_before_interval_and_grace_pass(beating, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=14, seconds=59), tick=False)
    assert sweep_and_apply() == 0
    time_machine.move_to(NOW + timedelta(minutes=15), tick=False)
    assert sweep_and_apply() == 1


def test_a_missed_ping_opens_a_group_and_an_incident_that_pages(
    beating, key, client, on_call, time_machine
):
    client.get(PING.format(key))
    time_machine.move_to(NOW + timedelta(minutes=16), tick=False)
    assert sweep_and_apply() == 1
    beating.refresh_from_db()
    assert (beating.state, beating.missed_at) == (
        HeartbeatState.MISSED,
        NOW + timedelta(minutes=16),
    )
    group = AlertGroup.objects.get()
    incident = group.incident
    assert (group.state, group.dedup_key, group.maintenance) == (
        GroupState.FIRING,
        "heartbeat",
        None,
    )
    assert incident.summary == "No heartbeat from Prometheus prod since 2026-03-02 10:00 UTC"
    assert (incident.severity, incident.faulty_service) == (2, beating.integration.service)
    assert incident.created_by.username == "alerts"
    assert "pings every 10 minutes" in incident.description
    [page] = incident.pages.all()
    assert (page.user.username, page.reason) == ("pia", PageReason.INCIDENT)
    assert Alert.objects.get().outcome == AlertOutcome.CREATED

    # A second sweep, even much later, changes nothing.
    time_machine.move_to(NOW + timedelta(hours=2), tick=False)
    assert sweep_and_apply() == 0
    assert (Alert.objects.count(), Incident.objects.count(), incident.pages.count()) == (1, 1, 1)


def test_a_ping_after_the_miss_resolves_the_group(beating, key, client, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=20), tick=False)
    sweep_and_apply()
    time_machine.move_to(NOW + timedelta(minutes=25), tick=False)
    assert client.post(PING.format(key)).status_code == 200
    apply_pending()
    group = AlertGroup.objects.get()
    assert (group.state, group.resolved_at) == (GroupState.RESOLVED, NOW + timedelta(minutes=25))
    incident = group.incident
    incident.refresh_from_db()
    # As for any tool's resolve: the impact end is recorded, the IM is asked to resolve.
    assert incident.impact_ended_at == NOW + timedelta(minutes=25)
    assert incident.timeline.filter(kind=EntryKind.NOTE, text__contains="All alerts").exists()
    beating.refresh_from_db()
    assert (beating.state, beating.next_expected_at) == (
        HeartbeatState.UP,
        NOW + timedelta(minutes=35),
    )
    # The next ping is an ordinary one: nothing more is stored.
    client.get(PING.format(key))
    assert Alert.objects.count() == 2


def test_missing_again_after_recovery_opens_a_new_group(beating, key, client, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=20), tick=False)
    sweep_and_apply()
    client.get(PING.format(key))
    apply_pending()
    time_machine.move_to(NOW + timedelta(minutes=40), tick=False)
    assert sweep_and_apply() == 1
    assert AlertGroup.objects.filter(state=GroupState.FIRING).count() == 1
    assert AlertGroup.objects.count() == 2


def test_turning_off_a_missed_heartbeat_resolves_its_group(beating, admin_user, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=20), tick=False)
    sweep_and_apply()
    assert heartbeats.remove_heartbeat(beating.integration, by=admin_user)
    apply_pending()
    assert AlertGroup.objects.get().state == GroupState.RESOLVED
    assert not heartbeats.remove_heartbeat(beating.integration, by=admin_user)


def test_a_paused_integration_records_the_miss_as_ignored(beating, admin_user, time_machine):
    from oncall.integrations import actions

    actions.set_paused(beating.integration, paused=True, by=admin_user)
    time_machine.move_to(NOW + timedelta(minutes=20), tick=False)
    assert sweep_and_apply() == 1
    assert Alert.objects.get().outcome == AlertOutcome.IGNORED
    assert not Incident.objects.exists()


def test_changing_the_interval_plans_from_the_last_ping(beating, admin_user, key, client):
    client.get(PING.format(key))
    heartbeats.set_heartbeat(
        beating.integration, by=admin_user, interval=timedelta(hours=1), grace=timedelta(0)
    )
    beating.refresh_from_db()
    assert beating.next_expected_at == NOW + timedelta(hours=1)


# API -----------------------------------------------------------------------------------------


def test_api_sets_reads_and_turns_off_the_heartbeat(api_for, admin_user, integration):
    api = api_for(admin_user)
    url = f"/api/integrations/{integration.pk}/heartbeat/"
    assert api.get(url).status_code == 404
    response = api.put(url, {"interval_minutes": 30}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["interval_minutes"] == 30
    assert body["grace_minutes"] == 5
    assert body["state"] == "waiting"
    assert body["next_expected_at"] == "2026-03-02T10:30:00Z"
    assert body["url"].startswith("http://testserver/integrations/heartbeat/")
    assert api.get(url).json() == body
    assert api.delete(url).status_code == 204
    assert not Heartbeat.objects.exists()


def test_api_bad_input_names_the_field(api_for, admin_user, integration):
    url = f"/api/integrations/{integration.pk}/heartbeat/"
    response = api_for(admin_user).put(url, {"interval_minutes": 0}, format="json")
    assert response.status_code == 400
    assert "interval_minutes" in response.json()
    assert not Heartbeat.objects.exists()


def test_api_outsider_gets_404(api_for, responder, integration):
    url = f"/api/integrations/{integration.pk}/heartbeat/"
    assert api_for(responder).put(url, {"interval_minutes": 5}, format="json").status_code == 404
    assert not Heartbeat.objects.exists()
