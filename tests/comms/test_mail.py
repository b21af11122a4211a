"""The headers of every mail, received by a real SMTP server and parsed with ``email``:
RFC 3834 ``Auto-Submitted`` on all of them, RFC 2369/8058 list headers on subscriber mail,
one-click unsubscribe without cookies or CSRF, confirmation by POST only."""

import re
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from comms import actions, outbox, tasks
from comms.models import Audience, Kind, OutboundEmail, Subscriber
from incidents import actions as incident_actions
from incidents.models import Status
from incidents.support import actions as support_actions
from tests.comms.conftest import complete_follow_up
from tests.factories import UserFactory

DOMAIN = "mail.hotline.example"
SITE = "https://status.hotline.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.COMMS_MESSAGE_ID_DOMAIN = DOMAIN
    settings.DEFAULT_FROM_EMAIL = "Hotline <hotline@hotline.example>"
    settings.COMMS_UNSUBSCRIBE_ADDRESS = ""


def send_pending() -> None:
    for pk in outbox.pending_rows(OutboundEmail):
        assert tasks.send_email(pk).startswith("sent to")


def received(smtp, to: str) -> list[EmailMessage]:
    # Parsed again with the modern policy: its get_body picks the text or the HTML part.
    return [
        message_from_bytes(message.as_bytes(), policy=policy.default)
        for message in smtp.messages
        if message["To"] == to
    ]


def list_unsubscribe(message: Message) -> tuple[str, str]:
    """The https and the mailto URI of a List-Unsubscribe header (RFC 2369 <...> list)."""
    uris = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    https = [uri for uri in uris if uri.startswith("https://")]
    mailto = [uri for uri in uris if uri.startswith("mailto:")]
    assert len(https) == 1, uris
    assert len(mailto) == 1, uris
    return https[0], mailto[0]


def confirmed(email: str, products=()) -> Subscriber:
    subscriber = actions.subscribe(email, products=products)
    actions.confirm_subscription(subscriber.confirm_token)
    OutboundEmail.objects.filter(to=email).delete()  # the confirmation: tested on its own
    return subscriber


def publish(incident, by, audience, kind=Kind.INITIAL, **fields):
    draft = actions.draft_communication(incident, audience=audience, kind=kind, by=by, **fields)
    return actions.publish_communication(draft, by=by)


# Subscriber mail ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_status_update_to_a_subscriber_carries_the_list_headers(
    smtp, incident, manager, products
):
    confirmed("cust@example.com")

    publish(incident, manager, Audience.EXTERNAL)
    send_pending()

    [message] = received(smtp, "cust@example.com")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Precedence"] == "bulk"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = list_unsubscribe(message)
    assert https.startswith(f"{SITE}/status/unsubscribe/")
    assert mailto.startswith("mailto:hotline@hotline.example?")
    assert parseaddr(message["Message-ID"])[1].endswith(f"@{DOMAIN}")
    # The link in the text is the header's: one way to unsubscribe, whichever is used.
    assert https in message.get_body(("plain",)).get_content()


@pytest.mark.django_db(transaction=True)
def test_one_click_unsubscribe_works_without_cookies_or_a_csrf_token(
    smtp, incident, manager, products
):
    confirmed("cust@example.com")
    confirmed("other@example.com")
    publish(incident, manager, Audience.EXTERNAL)
    send_pending()
    [message] = received(smtp, "cust@example.com")
    path = urlsplit(list_unsubscribe(message)[0]).path
    # A mail client: no session, no CSRF cookie, CSRF checks enforced as in production.
    mail_client = Client(enforce_csrf_checks=True)

    response = mail_client.post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["other@example.com"]
    # A repeat (clients retry) finds nobody and changes nothing.
    assert mail_client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 404
    assert Subscriber.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_forged_unsubscribe_link_removes_nobody(products):
    subscriber = confirmed("cust@example.com")
    client = Client(enforce_csrf_checks=True)

    for token in (subscriber.unsubscribe_token, f"{subscriber.unsubscribe_token}:forged", "x"):
        response = client.post(f"/status/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 404
        assert client.get(f"/status/unsubscribe/{token}/").status_code == 404
    assert Subscriber.objects.filter(email="cust@example.com").exists()


# Confirmation -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_confirmation_mail_has_text_html_and_unsubscribe_but_is_not_bulk(smtp, products):
    Client().post("/status/subscribe/", {"email": "new@example.com"})
    send_pending()

    [message] = received(smtp, "new@example.com")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Precedence"] is None  # one mail the person asked for, not a mailing
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    list_unsubscribe(message)
    subscriber = Subscriber.objects.get()
    link = f"{SITE}/status/confirm/{subscriber.confirm_token}/"
    assert link in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",))
    assert html is not None
    assert f'href="{link}"' in html.get_content()


@pytest.mark.django_db(transaction=True)
def test_opening_the_confirmation_link_confirms_nothing_until_the_button_is_pressed(products):
    subscriber = actions.subscribe("new@example.com")
    url = f"/status/confirm/{subscriber.confirm_token}/"
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(url)

    # What a mail scanner does: it follows the link, and nothing happens.
    assert page.status_code == 200
    assert not Subscriber.objects.get().confirmed
    body = page.content.decode()
    assert f'action="{url}"' in body
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert csrf is not None
    assert browser.post(url, {"csrfmiddlewaretoken": csrf.group(1)}).status_code == 200
    assert Subscriber.objects.get().confirmed
    # The link opened again says so, with no button.
    assert "Subscription confirmed" in browser.get(url).content.decode()


@pytest.mark.django_db
def test_an_unknown_confirmation_link_is_404_on_get_and_post(db):
    assert Client().get("/status/confirm/nope/").status_code == 404
    assert Client().post("/status/confirm/nope/").status_code == 404


# Every other mail ---------------------------------------------------------------------


@pytest.mark.django_db
def test_every_automatic_mail_is_auto_generated_and_only_subscriber_mail_is_a_list(
    smtp, time_machine, incident, manager, staff_list, products
):
    reviewer = UserFactory(username="cora", group="incident manager")
    confirmed("cust@example.com")
    # Staff mail: an internal update, a review request, a reminder of the next update.
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
    # Customer mail: the status update to a subscriber, the follow-up of a support case.
    actions.publish_communication(draft, by=reviewer)
    support_actions.upsert_case(
        reference="SD-7", customer_name="Ana", contact_email="ana@customer.example"
    )
    support_actions.label_cases(key=incident.key, references="SD-7", by=manager)
    incident_actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )

    send_pending()

    messages = smtp.messages
    subjects = {message["Subject"] for message in messages}
    assert any(s.startswith("Review requested") for s in subjects), subjects
    assert any(s.startswith("Update due") for s in subjects), subjects
    assert received(smtp, "ana@customer.example"), subjects
    assert received(smtp, "leaders@example.com"), subjects
    for message in messages:
        assert message["Auto-Submitted"] == "auto-generated", message["Subject"]
        assert parseaddr(message["Message-ID"])[1].endswith(f"@{DOMAIN}")
        listed = message["To"] == "cust@example.com"
        assert (message["List-Unsubscribe"] is not None) == listed, message["To"]
        assert (message["Precedence"] == "bulk") == listed, message["To"]
