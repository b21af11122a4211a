"""The public status page as other sites and customers see it in Chromium: Atlassian's
status widget on another origin reads Hotline's JSON (CORS), and the 90-day uptime bars
with their tooltips at laptop and phone widths."""

import functools
import os
import re
import shutil
import threading
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from comms import actions
from comms.models import Audience, Component, ComponentStatus, Kind
from tests.factories import ProductFactory, UserFactory, make_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDGET = (
    Path(__file__).resolve().parent.parent
    / "comms/node/node_modules/@statuspage/status-widget/dist/index.js"
)
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def manager(db):
    return UserFactory(username="maya", group="incident manager")


@pytest.fixture
def other_origin(tmp_path, live_server):
    """A second web server on another port serving a page that embeds the widget."""
    if not WIDGET.exists():
        message = "the status widget is not installed: cd tests/comms/node && npm ci"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    shutil.copy(WIDGET, tmp_path / "status-widget.js")
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Another site</title></head><body>"
        "<h1>Another site</h1>"
        f'<statuspage-widget src="{live_server.url}"></statuspage-widget>'
        f'<statuspage-widget src="{live_server.url}" appearance="badge"></statuspage-widget>'
        '<script src="/status-widget.js"></script></body></html>'
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_atlassians_status_widget_on_another_origin_shows_hotlines_status(
    browser, live_server, other_origin, manager, tmp_path
):
    jira = ProductFactory(name="Jira", slug="jira")
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    draft = actions.draft_communication(
        outage, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
    )
    actions.publish_communication(draft, by=manager)
    assert not other_origin.startswith(live_server.url)
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    requests: list[str] = []
    page.on("requestfinished", lambda request: requests.append(request.url))

    page.goto(other_origin + "/index.html")

    widget = page.locator("statuspage-widget").first
    expect(widget).to_contain_text("Major System Outage")
    expect(page.locator("statuspage-widget").nth(1)).to_contain_text("Major System Outage")
    assert f"{live_server.url}/api/v2/summary.json" in requests
    assert not [text for text in console if "CORS" in text], console
    page.screenshot(path=str(tmp_path / "status-widget.png"))
    context.close()


@pytest.fixture
def history(manager):
    """Jira: a major outage six days ago and a day of degraded performance two days ago;
    Confluence: a partial outage yesterday; both on the page for 120 days."""
    # Hours counted from today's midnight (UTC, the page's days), so no outage crosses one.
    now = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    jira = ProductFactory(name="Jira", slug="jira")
    confluence = ProductFactory(name="Confluence", slug="confluence")
    with time_machine.travel(now - timedelta(days=120), tick=False):
        for product in (jira, confluence):
            Component.objects.create(product=product)
    with time_machine.travel(now - timedelta(days=6, hours=-10), tick=False) as traveller:
        outage = make_incident(summary="Jira is down", severity=1, products=[jira])
        draft = actions.draft_communication(
            outage, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
        )
        actions.publish_communication(draft, by=manager)
        traveller.shift(timedelta(hours=3))
        final = actions.draft_communication(
            outage, audience=Audience.EXTERNAL, kind=Kind.FINAL, by=manager
        )
        actions.publish_communication(final, by=manager)
    with time_machine.travel(now - timedelta(days=2, hours=-10), tick=False) as traveller:
        actions.set_component_status(jira, status=ComponentStatus.DEGRADED, by=manager)
        traveller.shift(timedelta(hours=8))
        actions.set_component_status(jira, status=ComponentStatus.OPERATIONAL, by=manager)
    with time_machine.travel(now - timedelta(days=1, hours=-10), tick=False) as traveller:
        actions.set_component_status(confluence, status=ComponentStatus.PARTIAL, by=manager)
        traveller.shift(timedelta(hours=2))
        actions.set_component_status(confluence, status=ComponentStatus.OPERATIONAL, by=manager)
    return outage


@pytest.mark.parametrize(
    ("width", "viewport", "shown"), [("laptop", LAPTOP, 90), ("phone", PHONE, 30)]
)
def test_uptime_bars_show_each_days_worst_status_with_a_tooltip(
    browser, live_server, history, tmp_path, width, viewport, shown
):
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/status/")

    jira = page.locator("li.component", has_text="Jira")
    bars = jira.locator(".uptime-day")
    expect(bars).to_have_count(90)
    visible = [bars.nth(n).is_visible() for n in range(90)]
    assert visible == [False] * (90 - shown) + [True] * shown
    outage_day = jira.locator(".uptime-day.uptime-major_outage")
    expect(outage_day).to_have_count(1)
    outage_day.hover()
    tip = outage_day.locator(".uptime-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("Major outage for 3 hours")
    expect(tip).to_contain_text("Related")
    box, screen = tip.bounding_box(), viewport
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= screen["width"]
    page.screenshot(path=str(tmp_path / f"status-uptime-{width}.png"), full_page=True)
    # The keyboard reaches the same tooltip.
    confluence_day = page.locator("li.component", has_text="Confluence").locator(
        ".uptime-day.uptime-partial_outage"
    )
    confluence_day.focus()
    expect(confluence_day.locator(".uptime-tip")).to_contain_text(
        re.compile(r"Partial outage for 2 hours")
    )
    expect(page.locator("li.component", has_text="Jira")).to_contain_text(
        re.compile(r"\d+\.\d\d % uptime")
    )
    context.close()
    assert errors == []
