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


def log_in(page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()


def test_a_case_labelled_elsewhere_moves_only_after_confirming(page, support):
    """At laptop size: the panel names the incident the case is on and asks; "Move it"
    moves it in place and says from where."""
    page.set_viewport_size({"width": 1366, "height": 768})
    incident = make_incident(by=support, summary="Checkout is failing")
    other = make_incident(by=support, summary="Search is slow")
    support_actions.upsert_case(reference="SD-1", customer_name="Ana", organisation="Acme")
    support_actions.upsert_case(reference="SD-2", customer_name="Bo", organisation="Beta")
    support_actions.label_cases(key=other.key, references="SD-1", by=support)
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    log_in(page)
    page.goto(f"/incidents/{incident.key}/")
    page.evaluate("window.__stayed = true")

    panel = page.locator("#support-cases")
    panel.get_by_label(f"Label cases with {incident.key}").fill("sd-1 sd-2")
    panel.get_by_role("button", name="Label", exact=True).click()
    question = page.locator("#support-cases .move-confirm")
    expect(question).to_contain_text(f"SD-1 is labelled with {other.key}")
    expect(page.locator("#support-cases")).to_contain_text(f"Labelled SD-2 with {incident.key}.")
    expect(page.locator("#support-cases").get_by_role("heading")).to_contain_text("(1)")
    assert SupportCase.objects.get(reference="SD-1").label_id == other.pk
    page.screenshot(path="/tmp/support-move-confirm.png", full_page=True)

    question.get_by_role("button", name=f"Move it to {incident.key}").click()
    expect(page.locator("#support-cases")).to_contain_text(
        f"Moved SD-1 to {incident.key} from {other.key}."
    )
    expect(page.locator("#support-cases").get_by_role("heading")).to_contain_text("(2)")
    expect(page.locator("#support-cases .move-confirm")).to_have_count(0)
    assert SupportCase.objects.get(reference="SD-1").label_id == incident.pk
    assert page.evaluate("window.__stayed === true")
    assert js_errors == []
    page.screenshot(path="/tmp/support-moved.png", full_page=True)


def test_remove_label_answers_with_undo_in_place(page, support):
    page.set_viewport_size({"width": 1366, "height": 768})
    incident = make_incident(by=support, summary="Checkout is failing")
    labelled = support_actions.upsert_case(reference="SD-7", customer_name="Ana")[0]
    support_actions.label_cases(key=incident.key, references="SD-7", by=support)
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    log_in(page)
    page.goto("/support/cases/")
    page.evaluate("window.__stayed = true")

    row = page.locator(f"#case-{labelled.pk}")
    row.get_by_role("button", name="Remove label").click()
    row = page.locator(f"#case-{labelled.pk}")
    expect(row).to_contain_text("Label removed from SD-7 —")
    expect(row).to_contain_text("not labelled")
    assert SupportCase.objects.get(pk=labelled.pk).label_id is None
    page.screenshot(path="/tmp/support-undo.png", full_page=True)

    row.get_by_role("button", name="Undo").click()
    row = page.locator(f"#case-{labelled.pk}")
    expect(row).to_contain_text(f"Labelled SD-7 with {incident.key}.")
    expect(row.get_by_role("link", name=incident.key)).to_be_visible()
    expect(row.get_by_role("button", name="Remove label")).to_be_visible()
    assert SupportCase.objects.get(pk=labelled.pk).label_id == incident.pk
    assert page.evaluate("window.__stayed === true")
    assert js_errors == []
    page.screenshot(path="/tmp/support-undone.png", full_page=True)


def test_the_dashboard_asks_before_moving_a_case(page, support):
    page.set_viewport_size({"width": 1366, "height": 768})
    incident = make_incident(by=support, summary="Checkout is failing")
    other = make_incident(by=support, summary="Search is slow", severity=3)
    support_actions.upsert_case(reference="SD-1", customer_name="Ana")
    support_actions.label_cases(key=other.key, references="SD-1", by=support)
    log_in(page)
    page.goto("/support/")

    row = page.locator(f"#board-{incident.key}")
    row.get_by_label(f"Label a case with {incident.key}").fill("sd-1")
    row.get_by_role("button", name="Label").click()
    question = page.locator("#label-result .move-confirm")
    expect(question).to_contain_text(f"SD-1 is labelled with {other.key}: not moved.")
    page.screenshot(path="/tmp/support-dashboard-confirm.png")
    question.get_by_role("button", name=f"Move it to {incident.key}").click()
    expect(page.locator("#label-result")).to_contain_text(
        f"Moved SD-1 to {incident.key} from {other.key}."
    )
    assert SupportCase.objects.get(reference="SD-1").label_id == incident.pk
