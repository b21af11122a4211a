"""Outgoing messages in their reader's language, and the public page in the visitor's.

Mail goes through a real SMTP server and chat through a real HTTP receiver. A person reads
their own language, a list's bare addresses and a chat room the destination's, a
subscriber the one chosen at sign-up; the public page and its feed follow the browser,
else ``STATUS_PAGE_LANGUAGE``. Korean messages are checked as the portal crawl checks
pages (``tests.test_korean``): no English sentence left from the templates.
"""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from comms import actions, outbox, tasks
from comms import mail as comms_mail
from comms.maintenance import actions as maintenance_actions
from comms.models import (
    Audience,
    ChatMessage,
    ChatWebhook,
    DistributionList,
    Kind,
    OutboundEmail,
    Subscriber,
)
from comms.public import visitor_language
from incidents import actions as incident_actions
from incidents.models import Preferences, Status
from incidents.support import actions as support_actions
from tests.comms.conftest import complete_follow_up
from tests.conftest import wait_for
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident
from tests.receivers import HttpReceiver
from tests.test_korean import _english_left, _Text, _user_data

pytestmark = pytest.mark.django_db

KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9,en;q=0.5"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
ATOM = "{http://www.w3.org/2005/Atom}"
# Names kept as they are in Korean text besides the crawl's: a feed format, and the
# abbreviation of a time zone after a time ("14:05 UTC").
KEPT_HERE = {"Atom", "UTC", "KST"}


def english_left(texts: list[str]) -> list[str]:
    """The crawl's check of Korean text; the status page's configured name is data."""
    values = [*_user_data(), django_settings.COMMS_STATUS_PAGE_NAME]
    # A communication's bullets are shown without the dashes they were typed with.
    values += [value.lstrip("-*• ").strip() for value in values]
    data = sorted(set(values), key=len, reverse=True)
    return [run for run in _english_left(texts, data) if not set(run.split()) <= KEPT_HERE]


def subject(message: EmailMessage) -> str:
    # A long encoded subject starts on a folded line, so its unfolded value on a space.
    return str(message["Subject"]).strip()


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None, message["Subject"]
    return body.get_content()


def readable(message: EmailMessage) -> list[str]:
    """What a person reads in a mail: its subject, its text part, its HTML part's text."""
    texts = [subject(message), plain(message)]
    html = message.get_body(("html",))
    if html is not None:
        parser = _Text()
        parser.feed(html.get_content())
        texts += parser.chunks
    return texts


def send_mail() -> None:
    for pk in outbox.pending_rows(OutboundEmail):
        assert tasks.send_email(pk).startswith("sent to")


def send_chat() -> None:
    for pk in outbox.pending_rows(ChatMessage):
        assert tasks.send_chat(pk) == "HTTP 200"


def inbox(smtp) -> dict[str, list[EmailMessage]]:
    by_address: dict[str, list[EmailMessage]] = {}
    for message in smtp.messages:
        parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
        by_address.setdefault(str(parsed["To"]), []).append(parsed)
    return by_address


def speaks(person, language: str, zone: str = "") -> None:
    Preferences.objects.update_or_create(
        person=person, defaults={"language": language, "time_zone": zone}
    )


def publish(incident, by, audience, kind=Kind.INITIAL, **fields):
    draft = actions.draft_communication(incident, audience=audience, kind=kind, by=by, **fields)
    return actions.publish_communication(draft, by=by)


def subscribed(email: str, language: str) -> Subscriber:
    subscriber = actions.subscribe(email, language=language)
    actions.confirm_subscription(subscriber.confirm_token)
    OutboundEmail.objects.filter(to=email).delete()  # the confirmation: tested on its own
    return subscriber


# Staff mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(("list_language", "member_language"), [("ko", "en"), ("en", "ko")])
def test_one_send_writes_to_the_list_and_each_member_in_their_own_language(
    smtp, incident, manager, list_language, member_language
):
    team = TeamFactory()
    dana = UserFactory(username="dana", email="dana@example.com")
    quiet = UserFactory(username="quiet", email="quiet@example.com")  # chose no language
    team.members.add(dana, quiet)
    speaks(dana, member_language)
    staff = DistributionList.objects.create(
        name="Staff", addresses="list@example.com", is_default=True, language=list_language
    )
    staff.teams.add(team)

    publish(incident, manager, Audience.INTERNAL, Kind.FOLLOW_UP, **complete_follow_up())
    send_mail()

    mail = {address: messages[0] for address, messages in inbox(smtp).items()}
    assert set(mail) == {"list@example.com", "dana@example.com", "quiet@example.com"}
    korean = {a for a, m in mail.items() if HANGUL.search(plain(m))}
    # Someone without a language of their own reads the list's.
    expected = {"list@example.com", "quiet@example.com"} if list_language == "ko" else set()
    if member_language == "ko":
        expected.add("dana@example.com")
    assert korean == expected
    for address, message in mail.items():
        text = plain(message)
        if address in korean:
            assert "현재 상태:" in text
            assert "년" in text  # the next update's date as Korean writes dates
            assert english_left(readable(message)) == [], address
        else:
            assert "Current status:" in text
            assert "Next update:" in text


