"""What the tools said, as responders read it: an Alertmanager group's labels,
annotations and generator links, and a PagerDuty event's details, on the integration
page and the incident's Alerts panel; the stored payload without the key."""

import json
import os
import shutil
import urllib.request

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from oncall.integrations import actions
from tests.factories import ProductFactory, ServiceFactory
from tests.oncall.integrations import examples

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _post(url, body):
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def _keep(screenshot, tmp_path):
    # SCREENSHOT_DIR keeps the pictures for people to look at; tmp_path otherwise.
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        shutil.copy(tmp_path / screenshot, os.path.join(folder, screenshot))


def test_responders_read_the_labels_annotations_and_details(
    page, live_server, admin_user, tmp_path
):
    service = ServiceFactory(name="Checkout", slug="checkout")
    integration, key = actions.create_integration(
        by=admin_user,
        name="Prometheus prod",
        service=service,
        affected_products=[ProductFactory(slug="shop", name="Shop")],
    )
    group = examples.alertmanager()
    group["alerts"][0]["annotations"]["runbook_url"] = "https://runbooks.example.com/5xx"
    assert _post(f"{live_server.url}/integrations/alertmanager/{key}/", group) == 202
    event = examples.pagerduty(key, dedup_key="disk-db1")
    event["links"] = [{"href": "https://grafana.example.com/d/disk", "text": "Disk dashboard"}]
    assert _post(f"{live_server.url}/v2/enqueue", event) == 202
    actions.process_pending()

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"/oncall/integrations/{integration.pk}/")
    summaries = page.get_by_text("Labels, annotations and details")
    expect(summaries).to_have_count(2)
    for index in range(2):
        summaries.nth(index).click()
    expect(page.get_by_text("instance=checkout-1:9100")).to_be_visible()
    expect(page.get_by_role("link", name="generator")).to_have_attribute(
        "href", "http://prometheus.example.com:9090/graph?g0.expr=up"
    )
    expect(page.get_by_role("link", name="Disk dashboard")).to_be_visible()
    expect(page.locator(".group-details").get_by_text("prod-datapipe", exact=True)).to_be_visible()
    assert key not in page.content()
    page.screenshot(path=str(tmp_path / "alert-groups.png"), full_page=True)
    _keep("alert-groups.png", tmp_path)

    incident = Incident.objects.get(summary="High request error rate on checkout")
    page.goto(f"/incidents/{incident.key}/")
    panel = page.locator("#alerts-panel")
    panel.get_by_text("Labels, annotations and details").click()
    expect(panel.locator(".group-details").get_by_text("severity=critical")).to_be_visible()
    expect(
        panel.locator(".group-details").get_by_text("https://runbooks.example.com/5xx")
    ).to_be_visible()
    panel.screenshot(path=str(tmp_path / "incident-alerts.png"))
    _keep("incident-alerts.png", tmp_path)
