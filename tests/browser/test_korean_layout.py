"""The portal in Korean, as the Korean demo user and a Korean visitor see it, at laptop
and phone size: the dashboard, an incident, the on-call calendar and the public status
page. Korean labels are often longer or shorter than the English ones: nothing may stick
out of the screen or out of its own box. Each page is kept as a screenshot
(``var/screenshots/ko/``) for people to look at."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import Page, expect

from incidents.models import Incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots" / "ko"

# Boxes whose text must fit them: a label that grew in translation overflows these first.
OVERFLOWING_BOXES = """
() => [...document.querySelectorAll(
    'button, .btn, .badge, .tab, nav a, th, label, .pill, h1, h2, h3, dt, .card-title'
  )].filter((el) => {
    const style = getComputedStyle(el);
    if (style.display === 'inline' || style.display === 'none') return false;
    if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) return false;
    if (!el.offsetParent && style.position !== 'fixed') return false;
    return el.scrollWidth > el.clientWidth + 1;
  }).map((el) => `${el.tagName.toLowerCase()}.${el.className}: "${el.innerText.trim()}"`)
"""


def _korean_font_installed() -> bool:
    try:
        fonts = subprocess.run(
            ["fc-list", ":lang=ko", "family"], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return False
    return bool(fonts.stdout.strip())


@pytest.fixture(scope="module", autouse=True)
def korean_font() -> None:
    # Without one Chromium draws Hangul as boxes of one width: measuring them proves
    # nothing, and the screenshots show nothing.
    if not _korean_font_installed():
        pytest.fail("No Korean font: apt-get install fonts-noto-cjk (.ci/run does).", pytrace=False)


@pytest.fixture
def demo(transactional_db) -> None:
    for loader in ("load_demo", "load_demo_oncall", "load_demo_integrations", "load_demo_comms"):
        call_command(loader, verbosity=0)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def korean_tab(browser, live_server, viewport) -> Iterator[Page]:
    # A browser that asks for English: jiwoo's own setting must win for her; the
    # public page follows the visitor, so its test asks for Korean itself.
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[viewport], locale="en-US"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield page
    context.close()
    assert not problems, problems


def sign_in_as_jiwoo(page: Page) -> None:
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill("jiwoo")
    page.locator("input[name=password]").fill("demo")
    page.locator("form [type=submit]").click()
    expect(page.locator("input[name=username]")).to_have_count(0)


def reads_right(page: Page, name: str, viewport: str) -> None:
    """Korean on the page, nothing wider than the screen, no label out of its box; the
    screenshot is kept."""
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    assert any("\uac00" <= char <= "\ud7a3" for char in page.locator("body").inner_text())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{viewport}.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name} is {overflow}px wider than the {viewport} screen"
    assert page.evaluate(OVERFLOWING_BOXES) == [], f"{name}: text out of its box"


def test_the_dashboard_in_korean(demo, korean_tab, viewport):
    sign_in_as_jiwoo(korean_tab)
    korean_tab.goto("/support/")
    expect(korean_tab.locator("table, .empty").first).to_be_visible()
    reads_right(korean_tab, "dashboard", viewport)


def test_an_incident_in_korean(demo, korean_tab, viewport):
    incident = Incident.objects.open().order_by("-severity", "-created_at").first()
    assert incident is not None
    sign_in_as_jiwoo(korean_tab)
    korean_tab.goto(f"/incidents/{incident.key}/")
    expect(korean_tab.get_by_text(incident.key).first).to_be_visible()
    reads_right(korean_tab, "incident", viewport)


def test_the_oncall_calendar_in_korean(demo, korean_tab, viewport):
    sign_in_as_jiwoo(korean_tab)
    korean_tab.goto("/oncall/calendar/")
    reads_right(korean_tab, "calendar", viewport)


def test_the_public_status_page_in_korean(demo, browser, live_server, viewport):
    # A visitor, not signed in, whose browser asks for Korean.
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[viewport], locale="ko-KR"
    )
    page = context.new_page()
    try:
        page.goto("/status/")
        reads_right(page, "status-page", viewport)
    finally:
        context.close()


def test_the_box_check_finds_a_label_out_of_its_box(browser):
    # The check itself: a button too narrow for its label is reported, a wide one not.
    page = browser.new_page()
    try:
        label = "인시던트 관리자에게 페이지 보내기"
        page.set_content(
            f'<button style="width:40px;white-space:nowrap">{label}</button>'
            '<button style="width:400px">확인</button>'
        )
        assert page.evaluate(OVERFLOWING_BOXES) == [f'button.: "{label}"']
    finally:
        page.close()