def test_a_korean_person_gets_times_in_their_own_zone(smtp, incident, manager):
    lead = UserFactory(username="jiwoo", email="jiwoo@example.com")
    speaks(lead, "ko", "Asia/Seoul")
    staff = DistributionList.objects.create(name="Staff", is_default=True)
    team = TeamFactory()
    team.members.add(lead)
    staff.teams.add(team)
    due = timezone.now().replace(hour=1, minute=30, second=0, microsecond=0) + timedelta(days=1)

    publish(
        incident,
        manager,
        Audience.INTERNAL,
        Kind.FOLLOW_UP,
        **complete_follow_up(next_update_at=due),
    )
    send_mail()

    [message] = inbox(smtp)["jiwoo@example.com"]
    text = plain(message)
    # 01:30 UTC is 10:30 in Seoul.
    assert "10:30" in text
    assert "KST" in text


# Subscribers ------------------------------------------------------------------------------


def test_a_subscriber_signs_up_in_korean_and_reads_korean_while_others_read_english(
    smtp, incident, manager, products
):
    page = Client(**KOREAN).get("/status/").content.decode()
    # The choice starts at the language the visitor reads the page in.
    assert '<option value="ko" selected>' in page

    answer = Client(**KOREAN).post("/status/subscribe/", {"email": "min@example.com"})
    assert answer.status_code == 302
    Client(**KOREAN).post("/status/subscribe/", {"email": "ann@example.com", "language": "en"})
    assert dict(Subscriber.objects.values_list("email", "language")) == {
        "min@example.com": "ko",
        "ann@example.com": "en",
    }
    send_mail()
    [confirmation] = inbox(smtp)["min@example.com"]
    assert HANGUL.search(subject(confirmation))
    assert english_left(readable(confirmation)) == []
    [english_confirmation] = inbox(smtp)["ann@example.com"]
    assert subject(english_confirmation).startswith("Confirm your subscription")
    for subscriber in Subscriber.objects.all():
        actions.confirm_subscription(subscriber.confirm_token)

    publish(incident, manager, Audience.EXTERNAL, summary="결제가 일부 실패합니다.")
    send_mail()

    [korean] = inbox(smtp)["min@example.com"][1:]
    [english] = inbox(smtp)["ann@example.com"][1:]
    assert subject(korean) == "Confluence 및 Jira 관련 이슈: 조사 중"
    assert english_left(readable(korean)) == []
    assert subject(english) == "Issue with Confluence and Jira: Investigating"
    assert "You receive this because you subscribed" in plain(english)


def test_signing_up_again_changes_the_language_until_it_is_confirmed(products):
    actions.subscribe("min@example.com", language="en")
    actions.subscribe("min@example.com", language="ko")
    assert Subscriber.objects.get().language == "ko"
    # The form is open to anyone: once confirmed, only the owner's mail may change it.
    actions.confirm_subscription(Subscriber.objects.get().confirm_token)
    actions.subscribe("min@example.com", language="en")
    assert Subscriber.objects.get().language == "ko"


def test_a_customer_reads_a_language_only_a_confirmed_subscription_chose(products):
    actions.subscribe("unconfirmed@example.com", language="ko")
    subscribed("confirmed@example.com", "ko")
    readers = comms_mail.customer_readers(["Unconfirmed@example.com", "confirmed@example.com"])
    assert readers["Unconfirmed@example.com"].language == django_settings.STATUS_PAGE_LANGUAGE
    assert readers["confirmed@example.com"].language == "ko"


def test_an_unknown_language_is_refused_and_nobody_subscribed(products):
    answer = Client().post("/status/subscribe/", {"email": "x@example.com", "language": "xx"})
    assert answer.status_code == 400
    assert not Subscriber.objects.exists()


# Chat ------------------------------------------------------------------------------------


