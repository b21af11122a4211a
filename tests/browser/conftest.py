"""Chromium through Playwright, driving pytest-django's live server.

Debian's chromium is used as installed: no ``playwright install``, no downloaded browser.
Without it the browser tests skip, unless ``REQUIRE_BROWSER=1`` (CI), where they fail.
"""

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}


def _chromium_path() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(
            "REQUIRE_BROWSER=1 but no `chromium` on PATH: install Debian's chromium "
            "(apt-get install chromium) so the browser tests can run.",
            pytrace=False,
        )
    pytest.skip("chromium not installed (apt-get install chromium; REQUIRE_BROWSER=1 to insist)")


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One Chromium for every test in this folder.

    Playwright's sync API runs an event loop in the test thread; Django would refuse
    every database query made there with SynchronousOnlyOperation. The variable that
    allows them is set only while the browser runs, not at import: set for the whole
    session it leaks into later tests, and into the ``manage.py check --deploy`` that
    tests/test_deploy.py runs, which then fails with async.E001.
    """
    executable = _chromium_path()
    from playwright.sync_api import sync_playwright

    we_set_it = "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if we_set_it:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh desktop-sized tab on the live server; relative URLs go to it."""
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
