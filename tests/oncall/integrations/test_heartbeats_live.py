"""Heartbeats as they run: a real HTTP client pings the live server, a real worker runs
the sweep and applies the alerts, no test transaction around any of it (PostgreSQL)."""

import json
import threading
import urllib.error
import urllib.request
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from incidents.models import Incident
from oncall.integrations import actions, heartbeats, tasks
from oncall.integrations.heartbeat_models import Heartbeat, HeartbeatState
from oncall.integrations.maintenance_models import MaintenanceWindow
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome, GroupState
from oncall.models import Escalation
from tests.conftest import requires_postgres, wait_for

from . import examples

pytestmark = [
    requires_postgres,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def ping(url, method="GET"):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_missed_and_resumed_pings_over_http_with_a_real_worker(
    live_server, integration, key, admin_user, make_roster, team, worker
):
    make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    integration.default_severity = 1
    integration.save(update_fields=["default_severity"])
    heartbeats.set_heartbeat(
        integration, by=admin_user, interval=timedelta(minutes=1), grace=timedelta(0)
    )
    url = f"{live_server.url}/integrations/heartbeat/{key}/"

    status, body = ping(url)
    assert (status, body["status"]) == (200, "ok")
    heartbeat = Heartbeat.objects.get()
    assert heartbeat.state == HeartbeatState.UP
    with pytest.raises(urllib.error.HTTPError) as wrong:
        ping(f"{live_server.url}/integrations/heartbeat/{'0' * 32}/")
    assert wrong.value.code == 404

    # The job stops: its minute (and the grace) passes without a ping.
    Heartbeat.objects.update(next_expected_at=timezone.now() - timedelta(seconds=1))
    tasks.check_heartbeats.delay()
    assert wait_for(lambda: Incident.objects.filter(alert_groups__isnull=False).exists())
    incident = Incident.objects.get()
    assert incident.severity == 1
    assert wait_for(lambda: incident.pages.filter(user__username="pia").exists())
    assert Heartbeat.objects.get().state == HeartbeatState.MISSED
    # The sweep again: nothing more.
    assert tasks.check_heartbeats.apply().get() == 0

    # The job runs again: its ping resolves the group through the worker.
    status, body = ping(url, "POST")
    assert status == 200
    assert wait_for(lambda: AlertGroup.objects.get().state == GroupState.RESOLVED)
    incident.refresh_from_db()
    assert incident.impact_ended_at is not None
    assert Incident.objects.count() == 1
    assert incident.pages.count() == 1


def test_two_sweeps_at_once_record_one_miss(integration, admin_user):
    heartbeats.set_heartbeat(
        integration, by=admin_user, interval=timedelta(minutes=1), grace=timedelta(0)
    )
    Heartbeat.objects.update(next_expected_at=timezone.now() - timedelta(seconds=1))
    barrier, results, errors = threading.Barrier(2), [], []

    def sweep():
        try:
            barrier.wait()
            results.append(heartbeats.sweep())
        except Exception as error:  # collected: an exception in a thread would vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [0, 1]
    assert Alert.objects.filter(action="trigger").count() == 1


def test_maintenance_planned_and_ended_over_http_holds_then_pages(
    admin_user, integration, key, make_roster, team
):
    make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    api = Client()
    api.force_login(admin_user)
    ends = (timezone.now() + timedelta(hours=1)).isoformat()
    response = api.post(
        "/api/integrations/maintenance/",
        {"service": "checkout", "ends_at": ends, "reason": "Upgrade"},
        content_type="application/json",
    )
    assert response.status_code == 201
    window = MaintenanceWindow.objects.get()

    tool = Client()
    body = json.dumps(examples.pagerduty(key, dedup_key="disk", severity="critical"))
    assert tool.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    actions.process_pending()
    assert AlertGroup.objects.get().maintenance == window
    assert not Incident.objects.exists()
    assert not Escalation.objects.exists()

    assert api.post(f"/api/integrations/maintenance/{window.pk}/end/").status_code == 200
    assert tool.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    actions.process_pending()
    incident = Incident.objects.get()
    assert incident.pages.filter(user__username="pia").exists()
    assert list(Alert.objects.order_by("id").values_list("outcome", flat=True)) == [
        AlertOutcome.MAINTENANCE,
        AlertOutcome.CREATED,
    ]