def test_each_chat_destination_reads_its_own_language(manager, products):
    korean_service, english_service = ServiceFactory(), ServiceFactory()
    with HttpReceiver() as receiver:
        ChatWebhook.objects.create(
            team=korean_service.team, url=f"{receiver.url}/ko", format="slack", language="ko"
        )
        ChatWebhook.objects.create(
            team=english_service.team, url=f"{receiver.url}/en", format="teams_workflows"
        )
        for service in (korean_service, english_service):
            incident = make_incident(faulty_service=service, products=products, by=manager)
            incident = incident_actions.claim_incident(incident, by=manager)
            incident_actions.change_severity(incident, severity=1, by=manager)
            publish(incident, manager, Audience.INTERNAL)
        send_chat()
        requests = list(receiver.requests)

    korean = [r.json() for r in requests if r.path == "/ko"]
    english = [r.json() for r in requests if r.path == "/en"]
    assert len(korean) == len(english) >= 4
    for body in korean:
        assert HANGUL.search(body["text"]), body["text"]
        assert english_left([body["text"]]) == [], body["text"]
        [button] = body["blocks"][1]["elements"]
        assert button["text"]["text"] == "Hotline에서 열기"
    for body in english:
        card = body["attachments"][0]["content"]
        assert not HANGUL.search(card["body"][-1]["text"]), card
        assert card["actions"][0]["title"] == "Open in Hotline"


def test_webhook_payloads_keep_machine_values_whatever_the_language(manager, products):
    from comms.models import Webhook, WebhookDelivery, WebhookEvent

    speaks(manager, "ko")
    Webhook.objects.create(name="bot", url="http://127.0.0.1:9/", events=list(WebhookEvent.values))
    service = ServiceFactory()
    ChatWebhook.objects.create(team=service.team, url="http://127.0.0.1:9/", language="ko")
    incident = make_incident(faulty_service=service, products=products, by=manager)
    incident_actions.claim_incident(incident, by=manager)

    role = WebhookDelivery.objects.get(event=WebhookEvent.ROLE_CHANGED).payload["data"]["role"]
    assert role["label"] == "Incident manager"
    assert role["action"] == "claimed"


# Every mail in Korean ----------------------------------------------------------------------


def test_every_mail_reads_in_korean(smtp, time_machine, incident, manager, products):
    """Each kind of mail (internal update, review request, reminder, confirmation,
    status update, maintenance, customer follow-up) to Korean readers: no English left."""
    reviewer = UserFactory(username="cora", group="incident manager", email="cora@example.com")
    for person in (manager, reviewer):
        speaks(person, "ko")
    DistributionList.objects.create(
        name="Staff", addresses="leaders@example.com", is_default=True, language="ko"
    )
    subscribed("min@example.com", "ko")
    # The customer of a support case subscribed in Korean too.
    subscribed("ana@customer.example", "ko")
    publish(
        incident,
        manager,
        Audience.INTERNAL,
        Kind.FOLLOW_UP,
        **complete_follow_up(next_update_at=timezone.now() + timedelta(minutes=5)),
    )
    incident_actions.claim_incident(incident, by=manager)
    assert actions.send_due_reminders() == 1
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
    )
    actions.request_review(draft, reviewer=reviewer, by=manager)
    actions.publish_communication(draft, by=reviewer)
    actions.subscribe("new@example.com", language="ko")
    maintenance = maintenance_actions.plan_maintenance(
        title="DB 업그레이드",
        message="잠시 느려질 수 있습니다.",
        products=products,
        starts_at=timezone.now() + timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
        by=manager,
    )
    support_actions.upsert_case(
        reference="SD-7", customer_name="Ana", contact_email="ana@customer.example"
    )
    support_actions.label_cases(key=incident.key, references="SD-7", by=manager)
    incident_actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    time_machine.move_to(timezone.now() + timedelta(minutes=2))
    maintenance_actions.advance_maintenances()
    assert maintenance.updates.exists()

    send_mail()

    mail = inbox(smtp)
    kinds = {
        "leaders@example.com": 1,  # the internal update
        "cora@example.com": 1,  # the review request
        manager.email: 1,  # the reminder
        "new@example.com": 1,  # the confirmation
        "min@example.com": 2,  # the status update, the maintenance's start
        "ana@customer.example": 3,  # the same two, and the customer follow-up
    }
    assert {address: len(mail.get(address, [])) for address in kinds} == kinds
    for address in kinds:
        for message in mail[address]:
            # The internal update's subject is the incident's name: data, in any language.
            assert HANGUL.search(plain(message)), address
            assert english_left(readable(message)) == [], (address, message["Subject"])


# The public page and its feed -------------------------------------------------------------


def test_the_public_page_speaks_the_browsers_language_else_the_configured_one(
    settings, incident, manager
):
    publish(incident, manager, Audience.EXTERNAL)

    korean = Client(**KOREAN).get("/status/")
    assert '<html lang="ko">' in korean.content.decode()
    assert "현재 인시던트" in korean.content.decode()
    assert "Confluence 및 Jira 관련 이슈" in korean.content.decode()
    assert korean["Content-Language"] == "ko"
    assert "Accept-Language" in korean["Vary"]

    english = Client().get("/status/")
    assert "Current incidents" in english.content.decode()
    assert english["Content-Language"] == "en"

    # Not the portal's LANGUAGE_CODE: the page's own setting.
    settings.STATUS_PAGE_LANGUAGE = "ko"
    assert settings.LANGUAGE_CODE == "en"
    assert "현재 인시던트" in Client().get("/status/").content.decode()
    assert "현재 인시던트" in Client(HTTP_ACCEPT_LANGUAGE="fr-FR").get("/status/").content.decode()
    assert (
        "Current incidents" in Client(HTTP_ACCEPT_LANGUAGE="en-GB").get("/status/").content.decode()
    )


