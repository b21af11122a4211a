"""An incident manager runs a response from the workspace, from roles to the review."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents import actions
from incidents.after.models import Review
from incidents.models import Role, Status
from tests.factories import ServiceFactory, UserFactory, make_incident

pytestmark = [
    pytest.mark.browser,
    # See test_incident_flow.py: committed rows for the live server, groups restored.
    pytest.mark.django_db(transaction=True),
]


def test_manager_delegates_logs_a_change_and_a_theory_resolves_and_reviews(
    page, live_server, manager, responder, tmp_path
):
    responder.first_name, responder.last_name = "Rui", "Responder"
    responder.save()
    incident = make_incident(
        summary="Checkout returns 502",
        faulty_service=ServiceFactory(name="Payments API", slug="payments-api"),
        impact_started_at=timezone.now() - timezone.timedelta(minutes=40),
    )
    actions.claim_incident(incident, by=manager)
    UserFactory(username="tess", group="responder")
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("maya")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/incidents/{incident.key}/")

    # Delegate: the roles card swaps in place (htmx), with the new tech lead.
    roles = page.locator("#roles")
    roles.get_by_label("Person").select_option(label="Rui Responder")
    roles.get_by_label("Role", exact=True).select_option(label="Tech lead")
    roles.get_by_label("Responsible for").fill("connection pool")
    roles.get_by_role("button", name="Assign role").click()
    expect(page.locator("#roles")).to_contain_text("Rui Responder is now Tech lead.")
    expect(page.locator("#roles .role-name", has_text="Tech lead")).to_be_visible()
    assert incident.roles.current().filter(person=responder, role=Role.TECH_LEAD).exists()

    # The status document: a change and a theory.
    page.get_by_role("navigation", name=f"{incident.key} sections").get_by_role(
        "link", name="Status document"
    ).click()
    page.get_by_text("Log a change").click()
    page.get_by_label("What changed").fill("Raised the DB pool to 200")
    page.get_by_label("How", exact=True).fill("helm upgrade payments --set pool=200")
    page.get_by_label("How to undo it").fill("helm rollback payments")
    page.get_by_role("button", name="Log change").click()
    expect(page.locator("#changes table")).to_contain_text("Raised the DB pool to 200")
    page.get_by_text("Add a theory").click()
    page.locator("#theory-form").get_by_label("Theory").fill(
        "The pool runs out under the retry storm"
    )
    page.get_by_role("button", name="Add theory").click()
    theory = page.locator("article.theory")
    expect(theory).to_contain_text("The pool runs out under the retry storm")
    theory.get_by_role("button", name="Confirmed").click()
    expect(page.locator("article.theory .theory-state")).to_have_text("Confirmed")
    page.screenshot(path=tmp_path / "status-document.png", full_page=True)

    # Resolve from the workspace.
    page.goto(f"/incidents/{incident.key}/")
    workflow = page.locator("#workflow")
    workflow.get_by_label("Move to").select_option("resolved")
    ended = timezone.localtime(timezone.now() - timezone.timedelta(minutes=1))
    workflow.get_by_label("Impact ended").fill(ended.strftime("%Y-%m-%dT%H:%M:%S"))
    workflow.get_by_role("button", name="Move").click()
    expect(page.locator(".messages")).to_contain_text(f"{incident.key} is resolved")

    # The review draft, written from the incident.
    page.get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("button", name="Generate the review draft").click()
    body = page.get_by_label("Review (Markdown)")
    expect(body).to_have_value(re.compile(r"Raised the DB pool to 200"))
    expect(body).to_have_value(re.compile(r"The pool runs out under the retry storm"))
    page.screenshot(path=tmp_path / "review.png", full_page=True)
    page.get_by_role("button", name="Mark the review done").click()
    expect(page.locator("h1 .status")).to_have_text("Reviewed")

    incident.refresh_from_db()
    assert incident.status == Status.REVIEWED
    assert Review.objects.get(incident=incident).completed_at is not None
    assert js_errors == []
