"""The on-call calendar in a browser: drawn in the browser's own zone (the page asks it
and keeps it in ?tz=), every shift's label fits its bar at laptop and phone widths."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from oncall import actions
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _rosters():
    team = TeamFactory(slug="payments", name="Payments")
    people = [
        UserFactory(username=name, first_name=first, last_name=last, group="responder")
        for name, first, last in [
            ("pia", "Pia", "Keller"),
            ("raf", "Rafael", "Ortiz"),
            ("mei", "Mei", "Tanaka"),
        ]
    ]
    today = timezone.localdate()
    actions.create_roster(
        slug="payments-im",
        name="Payments IM",
        team=team,
        by=None,
        participants=people,
        start_date=today - timedelta(days=3),
        time_zone="Europe/Paris",
        shift_unit="weeks",
    )
    daily = actions.create_roster(
        slug="payments-daily",
        name="Payments daily",
        team=team,
        by=None,
        participants=people[:2],
        start_date=today,
        time_zone="Europe/Paris",
        shift_unit="days",
    )
    start = timezone.now() + timedelta(days=5)
    actions.add_override(
        daily, user=people[2], starts_at=start, ends_at=start + timedelta(hours=30), by=people[2]
    )


def _overflowing(page):
    """Bars whose visible text does not fit them (a cut-off name)."""
    return page.eval_on_selector_all(
        ".cal-bar",
        "bars => bars.filter(b => b.textContent.trim() && b.scrollWidth > b.clientWidth + 1)"
        ".map(b => b.textContent)",
    )


def test_the_calendar_is_in_the_browsers_zone_and_every_label_fits(browser, live_server, tmp_path):
    _rosters()
    out = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    context = browser.new_context(
        base_url=live_server.url, viewport=LAPTOP, timezone_id="America/New_York"
    )
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    # Without the zone cookie the portal renders in its own zone (UTC) first: the
    # calendar's script asks again with the browser's. The page after the login sets the
    # cookie as it loads, so it is cleared once that page has loaded, not before.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.wait_for_load_state("load")
    context.clear_cookies(name="tz")
    page.goto("/oncall/calendar/")
    expect(page).to_have_url(f"{live_server.url}/oncall/calendar/?tz=America%2FNew_York")
    expect(page.locator("#calendar-zone")).to_contain_text("America/New_York")
    bars = page.locator(".cal-bar[aria-label]")
    assert bars.count() >= 10
    assert (
        "Pia Keller" in (bars.first.get_attribute("aria-label") or "")
        or page.locator('.cal-bar[aria-label^="Pia Keller"]').count()
    )
    assert page.locator(".cal-override").count() >= 1
    assert _overflowing(page) == []
    page.screenshot(path=str(out / "oncall-calendar-laptop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    assert _overflowing(page) == []
    # The calendar scrolls inside its card; the page itself does not widen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.screenshot(path=str(out / "oncall-calendar-phone.png"), full_page=True)
    context.close()


def _log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()


def test_rules_and_swaps_pages_work_in_a_browser(page, tmp_path):
    from oncall.models import ContactMethod

    _rosters()
    out = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    pia = UserFactory(username="pia")
    ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
    ContactMethod.objects.create(user=pia, kind="slack", target="https://hooks.example.com/T1")
    _log_in(page, "pia")
    page.goto("/oncall/rules/")
    page.get_by_label("Chain").first.select_option("major")
    page.get_by_label("Contact method").select_option(label="E-mail: pia@example.com")
    page.get_by_label("After (minutes)").fill("0")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_label("Contact method").select_option(
        label="Slack-compatible webhook: https://hooks.example.com/T1"
    )
    page.get_by_label("After (minutes)").fill("5")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#chain-major")).to_contain_text("after 5 minutes")
    page.screenshot(path=str(out / "oncall-rules.png"), full_page=True)

    page.goto("/oncall/swaps/")
    expect(page.get_by_role("heading", name="Offer a shift")).to_be_visible()
    page.screenshot(path=str(out / "oncall-swaps.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(out / "oncall-swaps-phone.png"), full_page=True)

    UserFactory(username="root", is_superuser=True, is_staff=True)
    page.context.clear_cookies()
    page.set_viewport_size(LAPTOP)
    _log_in(page, "root")
    page.goto("/oncall/load/")
    expect(page.locator("#load-table")).to_contain_text("Pia Keller")
    assert page.locator("svg.chart").count() == 2
    page.screenshot(path=str(out / "oncall-load.png"), full_page=True)
