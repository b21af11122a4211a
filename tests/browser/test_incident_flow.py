"""An incident manager logs, claims and works an incident in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from incidents.models import EntryKind, Incident
from tests.factories import ProductFactory, ServiceFactory, make_incident

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed rows (tests/conftest.py restores the migrations'
    # rows that the flush after a transactional test removes).
    pytest.mark.django_db(transaction=True),
]


def test_manager_logs_an_incident_claims_it_and_adds_to_the_timeline(
    page, live_server, manager, tmp_path
):
    payments = ServiceFactory(name="Payments API", slug="payments-api")
    ServiceFactory(name="Web frontend", slug="web-frontend")
    ProductFactory(name="Web app", slug="web-app")
    ProductFactory(name="Mobile app", slug="mobile-app")
    twin = make_incident(summary="Card payments time out", faulty_service=payments)
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("maya")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/incidents/$"))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="New incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/new/$"))
    similar = page.locator("#similar")
    expect(similar).not_to_contain_text("Is it one of these?")
    # The service first, before the required fields: the look-up must not wait for them.
    page.get_by_label("Faulty service").select_option(label="Payments API")
    expect(similar).to_contain_text("Is it one of these?")
    expect(similar.get_by_role("link", name=twin.key)).to_be_visible()
    page.get_by_label("Summary").fill("Checkout returns 502 for card payments")
    page.get_by_label("Description").fill("Every card payment fails. Call Maya: 555-0100.")
    page.get_by_role("radio", name="2 - Major").check()
    with page.expect_response(lambda response: "/incidents/similar/" in response.url):
        page.get_by_role("checkbox", name="Web app").check()
    expect(similar.get_by_role("link", name=twin.key)).to_be_visible()
    page.screenshot(path=tmp_path / "create-form.png", full_page=True)

    page.get_by_role("button", name="Log incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/HOT-\d+/$"))
    key = re.search(r"HOT-\d+", page.url).group()
    assert key != twin.key
    expect(page.locator("h1")).to_contain_text(key)
    expect(page.locator(".messages")).to_contain_text(f"{key} logged")

    page.get_by_role("button", name="Claim: I am the IM").click()
    expect(page.locator(".messages")).to_contain_text(f"You are the incident manager of {key}")
    expect(page.get_by_role("button", name="Claim: I am the IM")).to_have_count(0)
    expect(page.locator("h1 .status")).to_have_text("Fixing")
    expect(page.locator("dl.facts")).to_contain_text(manager.get_full_name())

    # A marker on window survives an htmx swap but not a full page load.
    page.evaluate("window.stillTheSamePage = true")
    entry_form = page.locator("#entry-form")
    entry_form.locator("select[name=kind]").select_option(label="Observation")
    entry_form.locator("textarea[name=text]").fill("502s stopped after the gateway rollback.")
    with page.expect_response(
        lambda response: (
            response.request.method == "POST"
            and response.url.endswith(f"/incidents/{key}/timeline/")
        )
    ) as posted:
        entry_form.get_by_role("button", name="Add to timeline").click()
    assert posted.value.status == 200
    assert posted.value.request.headers.get("hx-request") == "true"
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("502s stopped after the gateway rollback.")
    expect(timeline.locator("li.entry.kind-observation")).to_have_count(1)
    assert page.evaluate("window.stillTheSamePage") is True
    expect(entry_form.locator("textarea[name=text]")).to_have_value("")
    page.screenshot(path=tmp_path / "incident.png", full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    expect(page).to_have_url(re.compile(r"/incidents/$"))
    row = page.locator(f"#row-{key}")
    expect(row.get_by_role("link", name=key)).to_have_attribute("href", f"/incidents/{key}/")
    expect(row).to_contain_text("Checkout returns 502 for card payments")
    expect(row).to_contain_text("SEV 2")
    expect(row).to_contain_text("Web app")
    expect(page.locator(f"#row-{twin.key}")).to_be_visible()
    page.screenshot(path=tmp_path / "list.png", full_page=True)

    assert not js_errors
    incident = Incident.objects.get(key=key)
    assert incident.assignee == manager
    assert incident.status == "fixing"
    assert [p.slug for p in incident.affected_products.all()] == ["web-app"]
    assert incident.timeline.filter(kind=EntryKind.OBSERVATION, author=manager).count() == 1
    for name in ("create-form.png", "incident.png", "list.png"):
        assert (tmp_path / name).stat().st_size > 0
