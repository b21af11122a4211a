"""Maintenance windows: planning (portal and API, team and global admins), alerts
during a window (recorded, no incident, nobody paged) and after it (pages again)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from incidents.models import Incident
from oncall.integrations import actions, heartbeats, maintenance, tasks
from oncall.integrations.maintenance_models import MaintenanceWindow, WindowStatus
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome, GroupState
from oncall.models import Escalation, TeamAdmin
from tests.factories import ServiceFactory, UserFactory

from . import examples
from .conftest import apply_pending

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PD = "/v2/enqueue"


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def on_call(make_roster, team):
    return make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))


@pytest.fixture
def window(service, admin_user):
    """The checkout service is in maintenance from now for an hour."""
    return maintenance.plan_maintenance(
        by=admin_user,
        service=service,
        ends_at=NOW + timedelta(hours=1),
        reason="Database upgrade",
    )


@pytest.fixture
def team_admin(team):
    pia = UserFactory(username="tara", group="responder")
    TeamAdmin.objects.create(team=team, user=pia)
    return pia


def at(time_machine, **delta):
    time_machine.move_to(NOW + timedelta(**delta), tick=False)


# Alerts during and after a window ----------------------------------------------------------------


def test_an_alert_during_a_window_is_recorded_and_pages_nobody(
    key, deliver, window, on_call, client_for, admin_user
):
    deliver(PD, examples.pagerduty(key, severity="critical"))
    group = AlertGroup.objects.get()
    assert (group.incident, group.maintenance, group.state) == (None, window, GroupState.FIRING)
    alert = Alert.objects.get()
    assert (alert.outcome, alert.reason) == (AlertOutcome.MAINTENANCE, "Database upgrade")
    assert not Incident.objects.exists()
    assert not Escalation.objects.exists()
    # A repeat joins the group, still without an incident.
    deliver(PD, examples.pagerduty(key, severity="critical"))
    group.refresh_from_db()
    assert group.alert_count == 2
    assert Alert.objects.filter(outcome=AlertOutcome.MAINTENANCE).count() == 2
    assert not Incident.objects.exists()
    page = client_for(admin_user).get(f"/oncall/integrations/{group.integration_id}/")
    assert b"received during maintenance" in page.content
    assert b"Database upgrade" in page.content


def test_after_the_window_the_same_alert_pages_again(key, deliver, window, on_call, time_machine):
    deliver(PD, examples.pagerduty(key, severity="critical"))
    at(time_machine, hours=1)
    deliver(PD, examples.pagerduty(key, severity="critical"))
    held, fresh = AlertGroup.objects.order_by("id")
    assert (held.state, held.resolved_at) == (GroupState.RESOLVED, NOW + timedelta(hours=1))
    assert (fresh.state, fresh.maintenance) == (GroupState.FIRING, None)
    incident = Incident.objects.get()
    assert fresh.incident == incident
    [page] = incident.pages.all()
    assert page.user.username == "pia"
    assert Alert.objects.latest("id").outcome == AlertOutcome.CREATED


def test_an_alert_received_in_the_window_stays_held_when_applied_after_it(
    key, post, window, time_machine
):
    # Received at 10:59, applied by a late worker at 11:05: the arrival time decides.
    at(time_machine, minutes=59)
    post(PD, examples.pagerduty(key, severity="critical"))
    at(time_machine, minutes=65)
    apply_pending()
    assert Alert.objects.get().outcome == AlertOutcome.MAINTENANCE
    assert not Incident.objects.exists()


def test_ending_a_window_early_pages_again_at_once(
    key, deliver, window, admin_user, on_call, time_machine
):
    deliver(PD, examples.pagerduty(key, dedup_key="a", severity="critical"))
    at(time_machine, minutes=10)
    maintenance.end_maintenance(window, by=admin_user)
    window.refresh_from_db()
    assert (window.status, window.ends_at) == (
        WindowStatus.ENDED_EARLY,
        NOW + timedelta(minutes=10),
    )
    deliver(PD, examples.pagerduty(key, dedup_key="b", severity="critical"))
    assert Incident.objects.get().pages.count() == 1


def test_a_planned_window_covers_nothing_before_it_starts_and_can_be_cancelled(
    key, deliver, service, admin_user, time_machine
):
    planned = maintenance.plan_maintenance(
        by=admin_user,
        service=service,
        starts_at=NOW + timedelta(hours=2),
        ends_at=NOW + timedelta(hours=3),
        reason="Failover test",
    )
    assert planned.status == WindowStatus.PLANNED
    deliver(PD, examples.pagerduty(key, dedup_key="before"))
    assert Incident.objects.count() == 1
    maintenance.end_maintenance(planned, by=admin_user)
    planned.refresh_from_db()
    assert (planned.cancelled, planned.ended_by, planned.status) == (
        True,
        admin_user,
        WindowStatus.CANCELLED,
    )
    at(time_machine, hours=2, minutes=30)
    deliver(PD, examples.pagerduty(key, dedup_key="during"))
    assert Incident.objects.count() == 2
    # Ending it again changes nothing.
    maintenance.end_maintenance(planned, by=admin_user)
    assert MaintenanceWindow.objects.get().ended_at == NOW


def test_an_integration_window_holds_only_that_integration(
    integration, key, deliver, admin_user, service
):
    other, other_key = actions.create_integration(by=admin_user, name="Grafana", service=service)
    maintenance.plan_maintenance(
        by=admin_user, integration=other, ends_at=NOW + timedelta(hours=1), reason="Grafana move"
    )
    deliver(PD, examples.pagerduty(other_key))
    deliver(PD, examples.pagerduty(key))
    assert Incident.objects.get().alert_groups.get().integration == integration
    assert AlertGroup.objects.get(integration=other).maintenance is not None


def test_an_incident_open_before_the_window_is_not_escalated_during_it(
    key, deliver, service, admin_user
):
    deliver(PD, examples.pagerduty(key, severity="warning"))
    maintenance.plan_maintenance(
        by=admin_user, service=service, ends_at=NOW + timedelta(hours=1), reason="Upgrade"
    )
    deliver(PD, examples.pagerduty(key, severity="critical"))
    incident = Incident.objects.get()
    assert incident.severity == 3  # not raised to 1: that would page
    assert AlertGroup.objects.get().alert_count == 2
    assert not Escalation.objects.exists()


def test_a_missed_heartbeat_during_maintenance_opens_no_incident(
    integration, key, admin_user, window, time_machine
):
    heartbeats.set_heartbeat(
        integration, by=admin_user, interval=timedelta(minutes=5), grace=timedelta(0)
    )
    at(time_machine, minutes=10)
    assert tasks.check_heartbeats.apply().get() == 1
    apply_pending()
    assert AlertGroup.objects.get().maintenance == window
    assert not Incident.objects.exists()


# Planning in the portal ---------------------------------------------------------------------


def test_team_admin_plans_and_ends_a_window_in_the_portal(
    client_for, team_admin, service, time_machine
):
    client = client_for(team_admin)
    page = client.get(f"/oncall/integrations/maintenance/?service={service.slug}")
    assert page.status_code == 200
    assert b"Plan maintenance" in page.content
    response = client.post(
        "/oncall/integrations/maintenance/new/",
        {
            "target": f"service:{service.pk}",
            "starts_at": "",
            "ends_at": "2026-03-02T12:00",
            "reason": "Kernel patches",
        },
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert (window.service, window.starts_at, window.ends_at, window.created_by) == (
        service,
        NOW,
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        team_admin,
    )
    listing = client.get("/oncall/integrations/maintenance/").content.decode()
    assert "Kernel patches" in listing
    assert "In progress" in listing
    at(time_machine, minutes=30)
    response = client.post(
        f"/oncall/integrations/maintenance/{window.pk}/end/", {"next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/oncall/integrations/maintenance/"
    window.refresh_from_db()
    assert (window.ends_at, window.ended_by) == (NOW + timedelta(minutes=30), team_admin)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ends_at": "2026-03-02T09:00", "reason": "x"}, "ends_at"),
        ({"ends_at": "2026-04-20T09:00", "reason": "x"}, "ends_at"),
        (
            {"starts_at": "2026-03-01T09:00", "ends_at": "2026-03-02T12:00", "reason": "x"},
            "starts_at",
        ),
        ({"ends_at": "not a time", "reason": "x"}, "ends_at"),
        ({"ends_at": "2026-03-02T12:00", "reason": "   "}, "reason"),
        ({"ends_at": "2026-03-02T12:00", "reason": "x", "with": "neither"}, "target"),
        ({"ends_at": "2026-03-02T12:00", "reason": "x", "with": "unknown"}, "target"),
    ],
)
def test_bad_window_input_names_the_field(client_for, admin_user, integration, data, field):
    data = dict(data)
    target = data.pop("with", "service")
    if target == "service":
        data["target"] = f"service:{integration.service_id}"
    if target == "unknown":
        data["target"] = f"integration:{integration.pk + 1000}"
    response = client_for(admin_user).post("/oncall/integrations/maintenance/new/", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not MaintenanceWindow.objects.exists()


def test_outsiders_cannot_plan_or_end_windows(client_for, responder, team, window, service):
    client = client_for(responder)
    page = client.get("/oncall/integrations/maintenance/")
    assert b"Database upgrade" not in page.content
    assert b"Ask an admin of your team" in page.content
    data = {"target": f"service:{service.pk}", "ends_at": "2026-03-02T12:00", "reason": "x"}
    assert client.post("/oncall/integrations/maintenance/new/", data).status_code == 403
    assert client.post(f"/oncall/integrations/maintenance/{window.pk}/end/").status_code == 404
    # An admin of another team may not pick this service.
    olga = UserFactory(username="olga", group="responder")
    TeamAdmin.objects.create(team=ServiceFactory(slug="search").team, user=olga)
    assert client_for(olga).post("/oncall/integrations/maintenance/new/", data).status_code == 400
    assert (
        client_for(olga).post(f"/oncall/integrations/maintenance/{window.pk}/end/").status_code
        == 404
    )
    assert MaintenanceWindow.objects.get().ended_at is None


def test_the_integration_page_shows_the_windows_covering_it(
    client_for, admin_user, integration, window
):
    page = client_for(admin_user).get(f"/oncall/integrations/{integration.pk}/").content.decode()
    assert "Maintenance windows" in page
    assert "Database upgrade" in page
    assert f"/oncall/integrations/maintenance/{window.pk}/end/" in page


# API -------------------------------------------------------------------------------------


def test_api_plans_lists_and_ends_windows(api_for, team_admin, integration, service, time_machine):
    api = api_for(team_admin)
    response = api.post(
        "/api/integrations/maintenance/",
        {"integration": integration.pk, "ends_at": "2026-03-02T11:00:00Z", "reason": "Move"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["integration"], body["service"], body["status"], body["created_by"]) == (
        integration.pk,
        None,
        "in_progress",
        "tara",
    )
    assert body["starts_at"] == "2026-03-02T10:00:00Z"
    assert api.get("/api/integrations/maintenance/").json() == [body]
    assert api.get(f"/api/integrations/maintenance/{body['id']}/").json() == body
    at(time_machine, minutes=5)
    ended = api.post(f"/api/integrations/maintenance/{body['id']}/end/").json()
    assert (ended["status"], ended["ended_by"], ended["ends_at"]) == (
        "ended_early",
        "tara",
        "2026-03-02T10:05:00Z",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"service": "checkout", "reason": "x"}, "ends_at"),
        ({"service": "checkout", "ends_at": "2026-03-02T09:00:00Z", "reason": "x"}, "ends_at"),
        ({"service": "nope", "ends_at": "2026-03-02T11:00:00Z", "reason": "x"}, "service"),
        ({"ends_at": "2026-03-02T11:00:00Z", "reason": "x"}, "service"),
        ({"service": "checkout", "ends_at": "2026-03-02T11:00:00Z", "reason": ""}, "reason"),
    ],
)
def test_api_bad_input_names_the_field(api_for, admin_user, service, data, field):
    response = api_for(admin_user).post("/api/integrations/maintenance/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not MaintenanceWindow.objects.exists()


def test_api_outsiders_are_refused(api_for, responder, service, window):
    api = api_for(responder)
    data = {"service": "checkout", "ends_at": "2026-03-02T11:00:00Z", "reason": "x"}
    assert api.post("/api/integrations/maintenance/", data, format="json").status_code == 403
    assert api.get("/api/integrations/maintenance/").json() == []
    assert api.get(f"/api/integrations/maintenance/{window.pk}/").status_code == 404
    assert api.post(f"/api/integrations/maintenance/{window.pk}/end/").status_code == 404
    assert MaintenanceWindow.objects.count() == 1


def test_window_lists_cost_the_same_queries_whatever_their_length(
    api_for, client_for, admin_user, service, integration, django_assert_max_num_queries
):
    for number in range(12):
        window = maintenance.plan_maintenance(
            by=admin_user,
            service=service if number % 2 else None,
            integration=None if number % 2 else integration,
            ends_at=NOW + timedelta(hours=1 + number),
            reason=f"Work {number}",
        )
        if number % 3 == 0:
            maintenance.end_maintenance(window, by=admin_user)
    api, client = api_for(admin_user), client_for(admin_user)
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/integrations/maintenance/").json()) == 12
    with django_assert_max_num_queries(12):
        assert client.get("/oncall/integrations/maintenance/").status_code == 200


def test_the_integrations_list_marks_those_in_maintenance(
    client_for, admin_user, integration, window, time_machine
):
    client = client_for(admin_user)
    assert b"In maintenance" in client.get("/oncall/integrations/").content
    at(time_machine, hours=1)
    assert b"In maintenance" not in client.get("/oncall/integrations/").content
