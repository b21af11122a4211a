"""An incident manager drafts a follow-up, watches the checklist fill in, publishes, and
the customers' page shows the external update."""

import re

import pytest
from playwright.sync_api import expect

from comms.models import Communication, State
from tests.factories import ProductFactory, UserFactory, make_incident

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def im(db):
    return UserFactory(username="maya", group="incident manager")


def login(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/incidents/$"))


def test_manager_drafts_checks_and_publishes_and_the_public_page_shows_it(
    page, browser, live_server, im, tmp_path
):
    jira = ProductFactory(name="Jira", slug="jira")
    incident = make_incident(summary="Checkout is failing", severity=2, products=[jira])
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    login(page, "maya")

    page.goto(incident.get_absolute_url())
    panel = page.locator("#communications")
    expect(panel).to_contain_text("Checkout is failing | SEV 2")
    panel.get_by_label("Audience").select_option("internal")
    panel.get_by_label("Kind").select_option("follow_up")
    panel.get_by_role("button", name="Draft").click()
    expect(page).to_have_url(re.compile(r"/comms/communications/\d+/$"))

    checklist = page.locator("#checklist")
    expect(checklist.locator("li.missing")).to_have_count(8)
    page.get_by_label("Summary").fill("Checkout fails for EU tenants since 10:05.")
    page.get_by_label("Current status").fill("- Errors at 30%\n- Rollback started")
    page.get_by_label("Next steps").fill("- Finish rollback\n- Watch errors")
    page.get_by_label("Customer impact").fill("EU customers cannot pay.")
    page.get_by_label("Internal customers affected").fill("unknown")
    page.get_by_label("External customers affected").fill("about 1,200")
    page.get_by_label("Root cause").fill("unknown")
    expect(checklist.locator("li.missing")).to_have_count(1)
    expect(checklist.locator('li.missing[data-field="eta"]')).to_be_visible()
    page.get_by_label("ETA").fill("unknown")
    expect(checklist.locator("li.missing")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "comms-draft.png"), full_page=True)
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident.key}/$"))
    expect(page.locator("#communications")).to_contain_text("Published")
    expect(page.locator("#communications")).to_contain_text("Next update")
    page.screenshot(path=str(tmp_path / "comms-panel.png"), full_page=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Status").click()
    expect(page.locator(f"#incident-{incident.key}")).to_contain_text("Next update")
    page.screenshot(path=str(tmp_path / "status-internal.png"), full_page=True)
    page.goto(incident.get_absolute_url())

    page.locator("#communications").get_by_label("Audience").select_option("external")
    page.locator("#communications").get_by_label("Kind").select_option("initial")
    page.locator("#communications").get_by_role("button", name="Draft").click()
    expect(page.get_by_label("Summary")).to_have_value(
        "We are investigating an issue with Jira and will provide an update here shortly."
    )
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident.key}/$"))
    assert Communication.objects.filter(state=State.PUBLISHED).count() == 2

    public = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    customer = public.new_page()
    customer.goto("/status/")
    expect(customer.get_by_role("heading", name="Issue with Jira")).to_be_visible()
    expect(customer.locator("body")).to_contain_text("We are investigating an issue with Jira")
    expect(customer.locator("body")).not_to_contain_text(incident.key)
    customer.screenshot(path=str(tmp_path / "status-public-phone.png"), full_page=True)
    public.close()
    assert js_errors == []
