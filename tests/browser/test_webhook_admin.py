"""An admin sets up an outgoing webhook by ticking the events Hotline sends."""

import re

import pytest
from playwright.sync_api import expect

from comms.models import Webhook, WebhookEvent
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_ticks_events_from_the_list_and_sees_the_standard_secret(page, tmp_path):
    UserFactory(username="ada", group="admin", is_staff=True)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/incidents/$"))

    page.goto("/admin/comms/webhook/add/")
    boxes = page.locator("input[name=events]")
    expect(boxes).to_have_count(len(WebhookEvent.values))
    page.get_by_label("Name").fill("Warehouse")
    page.get_by_label("Url").fill("https://warehouse.example/hotline")
    page.get_by_label(str(WebhookEvent.CREATED.label)).check()
    page.get_by_label(str(WebhookEvent.ROLE_CHANGED.label)).check()
    page.screenshot(path=str(tmp_path / "webhook-admin-add.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()

    hook = Webhook.objects.get()
    assert hook.events == [WebhookEvent.CREATED.value, WebhookEvent.ROLE_CHANGED.value]
    page.goto(f"/admin/comms/webhook/{hook.pk}/change/")
    expect(page.get_by_text("whsec_")).to_be_visible()
    page.screenshot(path=str(tmp_path / "webhook-admin-change.png"), full_page=True)
