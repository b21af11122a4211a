"""A receiver down for long: retries span the outage, a channel that gives up is said,
a page that reaches nobody escalates at once; being paged lets one open the incident.

Real database, real local receivers (aiosmtpd, a local HTTP server), time moved with
time-machine.
"""

import importlib
from datetime import UTC, date, datetime, timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.urls import reverse

from incidents.models import EntryKind, Incident, Involvement
from oncall import actions, delivery, selectors, tasks
from oncall.models import (
    ContactMethod,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    EventKind,
    Page,
    PageReason,
    PageState,
)
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident
from tests.receivers import HttpReceiver

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DOWN = 10**6  # the receiver answers 503 to every request


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def service(team):
    return ServiceFactory(slug="checkout", name="Checkout", team=team)


@pytest.fixture
def pia(make_roster, team):
    roster = make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    person = roster.participants.get().user
    person.groups.add(Group.objects.get(name="responder"))
    return person


@pytest.fixture
def backup_step(team, make_roster):
    """After 5 minutes unacknowledged, bea (the backup roster) is paged."""
    backup = make_roster("payments-backup", people=["bea"], team=team, start_date=date(2026, 1, 5))
    policy = EscalationPolicy.objects.create(team=team)
    return EscalationStep.objects.create(policy=policy, position=0, wait_minutes=5, roster=backup)


def retry_until_settled(page, time_machine, first=None):
    """Deliver as the workers would: each retry when the sweep hands the page out.
    ``first``: what the first try returned, when the test made it itself."""
    waits = []
    outcome, wait = first or delivery.deliver(page.pk)
    while wait is not None:
        waits.append(wait)
        due = Page.objects.get(pk=page.pk).next_attempt_at
        time_machine.move_to(due - timedelta(milliseconds=1), tick=False)
        assert page.pk not in actions.pending_pages_due(due - timedelta(milliseconds=1))
        time_machine.move_to(due, tick=False)
        # The sweep finds the retry by its due time on the row, without the first-try grace.
        assert page.pk in actions.pending_pages_due(due, grace=timedelta(seconds=10))
        outcome, wait = delivery.deliver(page.pk)
    return outcome, waits


