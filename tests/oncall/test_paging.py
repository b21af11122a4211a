"""Paging on incident events, delivery, escalation and acknowledgement (actions + tasks)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail

from incidents import actions as incident_actions
from incidents.actions import ActionRefused
from incidents.models import EntryKind, Service
from incidents.support import dashboard, metrics_pages
from oncall import actions, delivery, tasks
from oncall.models import (
    ContactMethod,
    Escalation,
    EscalationPolicy,
    EscalationState,
    EscalationStep,
    EventKind,
    Page,
    PageReason,
    PageState,
    PagingEvent,
)
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident
from tests.receivers import HttpReceiver

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://hotline.example"


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments", email="payments@example.com")


@pytest.fixture
def service(team):
    return ServiceFactory(slug="checkout", name="Checkout", team=team)


@pytest.fixture
def team_roster(make_roster, team):
    return make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))


@pytest.fixture
def staffed_imoc(imoc):
    actions.change_rotation(imoc, by=None, participants=[UserFactory(username="ivo")])
    imoc.start_date = date(2026, 1, 5)
    imoc.save()
    return imoc


def pages(incident):
    return [(p.recipient, p.reason, p.state) for p in incident.pages.order_by("pk")]


def test_severity_1_pages_the_on_call_im_of_the_service_team(
    service, team_roster, staffed_imoc, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        incident = make_incident(severity=1, faulty_service=service)
    assert pages(incident) == [("pia", PageReason.INCIDENT, PageState.PENDING)]
    # The page's wake-up, after commit (beside the support board's marker moves, the
    # metrics pages' warm-up and the permissions' version the people made for the test
    # move).
    others = (dashboard.bump_marker, metrics_pages.figures_changed)
    paging = [c for c in callbacks if c not in others and c.__module__ != "config.auth"]
    assert len(paging) == 1
    escalation = incident.escalation
    assert escalation.state == EscalationState.ACTIVE
    assert escalation.next_escalation_at == NOW + timedelta(minutes=15)


def test_paging_steps_appear_on_the_incident_timeline(service, team_roster, staffed_imoc):
    incident = make_incident(severity=1, faulty_service=service)

    entries = list(incident.timeline.filter(kind=EntryKind.PAGE).values_list("text", flat=True))
    assert entries
    assert any("paging started" in text for text in entries)


def test_unknown_service_pages_the_imoc(staffed_imoc):
    incident = make_incident(severity=2, faulty_service=Service.objects.get(slug="unknown"))
    assert pages(incident) == [("ivo", PageReason.IMOC, PageState.PENDING)]


def test_team_roster_with_nobody_pages_the_imoc(service, make_roster, team, staffed_imoc):
    make_roster("payments-im", team=team)
    incident = make_incident(severity=1, faulty_service=service)
    assert pages(incident) == [("ivo", PageReason.IMOC, PageState.PENDING)]
    assert incident.paging_events.filter(kind=EventKind.NOBODY).exists()


def test_nobody_on_call_anywhere_is_recorded_not_lost(service, imoc):
    incident = make_incident(severity=1, faulty_service=service)
    assert pages(incident) == []
    assert incident.paging_events.filter(kind=EventKind.NOBODY).count() == 1
    assert incident.escalation.state == EscalationState.ACTIVE


def test_severity_3_emails_the_owning_team_and_pages_nobody(service, team_roster):
    incident = make_incident(severity=3, faulty_service=service)
    assert pages(incident) == [("payments@example.com", PageReason.TEAM_EMAIL, PageState.PENDING)]
    assert not Escalation.objects.filter(incident=incident).exists()


def test_raising_to_2_pages_and_lowering_to_3_stops_escalation(service, team_roster, manager):
    incident = make_incident(severity=3, faulty_service=service)
    incident_actions.change_severity(incident, severity=2, by=manager)
    assert ("pia", PageReason.INCIDENT, PageState.PENDING) in pages(incident)
    incident_actions.change_severity(incident, severity=3, by=manager)
    assert ("pia", PageReason.INCIDENT, PageState.CANCELLED) in pages(incident)
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.state == EscalationState.STOPPED
    assert escalation.next_escalation_at is None
    assert incident.paging_events.filter(
        kind=EventKind.STOPPED, text__contains="lowered to 3"
    ).exists()


def test_raising_between_1_and_2_does_not_page_again(service, team_roster, manager):
    incident = make_incident(severity=2, faulty_service=service)
    incident_actions.change_severity(incident, severity=1, by=manager)
    assert len(pages(incident)) == 1


def test_delivery_sends_key_severity_summary_and_links_once(service, team_roster):
    incident = make_incident(severity=1, faulty_service=service, summary="Checkout down")
    page = incident.pages.get()
    assert delivery.deliver(page.pk) == ("sent on attempt 1", None)
    [message] = mail.outbox
    assert message.subject == f"[PAGE] {incident.key} - 1 - Checkout down"
    assert f"https://hotline.example/incidents/{incident.key}/" in message.body
    assert "https://hotline.example/oncall/ack/" in message.body
    assert message.extra_headers["Message-ID"] == f"<page-{page.idempotency_key}@hotline.local>"
    page.refresh_from_db()
    assert page.state == PageState.SENT
    assert page.attempts.get().ok
    # A second run (a redelivered task) changes nothing and sends nothing.
    assert delivery.deliver(page.pk)[0].startswith("nothing to do")
    assert len(mail.outbox) == 1
    assert page.attempts.count() == 1


def test_signed_webhook_carries_idempotency_key_and_signature(service, team_roster):
    pia = team_roster.participants.get().user
    with HttpReceiver() as receiver:
        actions.add_contact_method(
            pia, kind="webhook", target=receiver.url + "/hook", secret="s3", by=pia
        )
        incident = make_incident(severity=1, faulty_service=service)
        page = incident.pages.get()
        delivery.deliver(page.pk)
    [request] = receiver.requests
    assert request.headers["Idempotency-Key"] == str(page.idempotency_key)
    assert request.json()["incident"]["key"] == incident.key
    from comms.transports import webhook

    assert webhook.verify("s3", request.headers["X-Hotline-Signature"], request.body)


def test_transient_failures_retry_with_backoff_then_deliver(service, team_roster, time_machine):
    pia = team_roster.participants.get().user
    with HttpReceiver(fail_first=2) as receiver:
        ContactMethod.objects.create(user=pia, kind="slack", target=receiver.url)
        page = make_incident(severity=1, faulty_service=service).pages.get()
        assert delivery.deliver(page.pk) == (
            "attempt 1 failed (slack: HTTP 503 from 127.0.0.1)",
            2.0,
        )
        # Not due yet: a duplicate message does nothing before the backoff is over.
        assert delivery.deliver(page.pk)[0].startswith("nothing to do")
        time_machine.shift(timedelta(seconds=2))
        assert delivery.deliver(page.pk)[1] == 4.0
        time_machine.shift(timedelta(seconds=4))
        assert delivery.deliver(page.pk) == ("sent on attempt 3", None)
    assert len(receiver.requests) == 1
    assert [a.ok for a in page.attempts.all()] == [False, False, True]


def test_permanent_failure_fails_the_page_and_escalates_at_once(service, team_roster):
    pia = team_roster.participants.get().user
    with HttpReceiver(status=404) as receiver:
        ContactMethod.objects.create(user=pia, kind="webhook", target=receiver.url)
        incident = make_incident(severity=1, faulty_service=service)
        page = incident.pages.get()
        delivery.deliver(page.pk)
    page.refresh_from_db()
    assert page.state == PageState.FAILED
    assert incident.paging_events.filter(kind=EventKind.FAILED).exists()
    assert Escalation.objects.get(incident=incident).next_escalation_at == NOW


def test_retries_run_out_then_the_page_fails(service, team_roster, time_machine, settings):
    settings.ONCALL_RETRY_BACKOFF = [1.0]
    pia = team_roster.participants.get().user
    with HttpReceiver(fail_first=10) as receiver:
        ContactMethod.objects.create(user=pia, kind="webhook", target=receiver.url)
        page = make_incident(severity=1, faulty_service=service).pages.get()
        delivery.deliver(page.pk)
        time_machine.shift(timedelta(seconds=1))
        assert delivery.deliver(page.pk) == ("failed after 2 attempts", None)
    page.refresh_from_db()
    assert page.state == PageState.FAILED


def test_acknowledging_stops_escalation_without_claiming(service, team_roster):
    incident = make_incident(severity=1, faulty_service=service)
    page = incident.pages.get()
    actions.acknowledge_page(page, by=page.user)
    page.refresh_from_db()
    incident.refresh_from_db()
    assert page.state == PageState.ACKNOWLEDGED
    assert page.acknowledged_by == page.user
    assert incident.escalation.state == EscalationState.ACKNOWLEDGED
    assert incident.assignee is None
    assert tasks.escalate() == 0


def test_claiming_acknowledges_the_escalation_so_the_next_step_pages_nobody(
    service, team_roster, policy, manager, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)

    incident_actions.claim_incident(incident, by=manager)

    escalation = Escalation.objects.get(incident=incident)
    assert escalation.state == EscalationState.ACKNOWLEDGED
    assert escalation.next_escalation_at is None
    page = incident.pages.get()
    assert (page.state, page.acknowledged_by, page.acknowledged_at) == (
        PageState.ACKNOWLEDGED,
        manager,
        NOW,
    )
    entry = incident.timeline.get(kind=EntryKind.PAGE, data__step=EventKind.ACKNOWLEDGED)
    assert (entry.author, entry.occurred_at) == (manager, NOW)
    assert entry.text == "maya acknowledged the page (claimed the incident)."
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 0
    assert pages(incident) == [("pia", PageReason.INCIDENT, PageState.ACKNOWLEDGED)]


def test_claiming_stops_an_escalation_that_found_nobody_to_page(
    service, imoc, policy, manager, time_machine
):
    policy.steps.get(position=0).roster.participants.all().delete()
    incident = make_incident(severity=1, faulty_service=service)
    assert pages(incident) == []

    incident_actions.claim_incident(incident, by=manager)

    assert Escalation.objects.get(incident=incident).state == EscalationState.STOPPED
    event = incident.paging_events.get(kind=EventKind.STOPPED)
    assert event.by == manager
    assert event.text == "Escalation stopped: claimed the incident."
    time_machine.shift(timedelta(minutes=10))
    assert tasks.escalate() == 0
    assert pages(incident) == []


def test_handing_over_or_releasing_a_claimed_incident_pages_nobody(
    service, team_roster, policy, manager, other_manager, time_machine
):
    incident = incident_actions.claim_incident(
        make_incident(severity=1, faulty_service=service), by=manager
    )
    acknowledged = incident.timeline.filter(data__step=EventKind.ACKNOWLEDGED)
    assert acknowledged.count() == 1

    incident_actions.assign_incident(incident, assignee=other_manager, by=manager)
    incident_actions.assign_incident(incident, assignee=None, by=other_manager)

    assert acknowledged.count() == 1
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 0
    assert pages(incident) == [("pia", PageReason.INCIDENT, PageState.ACKNOWLEDGED)]


def test_sweep_reenqueues_pages_left_pending(service, team_roster, time_machine):
    page = make_incident(severity=1, faulty_service=service).pages.get()
    assert actions.pending_pages_due(NOW - timedelta(seconds=10)) == []
    time_machine.shift(timedelta(seconds=11))
    assert actions.pending_pages_due(NOW + timedelta(seconds=1)) == [page.pk]


@pytest.fixture
def policy(team, make_roster, service):
    second = make_roster("payments-backup", people=["bea"], team=team, start_date=date(2026, 1, 5))
    policy = EscalationPolicy.objects.create(team=team, repeat=1)
    EscalationStep.objects.create(policy=policy, position=0, wait_minutes=5, roster=second)
    EscalationStep.objects.create(
        policy=policy, position=1, wait_minutes=10, user=UserFactory(username="lea")
    )
    return policy


def test_escalation_steps_fire_in_order_on_time(
    service, team_roster, staffed_imoc, policy, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)
    expected = [("pia", "incident")]

    def fired():
        return [(p.recipient, p.reason) for p in incident.pages.order_by("pk")]

    schedule = [(5, "bea"), (10, "lea"), (5, "bea"), (10, "lea")]
    for wait, who in schedule:
        time_machine.shift(timedelta(minutes=wait) - timedelta(seconds=1))
        assert tasks.escalate() == 0, "fired early"
        assert fired() == expected
        time_machine.shift(timedelta(seconds=1))
        assert tasks.escalate() == 1
        expected.append((who, "escalation"))
        assert fired() == expected
    # Repeated once: then the IMOC, after the first step's wait, and nothing more.
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 1
    assert fired()[-1] == ("ivo", "imoc")
    time_machine.shift(timedelta(hours=1))
    assert tasks.escalate() == 0
    assert Escalation.objects.get(incident=incident).state == EscalationState.EXHAUSTED


def test_late_ticks_do_not_push_the_later_steps_back(
    service, team_roster, staffed_imoc, policy, time_machine
):
    incident = make_incident(severity=1, faulty_service=service)
    planned = NOW
    # Each step is planned from the one before it, whatever time the tick ran it.
    for wait in (5, 10, 5, 10, 5):  # bea, lea, bea, lea (repeated once), then the IMOC
        planned += timedelta(minutes=wait)
        assert Escalation.objects.get(incident=incident).next_escalation_at == planned
        time_machine.move_to(planned + timedelta(minutes=3))
        assert tasks.escalate() == 1
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.state == EscalationState.EXHAUSTED
    assert [p.recipient for p in incident.pages.order_by("pk")] == [
        "pia",
        "bea",
        "lea",
        "bea",
        "lea",
        "ivo",
    ]


def test_after_an_outage_each_step_still_gets_its_whole_wait(
    service, team_roster, policy, time_machine
):
    # Beat and workers down 20 minutes: bea was due at 5, lea at 15. bea is paged at
    # once, then given her whole wait (10 minutes) instead of lea following at the
    # next tick, 15 s later.
    incident = make_incident(severity=1, faulty_service=service)
    back = NOW + timedelta(minutes=20)
    time_machine.move_to(back)

    assert tasks.escalate() == 1
    assert Escalation.objects.get(incident=incident).next_escalation_at == back + timedelta(
        minutes=10
    )
    time_machine.move_to(back + timedelta(minutes=10) - timedelta(seconds=1))
    assert tasks.escalate() == 0, "lea paged before bea's wait was over"
    time_machine.move_to(back + timedelta(minutes=10))
    assert tasks.escalate() == 1
    # On time again: the next step counts from the planned time.
    assert Escalation.objects.get(incident=incident).next_escalation_at == back + timedelta(
        minutes=15
    )
    assert [p.recipient for p in incident.pages.order_by("pk")] == ["pia", "bea", "lea"]


def test_step_with_nobody_on_call_moves_to_the_next_at_once(
    service, team_roster, staffed_imoc, policy, time_machine
):
    policy.steps.get(position=0).roster.participants.all().delete()
    incident = make_incident(severity=1, faulty_service=service)
    time_machine.shift(timedelta(minutes=5))
    tasks.escalate()
    assert [p.recipient for p in incident.pages.order_by("pk")] == ["pia", "lea"]


def test_resolving_stops_escalation(service, team_roster, manager):
    incident = make_incident(severity=1, faulty_service=service)
    incident_actions.transition_incident(incident, to="resolved", by=manager, impact_ended_at=NOW)
    assert Escalation.objects.get(incident=incident).state == EscalationState.STOPPED


def test_manual_page_of_a_named_person_or_a_roster(service, team_roster, manager, make_roster):
    incident = make_incident(severity=3, faulty_service=service)
    bea = UserFactory(username="bea")
    actions.page_manually(incident, by=manager, user=bea, message="Need the DB expert")
    actions.page_manually(incident, by=manager, roster=team_roster, message="Join HOT chat")
    assert [(p.recipient, p.reason, p.message) for p in incident.pages.filter(reason="manual")] == [
        ("bea", "manual", "Need the DB expert"),
        ("pia", "manual", "Join HOT chat"),
    ]
    assert PagingEvent.objects.filter(incident=incident, kind=EventKind.MANUAL).count() == 2


def test_manual_page_needs_a_message_and_a_target(service, manager, make_roster):
    incident = make_incident(severity=3, faulty_service=service)
    with pytest.raises(ActionRefused) as refused:
        actions.page_manually(incident, by=manager, user=manager, message=" ")
    assert refused.value.field == "message"
    with pytest.raises(ActionRefused) as refused:
        actions.page_manually(incident, by=manager, roster=make_roster("empty"), message="help")
    assert refused.value.field == "roster"
    assert not Page.objects.filter(reason="manual").exists()


def test_fatigue_providers_count_pages_and_name_who_is_next(service, make_roster, team, manager):
    from oncall import selectors

    roster = make_roster(
        "payments-im", people=["pia", "pat"], team=team, start_date=date(2026, 1, 5)
    )
    pia = roster.participants.get(position=0).user
    incident = make_incident(severity=1, faulty_service=service)
    actions.page_manually(incident, by=manager, user=pia, message="again")
    counts = selectors.pages_received([pia.pk, manager.pk], NOW - timedelta(hours=24))
    assert counts == {pia.pk: 2}
    assert selectors.next_responder(incident, pia).username == "pat"
    assert selectors.next_responder(incident, manager) is None


def test_the_fatigue_card_gets_its_page_counts_and_next_responder_from_on_call():
    from incidents.workspace import fatigue
    from oncall import selectors

    assert fatigue._page_counter is selectors.pages_received
    assert fatigue._next_responder is selectors.next_responder
