"""An admin sets a team up for on-call from an empty portal, without the Django admin:
a team, a roster of three, a two-step escalation policy; the on-call person adds her own
notification rule; then a test incident pages the right person, through her rule, and
escalates on time.

Time moves with time-machine in this process, which is also the live server's: the
server pages, and the beat's tick (``tasks.escalate``, run here as the beat would) finds
the next step due exactly when the policy says, never before.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from incidents.models import Incident
from oncall import tasks
from oncall.models import Escalation, PageReason
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    # Committed rows for the live server; tests/conftest.py restores the migrations' rows.
    pytest.mark.django_db(transaction=True),
]


def _log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()


def _paged(incident):
    return [(p.recipient, p.reason) for p in incident.pages.order_by("pk")]


def test_admin_sets_up_a_team_and_its_first_incident_pages_and_escalates_on_time(
    page, live_server, admin_user, tmp_path, mailoutbox
):
    mailbox = mailoutbox
    # Now, not a fixed date: the browser keeps its own clock, and a session cookie set
    # in the past would be dropped. Only forward from here.
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=True) as clock:
        for name in ("pia", "bea", "lea"):
            UserFactory(username=name, first_name=name.title(), last_name="Tester")
        js_errors: list[str] = []
        page.on("pageerror", lambda error: js_errors.append(str(error)))
        _log_in(page, "ada")

        # The On-call area, which says where escalation is set.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="On call").click()
        page.get_by_role("link", name="Teams and escalation").click()
        expect(page.locator(".empty")).to_contain_text("No teams yet")
        page.get_by_label("Name").fill("Payments")
        page.get_by_label("Contact e-mail").fill("payments@example.com")
        page.get_by_role("button", name="Create team").click()
        expect(page).to_have_url(re.compile(r"/oncall/teams/payments/$"))
        expect(page.locator(".messages")).to_contain_text("Created the team Payments")

        members = page.locator("#members")
        members.get_by_label("People").fill("pia\nbea\nlea")
        members.get_by_role("button", name="Save members").click()
        expect(page.locator(".messages")).to_contain_text("Saved the team's members")

        # A weekly rotation that began at yesterday's midnight: pia's week now.
        roster_form = page.locator("#new-roster")
        roster_form.get_by_label("Name").fill("Payments IM")
        roster_form.get_by_label("Participants").fill("pia\nbea\nlea")
        roster_form.get_by_label("Shift unit").select_option("weeks")
        roster_form.get_by_label("Hand-off time").fill("00:00")
        yesterday = (start - timedelta(days=1)).date().isoformat()
        roster_form.get_by_label("First shift on").fill(yesterday)
        roster_form.get_by_label("Time zone").fill("UTC")
        roster_form.get_by_role("button", name="Create roster").click()
        expect(page).to_have_url(re.compile(r"/oncall/rosters/payments-payments-im/$"))
        expect(page.locator("h1")).to_contain_text("Payments IM")
        expect(page.locator(".card").first).to_contain_text("Now Pia Tester until")

        # The escalation policy: bea after 5 minutes, then the whole team after 10.
        page.get_by_role("link", name="← Payments").click()
        page.get_by_role("link", name="Edit the policy and preview it").click()
        page.locator("[name=steps-0-wait_minutes]").fill("5")
        page.locator("[name=steps-0-kind]").select_option("user")
        page.locator("[name=steps-0-user]").select_option("bea")
        page.locator("[name=steps-1-wait_minutes]").fill("10")
        page.locator("[name=steps-1-kind]").select_option("team")
        page.get_by_label("Repeat").fill("0")
        page.get_by_role("button", name="Save policy").click()
        expect(page.locator(".messages")).to_contain_text("Saved the escalation policy")
        preview = page.locator("#preview li")
        expect(preview).to_have_count(4)
        expect(preview.nth(0)).to_contain_text("On call for Payments IM: pia")
        expect(preview.nth(1)).to_contain_text("Step 1: a named person: bea")
        expect(preview.nth(2)).to_contain_text("every member of Payments: bea, lea, pia")
        expect(preview.nth(3)).to_contain_text("the IMOC")
        page.screenshot(path=str(tmp_path / "escalation-policy.png"), full_page=True)

        # The service the incident names, through the catalogue API (no Django admin).
        csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        answer = page.request.post(
            "/api/services/",
            data={"name": "Checkout", "slug": "checkout", "team": "payments"},
            headers={"X-CSRFToken": csrf, "Referer": live_server.url},
        )
        assert answer.status == 201, answer.text()
        page.goto("/oncall/teams/payments/")
        page.screenshot(path=str(tmp_path / "team.png"), full_page=True)

        # pia, on call, sets her notification rule for severity 1-2: her pager address at
        # once, her own inbox only after 30 minutes.
        page.get_by_role("button", name="Log out").click()
        _log_in(page, "pia")
        page.goto("/oncall/contacts/")
        for address in ("pia-pager@example.com", "pia-inbox@example.com"):
            page.get_by_label("Kind").select_option("email")
            page.get_by_label("Address or URL").fill(address)
            page.get_by_role("button", name="Add").click()
            expect(page.locator(".oncall-list")).to_contain_text(address)
        page.goto("/oncall/rules/")
        for address, delay in (("pia-pager@example.com", "0"), ("pia-inbox@example.com", "30")):
            page.get_by_label("Chain").select_option("major")
            page.get_by_label("Contact method").select_option(label=f"E-mail: {address}")
            page.get_by_label("After (minutes)").fill(delay)
            page.get_by_role("button", name="Add", exact=True).click()
        chain = page.locator("#chain-major li")
        expect(chain).to_have_count(2)
        expect(chain.nth(1)).to_contain_text("pia-inbox@example.com")
        page.screenshot(path=str(tmp_path / "notification-rules.png"), full_page=True)
        page.get_by_role("button", name="Log out").click()
        _log_in(page, "ada")

        page.goto("/new")
        page.get_by_label("Faulty service").select_option(label="Checkout")
        page.get_by_label("Summary").fill("Checkout is down")
        page.get_by_label("Description").fill("Every payment fails.")
        page.get_by_role("radio", name="1 - Critical").check()
        page.get_by_role("button", name="Log incident").click()
        expect(page).to_have_url(re.compile(r"/incidents/HOT-\d+/$"))
        incident = Incident.objects.get(summary="Checkout is down")
        opened = Escalation.objects.get(incident=incident).started_at
        assert _paged(incident) == [("pia", PageReason.INCIDENT)]
        panel = page.locator("#oncall-panel")
        expect(panel.locator(".oncall-pages")).to_contain_text("pia")
        # The page follows pia's rule: the pager now, her inbox not yet.
        mailbox.clear()
        tasks.deliver_page(incident.pages.get().pk)
        assert [message.to for message in mailbox] == [["pia-pager@example.com"]]

        # Not a second early: nothing at 4:59; bea at 5:00.
        clock.move_to(opened + timedelta(minutes=5) - timedelta(seconds=1), tick=False)
        assert tasks.escalate() == 0
        clock.move_to(opened + timedelta(minutes=5), tick=True)
        assert tasks.escalate() == 1
        assert _paged(incident)[-1] == ("bea", PageReason.ESCALATION)
        page.reload()
        expect(panel.locator(".oncall-pages")).to_contain_text("bea")

        # The whole team ten minutes after bea's step was due.
        clock.move_to(opened + timedelta(minutes=15) - timedelta(seconds=1), tick=False)
        assert tasks.escalate() == 0
        clock.move_to(opened + timedelta(minutes=15), tick=True)
        assert tasks.escalate() == 1
        assert sorted(who for who, _ in _paged(incident)[2:]) == ["bea", "lea", "pia"]
        page.reload()
        expect(panel).to_contain_text("Step 2: paged all of Payments: bea, lea, pia.")
        page.screenshot(path=str(tmp_path / "incident-escalated.png"), full_page=True)
        assert js_errors == []
