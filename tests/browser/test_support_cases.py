"""Labelling cases from the incident page: HTMX swaps the cases panel in place."""

import pytest
from playwright.sync_api import expect

from incidents.support import actions as support_actions
from incidents.support.models import SupportCase
from tests.factories import make_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_labelling_from_the_incident_page_updates_the_panel_in_place(page, support, tmp_path):
    incident = make_incident(by=support, summary="Checkout is failing")
    support_actions.upsert_case(reference="SD-4711", customer_name="Ana", organisation="Acme")
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/incidents/{incident.key}/")
    page.evaluate("window.__stayed = true")  # gone if the page reloads

    panel = page.locator("#support-cases")
    expect(panel.get_by_role("heading")).to_contain_text("(0)")
    panel.get_by_label(f"Label cases with {incident.key}").fill("SD-4711, SD-404")
    panel.get_by_role("button", name="Label").click()
    expect(panel.get_by_role("alert")).to_contain_text("Unknown case reference: SD-404.")

    panel = page.locator("#support-cases")
    panel.get_by_label(f"Label cases with {incident.key}").fill("SD-4711")
    panel.get_by_role("button", name="Label").click()
    expect(page.locator("#support-cases")).to_contain_text(f"Labelled SD-4711 with {incident.key}.")
    expect(page.locator("#support-cases").get_by_role("heading")).to_contain_text("(1)")
    expect(page.locator("#support-cases .case-list")).to_contain_text("Acme")
    assert page.evaluate("window.__stayed === true")
    assert SupportCase.objects.get(reference="SD-4711").label_id == incident.pk
    page.screenshot(path=str(tmp_path / "cases-panel.png"), full_page=True)

    page.locator("#support-cases").get_by_role("link", name="Label history").click()
    expect(page.locator("#label-history")).to_contain_text(f"labelled with {incident.key}")
    page.screenshot(path=str(tmp_path / "label-history.png"), full_page=True)
