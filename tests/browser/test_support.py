"""A support engineer keeps the dashboard open all day: new incidents appear on their
own, and a case is labelled by key from the dashboard."""

import pytest
from playwright.sync_api import expect

from incidents.support import actions as support_actions
from incidents.support.models import SupportCase
from tests.factories import make_incident

pytestmark = [
    pytest.mark.browser,
    # Committed rows for the live server; the data migrations' groups restored.
    pytest.mark.django_db(transaction=True),
]


def test_dashboard_shows_a_new_incident_without_reload_and_labels_a_case(
    page, live_server, support, manager
):

    quiet = make_incident(by=manager, severity=3, summary="Reports are slow")
    support_actions.upsert_case(
        reference="SD-4711", customer_name="Ana", contact_email="ana@acme.example"
    )
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.goto("/")
    expect(page.get_by_role("heading", name="Support dashboard")).to_be_visible()
    expect(page.locator(f"#board-{quiet.key}")).to_be_visible()
    page.evaluate("window.__stayed = true")  # gone if the page reloads

    # Logged elsewhere, while the dashboard stays open.
    outage = make_incident(by=manager, severity=1, summary="Checkout is down for everyone")
    row = page.locator(f"#board-{outage.key}")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_have_class("sev-row-1 is-new")
    # Most severe first.
    expect(page.locator("#board tbody tr").first).to_have_id(f"board-{outage.key}")
    assert page.evaluate("window.__stayed") is True

    # Refused: the answer says why, and the form keeps what was typed.
    row.get_by_label(f"Label a case with {outage.key}").fill(",")
    row.get_by_role("button", name="Label").click()
    expect(page.locator("#label-result")).to_contain_text("Give at least one case reference.")
    expect(row.get_by_label(f"Label a case with {outage.key}")).to_have_value(",")
    row.get_by_label(f"Label a case with {outage.key}").fill("  SD-4711 ")
    row.get_by_role("button", name="Label").click()
    expect(page.locator("#label-result")).to_contain_text(f"Labelled SD-4711 with {outage.key}")
    expect(row.get_by_label(f"Label a case with {outage.key}")).to_have_value("")
    expect(page.locator(f"#board-{outage.key} .case-count strong")).to_have_text(
        "1", timeout=15_000
    )
    assert SupportCase.objects.get(reference="SD-4711").label_id == outage.pk
    assert js_errors == []


def test_dashboard_reads_on_a_laptop_and_a_phone(
    browser, live_server, tmp_path, support, manager, monkeypatch
):
    from incidents import actions
    from incidents.support import dashboard

    # A board past its cap (100 rows at full size) says so and links to the full list.
    monkeypatch.setattr(dashboard, "ACTIVE_SHOWN", 10)
    from tests.factories import ProductFactory

    products = [ProductFactory(name=name) for name in ("Checkout", "Jira", "Billing")]
    for number in range(12):
        incident = make_incident(
            by=manager,
            severity=number % 3 + 1,
            summary=f"Customers see errors in step {number} of the payment flow",
            products=products[: 1 + number % 3],
        )
        if number % 4 == 0:
            actions.claim_incident(incident, by=manager)
    for width, height, name in ((1280, 800, "laptop"), (390, 844, "phone")):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        page = context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("sam")
        page.get_by_label("Password").fill("pw")
        page.get_by_role("button", name="Log in").click()
        page.goto("/support/")
        expect(page.locator("#board tbody tr").first).to_be_visible()
        expect(page.locator("#board-cap")).to_contain_text("Showing the first 10 of 12")
        expect(page.locator("#board tbody tr")).to_have_count(10)
        # Cached rows carry exact times; the page's script makes them relative.
        expect(page.locator("#board td[data-label=Started] time").first).to_contain_text("ago")
        page.screenshot(path=str(tmp_path / f"dashboard-{name}.png"), full_page=True)
        if name == "phone":
            # Nothing wider than the screen: the table turns into cards.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        context.close()
