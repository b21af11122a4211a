"""An admin sets up a heartbeat for a cron job and plans a maintenance window for its
service; the integration page shows both, and alerts held during the window."""

import json
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from oncall.integrations import actions
from oncall.integrations.models import AlertGroup
from tests.factories import ServiceFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_admin_sets_up_a_heartbeat_and_plans_maintenance(page, live_server, admin_user, tmp_path):
    service = ServiceFactory(name="Nightly export", slug="nightly-export")
    integration, key = actions.create_integration(
        by=admin_user, name="Export cron", service=service, default_severity=2
    )
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"/oncall/integrations/{integration.pk}/")
    heartbeat = page.locator("#heartbeat")
    expect(heartbeat).to_contain_text("No heartbeat")
    heartbeat.get_by_role("link", name="Set up a heartbeat").click()
    page.get_by_label("Ping expected every (minutes)").fill("1440")
    page.get_by_label("Grace (minutes)").fill("60")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#heartbeat-state")).to_have_text("Waiting for the first ping")

    # The job pings, as the curl line shown on the page does.
    with urllib.request.urlopen(f"{live_server.url}/integrations/heartbeat/{key}/") as answer:
        assert json.load(answer)["status"] == "ok"
    page.reload()
    expect(page.locator("#heartbeat-state")).to_have_text("Up")
    expect(page.locator("#heartbeat-curl")).to_contain_text("curl -fsS -m 10 --retry 3")

    # A maintenance window for the whole service, from the integration's page.
    page.locator("#maintenance").get_by_role("link", name="Plan maintenance").click()
    maintenance_form = page.locator("#plan")
    expect(maintenance_form.get_by_label("For")).to_have_value(f"integration:{integration.pk}")
    page.get_by_label("For").select_option(label="Nightly export: all integrations")
    until = timezone.localtime(timezone.now() + timedelta(hours=3))
    page.get_by_label("Until").fill(until.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Reason").fill("Storage migration")
    page.get_by_role("button", name="Plan the window").click()
    expect(page.locator(".maintenance-windows")).to_contain_text("Storage migration")
    expect(page.locator(".maintenance-windows")).to_contain_text("In progress")
    page.screenshot(path=str(tmp_path / "maintenance-list.png"), full_page=True)

    # An alert during the window is held: recorded, no incident.
    body = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "disk",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    }
    request = urllib.request.Request(
        f"{live_server.url}/v2/enqueue",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
        method="POST",
    )
    assert urllib.request.urlopen(request).status == 202
    actions.process_pending()
    assert AlertGroup.objects.get().incident is None

    page.goto(f"/oncall/integrations/{integration.pk}/")
    expect(page.get_by_text("received during maintenance", exact=True)).to_be_visible()
    expect(page.locator("#maintenance")).to_contain_text("Storage migration")
    page.screenshot(path=str(tmp_path / "integration-heartbeat-maintenance.png"), full_page=True)

    page.locator("#maintenance").get_by_role("button", name="End now").click()
    expect(page.locator(".messages, .message").first).to_contain_text("Maintenance ended")
    expect(page.locator("#maintenance")).to_contain_text("Ended early")
