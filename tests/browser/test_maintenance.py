"""An incident manager plans a maintenance in the portal; when its window opens the
customers' page shows it running and its product under maintenance."""

import os
import re
import shutil
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from comms.maintenance import actions
from comms.models import Maintenance, MaintenanceStatus
from tests.factories import ProductFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def login(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/incidents/$"))


def keep(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        shutil.copy(path, folder)


def test_a_planned_maintenance_runs_and_customers_see_it(page, live_server, tmp_path):
    UserFactory(username="maya", group="incident manager")
    ProductFactory(name="Jira", slug="jira")
    ProductFactory(name="Confluence", slug="confluence")
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    login(page, "maya")

    page.goto("/comms/status/")
    page.get_by_role("link", name="Scheduled maintenances").click()
    page.get_by_role("link", name="Plan a maintenance").click()
    start = timezone.localtime() + timedelta(minutes=30)
    page.get_by_label("Title").fill("Jira database upgrade")
    page.get_by_label("Message").fill("Jira is read-only for up to two hours.")
    page.get_by_label("Jira").check()
    page.get_by_label("Starts at").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends at").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    keep(page, tmp_path, "maintenance-form.png")
    page.get_by_role("button", name="Plan it").click()

    expect(page.get_by_text("Maintenance planned.")).to_be_visible()
    expect(page.locator(".badge.maintenance-scheduled").first).to_have_text("Scheduled")
    keep(page, tmp_path, "maintenance-detail.png")
    maintenance = Maintenance.objects.get()

    customer = page.context.browser.new_page(base_url=live_server.url)
    customer.goto("/status/")
    expect(customer.locator("#maintenances")).to_contain_text("Jira database upgrade")

    Maintenance.objects.filter(pk=maintenance.pk).update(
        starts_at=timezone.now() - timedelta(minutes=1)
    )
    actions.advance_maintenances()
    assert Maintenance.objects.get().status == MaintenanceStatus.IN_PROGRESS

    customer.reload()
    expect(customer.locator("#maintenances .badge")).to_have_text("In progress")
    jira = customer.locator("li.component", has_text="Jira")
    expect(jira.locator(".badge").first).to_have_text("Under maintenance")
    expect(customer.locator(".status-banner")).to_contain_text("Service under maintenance")
    keep(customer, tmp_path, "maintenance-public.png")

    page.goto("/comms/maintenances/")
    expect(page.locator("section", has_text="In progress").first).to_contain_text(
        "Jira database upgrade"
    )
    keep(page, tmp_path, "maintenance-list.png")
    assert js_errors == []
