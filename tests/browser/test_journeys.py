"""Each role's day in the portal, at laptop and phone size: the work itself, one bad
input answered in place and one refusal answered with its reason. Any console error or
a page wider than the screen fails the journey."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from incidents import actions
from tests.factories import ServiceFactory, make_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def signed_in(request, browser, live_server) -> Iterator:
    """Sign someone in on a fresh tab of the chosen size; yields (sign_in, problems)."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[request.param])
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "status of 40" not in message.text
            else None
        ),
    )

    def sign_in(username: str) -> Page:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("pw")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_label("Username")).to_have_count(0)
        return page

    yield sign_in, problems
    context.close()


def fits_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the screen"


def refused_with_reason(page: Page, url: str, code: int, reason: str) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == code
    expect(page.locator(".error-reason")).to_contain_text(reason)
    expect(page.get_by_role("link", name="Back to Hotline")).to_be_visible()
    fits_the_screen(page)


def test_support_labels_a_case_and_is_refused_the_edit_page(signed_in, manager, support):
    sign_in, problems = signed_in
    incident = make_incident(by=manager, severity=1, summary="Checkout is down")
    page = sign_in("sam")

    page.goto("/")
    row = page.locator(f"#board-{incident.key}")
    expect(row).to_be_visible()
    fits_the_screen(page)
    row.get_by_label(f"Label a case with {incident.key}").fill("NO-SUCH-CASE")
    row.get_by_role("button", name="Label").click()
    expect(page.locator("#label-result")).to_contain_text("NO-SUCH-CASE")
    expect(page.get_by_role("heading", name="Support dashboard")).to_be_visible()

    refused_with_reason(page, f"/incidents/{incident.key}/edit/", 403, "may not")
    assert problems == []


def test_an_incident_manager_claims_logs_and_meets_a_bad_time(signed_in, manager, support):
    sign_in, problems = signed_in
    incident = make_incident(by=support, severity=2, summary="Login fails")
    page = sign_in("maya")

    page.goto(f"/incidents/{incident.key}/")
    page.get_by_role("button", name="Claim: I am the IM").click()
    expect(page.locator(".facts")).to_contain_text(manager.get_full_name())
    form = page.locator("#entry-form")
    form.get_by_label("What happened?").fill("Error rate at 40%")
    form.get_by_label("When").fill("2999-01-01T00:00")
    form.get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#entry-form")).to_contain_text("This time is in the future.")
    page.locator("#entry-form").get_by_label("When").fill("")
    page.locator("#entry-form").get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#timeline")).to_contain_text("Error rate at 40%")
    fits_the_screen(page)

    secret = make_incident(by=support, restricted=True, summary="Leaked keys")
    refused_with_reason(page, f"/incidents/{secret.key}/", 404, f"No incident {secret.key}")
    assert problems == []


def test_a_responder_logs_and_is_refused_the_edit_page(signed_in, manager, responder):
    sign_in, problems = signed_in
    incident = actions.claim_incident(make_incident(by=manager), by=manager)
    page = sign_in("rui")

    page.goto(f"/incidents/{incident.key}/")
    form = page.locator("#entry-form")
    form.get_by_label("What happened?").fill("   ")
    form.get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#entry-form")).to_contain_text("This field is required.")
    page.locator("#entry-form").get_by_label("What happened?").fill("Rolled back auth")
    page.locator("#entry-form").get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#timeline")).to_contain_text("Rolled back auth")
    fits_the_screen(page)

    refused_with_reason(page, f"/incidents/{incident.key}/edit/", 403, "may not")
    assert problems == []


def test_an_admin_logs_an_incident_after_a_refused_time_and_meets_a_missing_key(
    signed_in, admin_user
):
    sign_in, problems = signed_in
    service = ServiceFactory(name="Search")
    page = sign_in("ada")

    page.goto("/incidents/new/")
    page.get_by_label("Summary").fill("Search is down")
    page.get_by_label("Description").fill("Every search answers 500.")
    page.get_by_label("Faulty service").select_option(str(service.pk))
    page.locator("input[name=severity][value='2']").check()
    page.get_by_label("Impact started").fill("1999-12-31T23:00")
    page.get_by_role("button", name="Log incident").click()
    expect(page.locator("#field-impact_started_at")).to_contain_text("before 2000")
    page.get_by_label("Impact started").fill("")
    page.get_by_role("button", name="Log incident").click()
    expect(page.get_by_role("heading", name="Search is down")).to_be_visible()
    fits_the_screen(page)

    refused_with_reason(page, "/incidents/HOT-999999/", 404, "No incident HOT-999999")
    assert problems == []
