"""Paging review fixes: fencing stale workers, restricted team e-mails, moving the
escalation on after a dead first attempt, cancelling older pages on acknowledgement,
offering a page once per lease, and never showing a webhook's URL."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail

from incidents import actions as incident_actions
from incidents.models import Incident
from oncall import actions, delivery, tasks
from oncall.models import (
    ContactMethod,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    EventKind,
    PageState,
)
from tests.factories import ServiceFactory, TeamFactory, make_incident
from tests.receivers import HttpReceiver

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments", email="payments@example.com")


@pytest.fixture
def service(team):
    return ServiceFactory(slug="checkout", name="Checkout", team=team)


@pytest.fixture
def pia(make_roster, team):
    roster = make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    return roster.participants.get().user


@pytest.fixture
def backup_step(team, make_roster):
    """bea (the backup roster) after 5 minutes, every 5 minutes, 3 rounds."""
    backup = make_roster("payments-backup", people=["bea"], team=team, start_date=date(2026, 1, 5))
    policy = EscalationPolicy.objects.create(team=team, repeat=3)
    EscalationStep.objects.create(policy=policy, position=0, wait_minutes=5, roster=backup)
    return policy


def lease(settings) -> timedelta:
    return timedelta(seconds=settings.ONCALL_DELIVERY_LEASE_SECONDS)


# 3. A team e-mail written before the incident was restricted ------------------------------


def test_a_team_email_is_cancelled_once_the_incident_is_restricted(service):
    incident = make_incident(severity=3, faulty_service=service, summary="Card data leak")
    page = incident.pages.get()
    assert page.user is None
    Incident.objects.filter(pk=incident.pk).update(restricted=True)

    outcome, retry_in = delivery.deliver(page.pk)

    assert outcome.startswith("cancelled: the incident is restricted")
    assert retry_in is None
    assert mail.outbox == []
    page.refresh_from_db()
    assert page.state == PageState.CANCELLED
    assert page.claimed_until is None
    event = incident.paging_events.get(kind=EventKind.FAILED)
    assert event.text == (
        "Page to payments@example.com cancelled: the incident is restricted; "
        "a team address is not paged"
    )
    assert "Card data leak" not in event.text
    # A second run changes nothing.
    assert delivery.deliver(page.pk)[0].startswith("nothing to do")


# 6. Fencing: a worker whose lease ran out writes nothing ----------------------------------


def test_a_stale_worker_changes_nothing_after_another_claimed_the_page(
    service, pia, settings, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)
    page = incident.pages.get()
    assert delivery._claim(page.pk) == 1
    time_machine.shift(lease(settings) + timedelta(seconds=1))  # worker 1 stalls
    assert delivery._claim(page.pk) == 2  # worker 2 takes over
    page.refresh_from_db()
    held = (page.state, page.claimed_until, page.next_attempt_at, page.attempt_count)

    assert actions.mark_failed(page.pk, "stale", number=1) is False
    assert actions.mark_sent(page.pk, number=1) is False
    assert actions.schedule_retry(page.pk, 300, number=1) is False
    assert actions.renew_lease(page.pk, 1) is False

    page.refresh_from_db()
    assert (page.state, page.claimed_until, page.next_attempt_at, page.attempt_count) == held
    assert not incident.paging_events.filter(kind=EventKind.FAILED).exists()
    # The worker holding it still settles it.
    assert actions.mark_sent(page.pk, number=2) is True
    page.refresh_from_db()
    assert page.state == PageState.SENT


def test_a_heartbeat_does_not_extend_a_released_page(service, pia):
    page = make_incident(severity=1, faulty_service=service).pages.get()
    assert delivery._claim(page.pk) == 1
    assert actions.schedule_retry(page.pk, 2, number=1) is True

    assert actions.renew_lease(page.pk, 1) is False
    page.refresh_from_db()
    assert page.claimed_until is None


# 7. The first attempt with results moves the escalation on, whatever its number ----------


def test_a_page_whose_first_worker_died_escalates_when_its_next_try_reaches_nobody(
    service, pia, backup_step, settings, time_machine
):
    with HttpReceiver(status=503) as hook:
        ContactMethod.objects.create(user=pia, kind="webhook", target=hook.url)
        incident = make_incident(severity=1, faulty_service=service)
        page = incident.pages.get()
        assert delivery._claim(page.pk) == 1  # killed before it recorded anything
        time_machine.shift(lease(settings) + timedelta(seconds=1))

        assert delivery.deliver(page.pk)[0].startswith("attempt 2 failed")

    now = NOW + lease(settings) + timedelta(seconds=1)
    assert Escalation.objects.get(incident=incident).next_escalation_at == now
    assert incident.paging_events.filter(text="Page to pia reached nobody: escalating now.")


def test_reaching_nobody_does_not_skip_a_step_once_a_later_page_exists(
    service, pia, backup_step, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)
    first = incident.pages.get()
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 1  # bea paged: pia's page is no longer the latest
    planned = Escalation.objects.get(incident=incident).next_escalation_at

    assert actions.page_reached_nobody(first.pk) is False

    assert Escalation.objects.get(incident=incident).next_escalation_at == planned


# 8. Acknowledging cancels the escalation's older pages still retrying --------------------


def test_claiming_cancels_the_older_pages_still_retrying(
    service, pia, backup_step, manager, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 1
    pia_page, bea_page = incident.pages.order_by("pk")

    incident_actions.claim_incident(incident, by=manager)

    pia_page.refresh_from_db()
    bea_page.refresh_from_db()
    assert bea_page.state == PageState.ACKNOWLEDGED
    assert pia_page.state == PageState.CANCELLED
    assert pia_page.claimed_until is None
    event = incident.paging_events.get(kind=EventKind.ACKNOWLEDGED)
    assert event.text == (
        "maya acknowledged the page (claimed the incident). "
        "1 earlier page still retrying cancelled."
    )
    time_machine.shift(timedelta(minutes=1))
    assert actions.pending_pages_due(NOW + timedelta(hours=1)) == []


def test_acknowledging_leaves_manual_pages_alone(service, pia, backup_step, manager):
    incident = make_incident(severity=1, faulty_service=service)
    manual = actions.page_manually(incident, by=manager, user=manager, message="join")

    actions.acknowledge_page(incident.pages.get(reason="incident"), by=pia)

    manual.refresh_from_db()
    assert manual.state == PageState.PENDING


# 12. The sweep offers a page once per lease ----------------------------------------------


def test_the_sweep_offers_a_due_page_once_per_lease(service, pia, settings, time_machine):
    page = make_incident(severity=1, faulty_service=service).pages.get()
    due = NOW + timedelta(seconds=settings.ONCALL_SWEEP_GRACE_SECONDS + 1)
    time_machine.move_to(due)

    assert actions.pending_pages_due(due) == [page.pk]
    # Workers are backlogged: the next sweeps do not queue it again.
    assert actions.pending_pages_due(due + timedelta(seconds=3)) == []
    assert tasks.sweep_pages() == 0
    # Nobody took it within the lease: offered again.
    later = due + lease(settings) + timedelta(milliseconds=1)
    assert actions.pending_pages_due(later) == [page.pk]
    page.refresh_from_db()
    assert page.offered_until == later + lease(settings)


def test_a_claim_takes_an_offered_page_and_clears_the_offer(service, pia, settings, time_machine):
    page = make_incident(severity=1, faulty_service=service).pages.get()
    time_machine.shift(timedelta(seconds=settings.ONCALL_SWEEP_GRACE_SECONDS + 1))
    assert tasks.sweep_pages() == 1

    assert delivery._claim(page.pk) == 1

    page.refresh_from_db()
    assert page.offered_until is None


# 13. A webhook's URL (a credential) is never shown ----------------------------------------


def test_a_slack_webhook_url_never_appears_on_the_timeline_history_or_panel(
    service, pia, manager, client_for
):
    with HttpReceiver(status=404) as hook:
        target = hook.url + "/services/T0001/B0002/s3cr3tT0k3n"
        ContactMethod.objects.create(user=pia, kind="slack", target=target)
        incident = make_incident(severity=1, faulty_service=service)
        delivery.deliver(incident.pages.get().pk)

    html = client_for(manager).get(incident.get_absolute_url()).content.decode()
    timeline = " ".join(incident.timeline.values_list("text", flat=True))
    history = " ".join(incident.paging_events.values_list("text", flat=True))
    for seen in (html, timeline, history):
        assert "s3cr3tT0k3n" not in seen
        assert "/services/" not in seen
        assert hook.url not in seen
    assert "Slack-compatible webhook (127.0.0.1) gave up after 1 try" in history
    assert "Slack-compatible webhook (127.0.0.1) gave up after 1 try" in timeline
    assert "Slack-compatible webhook (127.0.0.1)" in html
