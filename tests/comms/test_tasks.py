"""The outbox: e-mail, chat and signed webhooks delivered once, retried, recorded."""

import time

import pytest
from django.utils import timezone

from comms import actions, outbox, tasks
from comms.models import (
    Audience,
    ChatMessage,
    ChatWebhook,
    Delivery,
    Kind,
    OutboundEmail,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from comms.transports import webhook as webhook_transport
from incidents import actions as incident_actions
from incidents.models import Status
from tests.conftest import start_test_worker, wait_for
from tests.factories import ServiceFactory, make_incident
from tests.receivers import HttpReceiver, free_port


def publish_initial(incident, by):
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=by
    )
    return actions.publish_communication(draft, by=by)


@pytest.mark.django_db
def test_sending_a_mail_records_it_and_a_second_run_changes_nothing(
    smtp, incident, manager, staff_list
):
    publish_initial(incident, manager)
    mail = OutboundEmail.objects.get(to="leaders@example.com")

    tasks.send_email(mail.pk)
    assert tasks.send_email(mail.pk) == "nothing to do"

    mail.refresh_from_db()
    assert mail.status == Delivery.SENT
    assert mail.attempts == 1
    assert mail.sent_at is not None
    [received] = [m for m in smtp.messages if m["To"] == "leaders@example.com"]
    assert received["Subject"] == f"{incident.key} - 2 - Checkout is failing for EU tenants"
    assert received["Message-ID"] == mail.message_id
    assert {part.get_content_type() for part in received.walk()} >= {"text/plain", "text/html"}


@pytest.mark.django_db
def test_an_unreachable_smtp_server_leaves_the_mail_pending_for_a_retry(
    settings, incident, manager, staff_list
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    publish_initial(incident, manager)
    mail = OutboundEmail.objects.first()

    with pytest.raises(outbox.TransportError):
        outbox.deliver(OutboundEmail, mail.pk, outbox.send_email_row)

    mail.refresh_from_db()
    assert mail.status == Delivery.PENDING
    assert mail.attempts == 1
    assert mail.last_error
    assert mail.pk in outbox.pending_rows(OutboundEmail)


@pytest.mark.django_db
def test_a_refused_webhook_fails_permanently_without_retry(manager, products):
    with HttpReceiver(status=410) as receiver:
        hook = Webhook.objects.create(name="gone", url=receiver.url, events=[WebhookEvent.CREATED])
        make_incident(products=products)
        delivery = WebhookDelivery.objects.get(webhook=hook)
        assert tasks.send_webhook(delivery.pk).startswith("failed")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.FAILED
    assert delivery.pk not in outbox.pending_rows(WebhookDelivery)


@pytest.mark.django_db
def test_webhook_is_signed_with_the_event_id_and_logged(products, manager):
    with HttpReceiver(fail_first=1) as receiver:
        hook = Webhook.objects.create(
            name="warehouse",
            url=f"{receiver.url}/hooks",
            events=[WebhookEvent.CREATED, WebhookEvent.RESOLVED],
        )
        incident = make_incident(products=products)
        delivery = WebhookDelivery.objects.get()
        with pytest.raises(outbox.TransportError):
            outbox.deliver(WebhookDelivery, delivery.pk, outbox.send_webhook_row)
        tasks.send_webhook(delivery.pk)

    [request] = receiver.requests
    assert webhook_transport.verify(
        hook.secret, request.headers["X-Hotline-Signature"], request.body
    )
    assert request.headers["Idempotency-Key"] == str(delivery.event_id)
    assert request.json()["event"] == "incident.created"
    assert request.json()["data"]["incident"]["key"] == incident.key
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.receipt) == (Delivery.SENT, 2, "HTTP 200")


@pytest.fixture
def restartable_worker(private_broker):
    """Start and stop real workers at will, on the test's private queue."""
    return start_test_worker


def all_sent():
    return set(OutboundEmail.objects.values_list("status", flat=True)) == {Delivery.SENT}


@pytest.mark.django_db(transaction=True)
def test_mail_is_sent_once_across_a_worker_restart(
    smtp, restartable_worker, incident, manager, staff_list
):
    publish_initial(incident, manager)  # enqueued while no worker runs
    assert smtp.messages == []
    # A worker died mid-send: one row stays claimed until its lease runs out.
    stuck = OutboundEmail.objects.first()
    OutboundEmail.objects.filter(pk=stuck.pk).update(
        status=Delivery.SENDING, claimed_at=timezone.now() - outbox.SEND_LEASE * 2
    )

    with restartable_worker():
        # Its queued task finds the stale claim and takes it over; the sweep would too.
        assert wait_for(all_sent)
    with restartable_worker():
        # After the restart: the sweep and redelivered tasks find nothing left to send.
        tasks.sweep_outbox.delay()
        for mail in OutboundEmail.objects.all():
            tasks.send_email.delay(mail.pk)
        time.sleep(1)

    assert sorted(m["To"] for m in smtp.messages) == [
        "leaders@example.com",
        "major-ims@example.com",
    ]
    assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["slack", "teams", "teams_workflows"])
def test_chat_webhook_receives_the_topic_when_roles_change(worker, products, manager, fmt):
    service = ServiceFactory()
    with HttpReceiver() as receiver:
        ChatWebhook.objects.create(team=service.team, url=f"{receiver.url}/chat", format=fmt)
        incident = make_incident(faulty_service=service, products=products)
        incident_actions.claim_incident(incident, by=manager)

        # Created, claimed, fixing (and the role the claim gives): every row, once.
        assert wait_for(
            lambda: set(ChatMessage.objects.values_list("status", flat=True)) == {Delivery.SENT}
        ), list(ChatMessage.objects.values_list("status", "attempts", "last_error"))
        assert len(receiver.requests) == ChatMessage.objects.count() >= 3, list(
            ChatMessage.objects.values_list("status", "last_error")
        )

    bodies = [request.json() for request in receiver.requests]
    if fmt == "teams_workflows":
        texts = [body["attachments"][0]["content"]["body"][-1]["text"] for body in bodies]
    else:
        texts = [body["text"] for body in bodies]
    assert any("Topic: Checkout is failing | SEV 2 | Incident manager: @maya" in t for t in texts)
    if fmt == "teams":
        assert all(body["@type"] == "MessageCard" for body in bodies)


@pytest.mark.django_db
def test_restricted_incidents_send_nothing_to_outgoing_webhooks(products, manager):
    with HttpReceiver() as receiver:
        Webhook.objects.create(name="bot", url=receiver.url, events=list(WebhookEvent.values))
        secret = make_incident(summary="Tokens leaked", restricted=True, products=products)
        secret = incident_actions.claim_incident(secret, by=manager)
        publish_initial(secret, manager)
        incident_actions.transition_incident(
            secret, to=Status.RESOLVED, impact_ended_at=timezone.now(), by=manager
        )

        # Not even the key: the tool is read by people who are not involved.
        assert not WebhookDelivery.objects.exists()
        assert receiver.requests == []


@pytest.mark.django_db
def test_a_restricted_update_reaches_only_the_inboxes_of_the_people_involved(
    smtp, products, manager, security, staff_list
):
    secret = make_incident(by=manager, summary="Tokens leaked", restricted=True, products=products)
    publish_initial(secret, manager)

    for pk in OutboundEmail.objects.values_list("pk", flat=True):
        tasks.send_email(pk)

    delivered = {message["To"] for message in smtp.messages}
    assert delivered == {"maya@example.com", "sofia@example.com"}
    assert all("Tokens leaked" in message["Subject"] for message in smtp.messages)
