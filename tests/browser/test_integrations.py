"""An admin connects a monitoring tool: creates an integration, copies its URL, the tool
sends alerts, and the page shows what arrived and the incident it opened."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from oncall.integrations import actions
from oncall.integrations.models import AlertGroup
from tests.factories import ServiceFactory

pytestmark = [
    pytest.mark.browser,
    # See test_incident_flow.py: committed rows for the live server, groups restored.
    pytest.mark.django_db(transaction=True),
]


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_admin_connects_a_tool_and_sees_its_alerts_and_incident(
    page, live_server, admin_user, tmp_path
):
    ServiceFactory(name="Payments API", slug="payments-api")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()

    page.goto("/oncall/integrations/")
    expect(page.locator(".empty")).to_contain_text("No integrations yet")
    page.get_by_label("Name").fill("Prometheus prod")
    page.get_by_label("Service").select_option(label="Payments API")
    page.get_by_label("Default severity").select_option("2")
    page.get_by_role("button", name="Create and show the key").click()
    key = page.locator("#new-key code.key").inner_text().strip()
    assert len(key) == 32

    # Copy the Alertmanager URL as an admin would, to paste into alertmanager.yml.
    page.get_by_role("button", name="Copy the Alertmanager URL").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{live_server.url}/integrations/alertmanager/{key}/"
    expect(page.get_by_role("button", name="Copy the Alertmanager URL")).to_have_text("Copied")
    page.screenshot(path=str(tmp_path / "integration-created.png"), full_page=True)

    # The tool sends: two alerts with one dedup key and a malformed one.
    alert = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "db-disk-full",
        "payload": {"summary": "Disk 95% full on db-1", "source": "db-1", "severity": "error"},
    }
    assert _post(f"{live_server.url}/v2/enqueue", alert)[0] == 202
    assert _post(f"{live_server.url}/v2/enqueue", alert)[0] == 202
    status, answer = _post(f"{live_server.url}/v2/enqueue", {"routing_key": key})
    assert status == 400
    assert answer["status"] == "invalid event"
    # What the worker does moments later (the real worker is tested in tests/oncall).
    actions.process_pending()

    group = AlertGroup.objects.get(dedup_key="db-disk-full")
    assert group.alert_count == 2
    incident = Incident.objects.get(alert_groups=group)
    # The key was shown once: a reload shows the integration without it.
    page.reload()
    expect(page.locator("#new-key")).to_have_count(0)
    groups = page.locator("section", has=page.get_by_role("heading", name="Alert groups"))
    expect(groups).to_contain_text("db-disk-full")
    expect(groups.get_by_role("link", name=incident.key)).to_be_visible()
    expect(page.locator("#rejected")).to_contain_text("event_action")
    page.screenshot(path=str(tmp_path / "integration-alerts.png"), full_page=True)

    # A test alert from the page opens an incident and says which.
    page.get_by_role("button", name="Send a test alert").click()
    expect(page.locator(".messages")).to_contain_text("The test alert opened")

    # The incident page shows the alert behind it, with its raw payload.
    groups.get_by_role("link", name=incident.key).click()
    expect(page.locator("body")).to_contain_text("Disk 95% full on db-1")
    assert js_errors == []