def test_retries_cover_a_half_hour_outage_with_capped_doubling_waits(
    service, pia, smtp, time_machine
):
    with HttpReceiver(fail_first=DOWN) as hook:
        ContactMethod.objects.create(user=pia, kind="webhook", target=hook.url)
        ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
        page = make_incident(severity=1, faulty_service=service).pages.get()
        outcome, waits = retry_until_settled(page, time_machine)

    assert waits[:9] == [2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert max(waits) == 300
    assert sum(waits) >= 30 * 60
    assert hook.attempts == len(waits) + 1 == 14
    # The e-mail went once, on the first try; the webhook alone was retried.
    assert len(smtp.messages) == 1
    assert outcome == "sent on attempt 14"
    page.refresh_from_db()
    assert page.state == PageState.SENT


def test_a_channel_that_gives_up_is_on_the_timeline_and_the_panel(
    service, pia, smtp, time_machine, manager, client_for
):
    with HttpReceiver(fail_first=DOWN) as hook:
        ContactMethod.objects.create(user=pia, kind="webhook", target=hook.url)
        ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
        incident = make_incident(severity=1, faulty_service=service)
        page = incident.pages.get()
        first = delivery.deliver(page.pk)
        url = reverse("incidents:detail", args=[incident.key])

        # While it retries, the panel says so per channel, with the next try.
        html = client_for(manager).get(url).content.decode()
        assert 'class="channel-delivered" data-channel="email"' in html
        assert 'class="channel-retrying" data-channel="webhook"' in html
        assert "next try at" in html

        retry_until_settled(page, time_machine, first)

    entry = incident.timeline.get(kind=EntryKind.PAGE, text__contains="gave up")
    # The webhook's URL is a credential: named by its kind and host only.
    assert entry.text == (
        "Page to pia: Signed JSON webhook (127.0.0.1) gave up after 14 tries: "
        "HTTP 503 from 127.0.0.1"
    )
    assert incident.paging_events.filter(kind=EventKind.FAILED, text=entry.text).exists()
    states = {s.channel: (s.status, s.tries) for s in selectors.channel_states(page)}
    assert states == {"email": ("delivered", 1), "webhook": ("failed", 14)}
    html = client_for(manager).get(url).content.decode()
    assert 'class="channel-failed" data-channel="webhook"' in html
    assert "HTTP 503 from 127.0.0.1, after 14 tries" in html
    assert hook.url not in html
    assert 'class="channel-delivered" data-channel="email"' in html


def test_the_api_says_where_each_channel_stands(service, pia, smtp, manager, api_for):
    with HttpReceiver(status=404) as hook:
        ContactMethod.objects.create(user=pia, kind="webhook", target=hook.url)
        ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
        incident = make_incident(severity=1, faulty_service=service)
        delivery.deliver(incident.pages.get().pk)
    response = api_for(manager).get(f"/api/oncall/incidents/{incident.key}/pages/")
    assert response.status_code == 200, response.content
    [page] = response.json()
    assert page["state"] == "sent"
    assert {c["channel"]: (c["status"], c["why"]) for c in page["channels"]} == {
        "email": ("delivered", ""),
        "webhook": ("failed", "HTTP 404 from 127.0.0.1"),
    }


def test_a_first_try_that_reaches_nobody_escalates_at_once(service, pia, backup_step):
    with HttpReceiver(fail_first=DOWN) as hook:
        ContactMethod.objects.create(user=pia, kind="webhook", target=hook.url)
        incident = make_incident(severity=1, faulty_service=service)
        page = incident.pages.get()
        assert delivery.deliver(page.pk)[1] == 2.0

    escalation = Escalation.objects.get(incident=incident)
    assert escalation.next_escalation_at == NOW  # not NOW + 5 minutes
    assert tasks.escalate() == 1
    assert [(p.recipient, p.reason) for p in incident.pages.order_by("pk")] == [
        ("pia", PageReason.INCIDENT),
        ("bea", PageReason.ESCALATION),
    ]
    assert incident.paging_events.filter(
        kind=EventKind.FAILED, text="Page to pia reached nobody: escalating now."
    ).exists()
    # pia's page keeps retrying; running the escalation again changes nothing.
    assert Page.objects.get(pk=page.pk).state == PageState.PENDING
    assert tasks.escalate() == 0


def test_a_later_failing_try_does_not_escalate_again(service, pia, backup_step, time_machine):
    with HttpReceiver(fail_first=DOWN) as hook:
        ContactMethod.objects.create(user=pia, kind="webhook", target=hook.url)
        ContactMethod.objects.create(user=pia, kind="slack", target=hook.url + "/slack")
        incident = make_incident(severity=1, faulty_service=service)
        page = incident.pages.get()
        delivery.deliver(page.pk)
        assert tasks.escalate() == 1
        time_machine.shift(timedelta(seconds=2))
        delivery.deliver(page.pk)
    assert tasks.escalate() == 0
    assert incident.pages.count() == 2


def test_a_first_try_delivered_somewhere_waits_out_the_step(service, pia, backup_step, smtp):
    with HttpReceiver(fail_first=DOWN) as hook:
        ContactMethod.objects.create(user=pia, kind="webhook", target=hook.url)
        ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")
        incident = make_incident(severity=1, faulty_service=service)
        delivery.deliver(incident.pages.get().pk)
    assert Escalation.objects.get(incident=incident).next_escalation_at == NOW + timedelta(
        minutes=5
    )
    assert tasks.escalate() == 0


def test_the_sweep_hands_out_a_dead_workers_page_when_its_short_lease_ends(
    service, pia, time_machine, settings
):
    page = make_incident(severity=1, faulty_service=service).pages.get()
    time_machine.shift(timedelta(seconds=settings.ONCALL_SWEEP_GRACE_SECONDS + 1))
    # A worker claimed it and died before recording anything.
    assert delivery._claim(page.pk) == 1
    now = NOW + timedelta(seconds=settings.ONCALL_SWEEP_GRACE_SECONDS + 1)
    lease = timedelta(seconds=settings.ONCALL_DELIVERY_LEASE_SECONDS)
    assert settings.ONCALL_DELIVERY_LEASE_SECONDS <= 6
    assert actions.pending_pages_due(now + lease - timedelta(milliseconds=1)) == []
    assert actions.pending_pages_due(now + lease + timedelta(milliseconds=1)) == [page.pk]


# Being paged involves a person in the incident -------------------------------------------


@pytest.fixture
def restricted(service, pia, support):
    return make_incident(by=support, severity=1, faulty_service=service, restricted=True)


def test_the_paged_on_call_person_can_open_the_restricted_incident(
    restricted, pia, client_for, api_for
):
    assert restricted.pages.get().user == pia
    assert client_for(pia).get(restricted.get_absolute_url()).status_code == 200
    assert api_for(pia).get(f"/api/incidents/{restricted.key}/").status_code == 200


def test_someone_never_paged_cannot_open_it(restricted, client_for, api_for):
    never_paged = UserFactory(username="nils", group="responder")
    assert client_for(never_paged).get(restricted.get_absolute_url()).status_code == 404
    assert api_for(never_paged).get(f"/api/incidents/{restricted.key}/").status_code == 404


def test_people_paged_before_involvement_are_involved_by_the_migration(restricted, pia):
    """Migration 0010, run twice: pages written before involvement existed count too."""
    migration = importlib.import_module("oncall.migrations.0010_involve_paged_people")
    Involvement.objects.filter(incident=restricted).delete()
    assert not Incident.objects.visible_to(pia).filter(pk=restricted.pk).exists()

    migration.involve_paged(django_apps, None)
    migration.involve_paged(django_apps, None)

    assert Incident.objects.visible_to(pia).filter(pk=restricted.pk).exists()
    assert Involvement.objects.filter(incident=restricted, person=pia).count() == 1
