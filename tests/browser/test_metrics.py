"""The metrics charts read well in a laptop window and on a phone: each chart fills its
column and its text keeps a readable size (no viewBox scaling it down)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents import actions
from incidents.models import Status
from tests.factories import make_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _chart_sizes(page, selector):
    return page.eval_on_selector(
        selector,
        """svg => ({
            width: svg.getBoundingClientRect().width,
            label: parseFloat(getComputedStyle(svg.querySelector('text.label')).fontSize),
            viewport: window.innerWidth,
        })""",
    )


def test_metrics_charts_fill_their_column_on_laptop_and_phone(page, support, manager, tmp_path):
    now = timezone.now()
    for index in range(6):
        start = now - timedelta(days=10 + index * 12)
        incident = make_incident(
            by=support, impact_started_at=start, detected_at=start + timedelta(minutes=7 * index)
        )
        actions.claim_incident(incident, by=manager)
        actions.transition_incident(
            incident,
            to=Status.RESOLVED,
            by=manager,
            impact_ended_at=start + timedelta(minutes=40 + 50 * index),
        )
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.goto("/support/metrics/")
    expect(page.locator("#period")).to_contain_text("the last 90 days")
    page.screenshot(path=str(tmp_path / "metrics-laptop.png"), full_page=True)
    for chart in ("#ttd svg", "#ttr svg"):
        sizes = _chart_sizes(page, chart)
        assert sizes["width"] > sizes["viewport"] * 0.35, (chart, sizes)  # half, not a sidebar
        assert sizes["label"] >= 10, (chart, sizes)

    page.set_viewport_size(PHONE)
    page.screenshot(path=str(tmp_path / "metrics-phone.png"), full_page=True)
    page.locator("#ttr").screenshot(path=str(tmp_path / "metrics-phone-ttr.png"))
    for chart in ("#ttd svg", "#ttr svg", "#trend svg"):
        sizes = _chart_sizes(page, chart)
        assert sizes["width"] > sizes["viewport"] * 0.8, (chart, sizes)  # stacked, full width
        assert sizes["label"] >= 10, (chart, sizes)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
