"""Pages arrive in their recipient's language; the paging history and the page entries
of the timeline read in the reader's. Links, keys and machine values never change."""

import re
from datetime import date, timedelta
from email.header import decode_header, make_header

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from incidents import actions as incident_actions
from incidents import entry_texts
from incidents.actions.people import set_language
from incidents.models import EntryKind
from oncall import actions, delivery, tasks
from oncall.models import EscalationPolicy, EscalationStep, PageState, PagingEvent, StepKind
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.django_db(transaction=True)

HANGUL = re.compile(r"[가-힣]")


@pytest.fixture
def team_service(make_roster):
    team = TeamFactory(slug="payments", name="Payments")
    roster = make_roster("payments-im", people=["pia"], team=team, start_date=date(2026, 1, 5))
    return roster.participants.get().user, ServiceFactory(slug="checkout", team=team)


def _links(body):
    return re.findall(r"https?://\S+", body)


def test_a_korean_person_is_paged_in_korean_and_an_english_one_in_english(
    smtp, team_service, settings
):
    pia, service = team_service
    set_language(pia, "ko")
    korean_page = make_incident(severity=1, faulty_service=service, summary="Checkout down")
    korean_page = korean_page.pages.get()
    assert delivery.deliver(korean_page.pk)[0] == "sent on attempt 1"

    set_language(pia, "en")
    english_page = make_incident(severity=1, faulty_service=service, summary="Checkout down")
    english_page = english_page.pages.get()
    assert delivery.deliver(english_page.pk)[0] == "sent on attempt 1"

    korean, english = smtp.messages
    korean_body = korean.get_payload(decode=True).decode()
    english_body = english.get_payload(decode=True).decode()
    key = korean_page.incident.key
    # A header with Hangul arrives encoded (RFC 2047).
    assert str(make_header(decode_header(korean["Subject"]))) == (
        f"[호출] {key} - 1 - Checkout down"
    )
    assert "인시던트: " in korean_body
    assert "확인: " in korean_body
    assert "Acknowledge:" not in korean_body
    assert english["Subject"] == f"[PAGE] {english_page.incident.key} - 1 - Checkout down"
    assert "Acknowledge: " in english_body
    # The acknowledge link works whatever the language it was written in.
    [incident_link, ack_link] = _links(korean_body)
    assert incident_link.endswith(korean_page.incident.get_absolute_url())
    token = ack_link.rstrip("/").rsplit("/", 1)[1]
    assert ack_link.endswith(reverse("oncall:acknowledge_link", args=[token]))
    assert delivery.page_from_token(token) == korean_page.pk


def test_a_person_without_preferences_gets_the_portals_language(smtp, team_service, settings):
    pia, service = team_service
    settings.LANGUAGE_CODE = "ko"
    assert not hasattr(pia, "preferences")
    page = make_incident(severity=1, faulty_service=service, summary="Checkout down").pages.get()
    delivery.deliver(page.pk)
    [message] = smtp.messages
    assert "인시던트: " in message.get_payload(decode=True).decode()


