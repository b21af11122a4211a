"""In-page (htmx) forms show refusals in place, with debug on as with it off."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from incidents import actions
from tests.factories import make_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_a_refused_timeline_entry_shows_its_reason_in_the_form(
    page, settings, manager, debug, tmp_path
):
    settings.DEBUG = debug
    incident = actions.claim_incident(make_incident(), by=manager)
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    sign_in(page, manager.username)
    page.goto(f"/incidents/{incident.key}/")

    form = page.locator("#entry-form")
    form.get_by_label("What happened?").fill("Error rate doubled")
    form.get_by_label("When").fill("2999-01-01T00:00")
    form.get_by_role("button", name="Add to timeline").click()

    expect(page.locator("#entry-form")).to_contain_text("This time is in the future.")
    # The page around the form is still there: navigation, styles, the timeline.
    expect(page.locator("#timeline-card h2")).to_have_text("Timeline")
    expect(page.get_by_role("link", name="Incidents").first).to_be_visible()
    page.screenshot(path=str(tmp_path / f"entry-refused-{'debug' if debug else 'prod'}.png"))
    assert js_errors == []


def test_a_request_refused_without_a_form_says_why_above_the_page(page, manager):
    incident = actions.claim_incident(make_incident(), by=manager)
    sign_in(page, manager.username)
    page.goto(f"/incidents/{incident.key}/")
    # Taken out of the incident managers while the page is open: the next entry is a 403.
    manager.groups.remove(Group.objects.get(name="incident manager"))

    form = page.locator("#entry-form")
    form.get_by_label("What happened?").fill("Rolled back")
    form.get_by_role("button", name="Add to timeline").click()

    notice = page.locator("#request-error")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Not done (403): You may not view incidents.")
    expect(page.locator("#timeline")).not_to_contain_text("Rolled back")