def test_a_signed_in_persons_own_language_wins(client_for, manager):
    speaks(manager, "ko")
    page = client_for(manager).get("/status/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "현재 인시던트" in page


@given(st.text(max_size=60))
def test_any_accept_language_header_gives_a_language_the_portal_speaks(header):
    request = RequestFactory().get("/status/", HTTP_ACCEPT_LANGUAGE=header)
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert visitor_language(request) in dict(django_settings.LANGUAGES)


def test_the_public_page_reads_in_korean(incident, manager, products):
    """The crawl's check on the whole public page in Korean: incidents, history, uptime,
    maintenance and the sign-up form."""
    publish(incident, manager, Audience.EXTERNAL, summary="결제가 일부 실패합니다.")
    older = make_incident(summary="Old", products=products[:1], by=manager)
    publish(older, manager, Audience.EXTERNAL, Kind.FINAL, summary="복구되었습니다.")
    maintenance_actions.plan_maintenance(
        title="DB 업그레이드",
        message="잠시 느려질 수 있습니다.",
        products=products,
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=1),
        by=manager,
    )

    page = Client(**KOREAN).get("/status/")

    parser = _Text()
    parser.feed(page.content.decode())
    assert english_left(parser.chunks) == []
    # The names stored at publishing are English (data to the check above); the page,
    # its uptime history's tooltips too, names the incidents in Korean.
    assert "Issue with" in older.page_incidents.get().name
    assert "Issue with" not in page.content.decode()
    assert "Jira 관련 이슈" in page.content.decode()


def test_the_feed_speaks_the_readers_language_with_its_own_etag(settings, incident, manager):
    publish(incident, manager, Audience.EXTERNAL)

    korean = Client(**KOREAN).get("/status/feed.atom")
    english = Client().get("/status/feed.atom")

    assert korean["ETag"] != english["ETag"]
    assert "Accept-Language" in korean["Vary"]
    feed = ET.fromstring(korean.content)
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "ko"
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == "Confluence 및 Jira 관련 이슈: 조사 중"
    english_entry = ET.fromstring(english.content).find(f"{ATOM}entry")
    assert (
        english_entry.find(f"{ATOM}title").text == "Issue with Confluence and Jira: Investigating"
    )
    # A reader revalidates in its own language; another language's ETag is no match.
    again = Client(**KOREAN).get("/status/feed.atom", HTTP_IF_NONE_MATCH=korean["ETag"])
    assert again.status_code == 304
    other = Client(**KOREAN).get("/status/feed.atom", HTTP_IF_NONE_MATCH=english["ETag"])
    assert other.status_code == 200
    # Without Accept-Language, the status page's configured language.
    settings.STATUS_PAGE_LANGUAGE = "ko"
    assert Client().get("/status/feed.atom")["ETag"] == korean["ETag"]


@pytest.mark.parametrize("url", ["/api/v2/summary.json", "/api/v2/status.json"])
def test_the_statuspage_json_keeps_its_machine_values_in_korean(incident, manager, url):
    publish(incident, manager, Audience.EXTERNAL)

    korean = Client(**KOREAN).get(url)
    english = Client().get(url)

    assert korean.json()["status"] == {
        "indicator": "major",
        "description": "Partial System Outage",
    }
    assert korean.content == english.content
    assert korean["ETag"] == english["ETag"]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_mails_each_subscriber_in_their_language(
    worker, smtp, incident, manager, products
):
    """The way it runs: sign-ups over HTTP, commits, a worker sending through SMTP."""
    for email, headers in (("min@example.com", KOREAN), ("ann@example.com", {})):
        assert Client(**headers).post("/status/subscribe/", {"email": email}).status_code == 302
    assert wait_for(lambda: len(smtp.messages) == 2), [m["To"] for m in smtp.messages]
    for subscriber in Subscriber.objects.all():
        actions.confirm_subscription(subscriber.confirm_token)

    publish(incident, manager, Audience.EXTERNAL, summary="결제가 일부 실패합니다.")

    assert wait_for(lambda: len(smtp.messages) == 4), [m["To"] for m in smtp.messages]
    mail = inbox(smtp)
    assert [subject(m) for m in mail["min@example.com"]][1] == (
        "Confluence 및 Jira 관련 이슈: 조사 중"
    )
    assert [subject(m) for m in mail["ann@example.com"]][1] == (
        "Issue with Confluence and Jira: Investigating"
    )