def test_a_webhook_page_is_korean_text_around_unchanged_machine_values(team_service, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    pia, service = team_service
    set_language(pia, "ko")
    with HttpReceiver() as receiver:
        actions.add_contact_method(pia, kind="webhook", target=receiver.url, by=pia)
        page = make_incident(severity=1, faulty_service=service).pages.get()
        delivery.deliver(page.pk)
    [request] = receiver.requests
    body = request.json()
    assert (body["type"], body["reason"]) == ("page", page.reason)
    assert body["incident"]["severity"] == 1
    assert HANGUL.search(body["text"])
    with translation.override("ko"):
        assert body["text"].startswith(str(page.get_reason_display()))


def _check_events(incident):
    """Every paging event and page entry of ``incident``: English as stored, Korean else."""
    seen = set()
    events = list(PagingEvent.objects.filter(incident=incident))
    entries = list(incident.timeline.filter(kind=EntryKind.PAGE))
    assert len(events) == len(entries)
    for item in [*events, *entries]:
        text_id = item.data["text_id"]
        seen.add(text_id)
        with translation.override("en"):
            assert entry_texts.render(item) == item.text, text_id
        with translation.override("ko"):
            korean = entry_texts.render(item)
        assert HANGUL.search(korean), (text_id, korean)
    return seen


def test_paging_steps_read_in_korean(team_service, settings, manager, other_manager):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    pia, service = team_service
    incident = make_incident(severity=1, faulty_service=service, summary="Checkout down")
    page = incident.pages.get()
    actions.page_manually(incident, by=manager, message="Need the DB team", user=other_manager)
    with HttpReceiver(status=410) as receiver:
        actions.add_contact_method(pia, kind="webhook", target=receiver.url, by=pia)
        delivery.deliver(page.pk)  # e-mail and the webhook: the webhook gives up
    actions.acknowledge_page(page, by=pia, why="on it")
    low = make_incident(severity=3, faulty_service=service)  # e-mails the team's address
    claimed = make_incident(severity=1, faulty_service=service)
    incident_actions.claim_incident(claimed, by=manager)  # acknowledges its page

    seen = _check_events(incident) | _check_events(low) | _check_events(claimed)
    acknowledged = PagingEvent.objects.get(incident=claimed, kind="acknowledged")
    with translation.override("ko"):
        assert entry_texts.render(acknowledged) == "maya 님이 호출을 확인했습니다(인시던트를 맡음)."
    assert seen >= {
        "paging.started",
        "paging.paged_roster",
        "paging.manual",
        "paging.gave_up",
        "paging.acknowledged",
        "paging.team_emailed",
    }


def test_failed_cancelled_and_nobody_events_read_in_korean(make_roster, settings, manager):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team = TeamFactory(slug="search", name="Search")
    make_roster("search-im", people=["nomail"], team=team, start_date=date(2026, 1, 5))
    person = UserFactory(username="nomail")
    person.email = ""
    person.save()
    incident = make_incident(severity=1, faulty_service=ServiceFactory(team=team))
    page = incident.pages.get()
    delivery.deliver(page.pk)  # no way to reach them: failed, and escalating now
    page.refresh_from_db()
    assert page.state == PageState.FAILED
    restricted = make_incident(severity=3, faulty_service=ServiceFactory(team=team))
    team_page = restricted.pages.get()
    restricted.restricted = True
    restricted.save()
    delivery.deliver(team_page.pk)  # restricted since: the team address is not paged
    lowered = make_incident(severity=1, faulty_service=ServiceFactory(team=None))
    incident_actions.change_severity(lowered, severity=3, by=manager)
    secret = make_incident(severity=3, restricted=True, faulty_service=ServiceFactory(team=team))

    seen = {
        *_check_events(incident),
        *_check_events(restricted),
        *_check_events(lowered),
        *_check_events(secret),
    }
    assert seen >= {
        "paging.failed",
        "paging.reached_nobody",
        "paging.cancelled",
        "paging.nobody_on_call",
        "paging.stopped",
        "paging.team_restricted",
    }


def test_the_oncall_panel_shows_the_history_in_the_readers_language(
    team_service, settings, manager, client_for
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _, service = team_service
    incident = make_incident(severity=1, faulty_service=service)
    korean = client_for(manager, HTTP_ACCEPT_LANGUAGE="ko").get(incident.get_absolute_url())
    english = client_for(manager, HTTP_ACCEPT_LANGUAGE="en").get(incident.get_absolute_url())
    assert "심각도 1: 호출을 시작했습니다." in korean.content.decode()
    assert "Severity 1: paging started." in english.content.decode()


def test_an_old_event_without_facts_shows_its_text(team_service):
    _, service = team_service
    incident = make_incident(severity=3, faulty_service=service)
    old = PagingEvent.objects.create(incident=incident, kind="step", text="Paged pia.")
    with translation.override("ko"):
        assert entry_texts.render(old) == "Paged pia."


def test_escalation_steps_read_in_korean(team_service, make_roster, settings, time_machine):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_machine.move_to(timezone.now(), tick=False)
    _, service = team_service
    team = service.team
    backup = make_roster("payments-backup", people=["bea"], team=team, start_date=date(2026, 1, 5))
    gone, lea = UserFactory(username="gone"), UserFactory(username="lea")
    policy = EscalationPolicy.objects.create(team=team, repeat=0)
    steps = [{"user": gone}, {"kind": StepKind.TEAM}, {"roster": backup}, {"user": lea}]
    steps.append({"kind": StepKind.TEAM})
    for position, target in enumerate(steps):
        EscalationStep.objects.create(policy=policy, position=position, wait_minutes=1, **target)
    incident = make_incident(severity=1, faulty_service=service)
    # After the plan is frozen: the person leaves, the team is empty, the roster goes.
    gone.is_active = False
    gone.save()
    backup.delete()
    time_machine.shift(timedelta(minutes=1))
    assert tasks.escalate() == 1  # steps 1-3 reach nobody, step 4 pages lea
    team.members.set([lea])
    time_machine.shift(timedelta(minutes=1))
    assert tasks.escalate() == 1  # step 5 pages the whole team

    assert _check_events(incident) >= {
        "paging.step_gone_person",
        "paging.step_no_members",
        "paging.step_gone_roster",
        "paging.step_paged",
        "paging.step_paged_team",
    }
