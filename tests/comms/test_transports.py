"""The transports against real local receivers."""

import json

import pytest

from comms.transports import TransportError, chat, email, webhook
from tests.receivers import HttpReceiver, free_port


def test_email_reaches_the_smtp_server_with_text_html_and_message_id(smtp):
    receipt = email.send(
        email.Email(
            to=["ops@example.com"],
            subject="HOT-1 - 1 - Checkout down",
            text="We are investigating.",
            html="<p>We are investigating.</p>",
            message_id="<hot-1-initial@hotline>",
        )
    )

    assert receipt == "sent to ops@example.com"
    [message] = smtp.messages
    assert message["Subject"] == "HOT-1 - 1 - Checkout down"
    assert message["Message-ID"] == "<hot-1-initial@hotline>"
    types = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in types
    assert "text/html" in types


def test_email_to_a_closed_port_is_a_transient_error(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()

    with pytest.raises(TransportError) as error:
        email.send(email.Email(to=["a@example.com"], subject="s", text="t"))
    assert error.value.permanent is False


def test_signed_webhook_carries_a_verifiable_signature_and_idempotency_key():
    with HttpReceiver() as receiver:
        webhook.send(
            f"{receiver.url}/hook", {"event": "created"}, idempotency_key="k1", secret="s3"
        )

    [request] = receiver.requests
    assert request.json() == {"event": "created"}
    assert request.headers["Idempotency-Key"] == "k1"
    assert webhook.verify("s3", request.headers["X-Hotline-Signature"], request.body)
    assert not webhook.verify("wrong", request.headers["X-Hotline-Signature"], request.body)


def test_a_server_error_is_transient_and_a_client_error_permanent():
    with HttpReceiver(fail_first=1) as failing, pytest.raises(TransportError) as transient:
        webhook.send(failing.url, {}, idempotency_key="k")
    with HttpReceiver(status=404) as missing, pytest.raises(TransportError) as permanent:
        webhook.send(missing.url, {}, idempotency_key="k")

    assert transient.value.permanent is False
    assert permanent.value.permanent is True


def test_unreachable_webhook_is_transient():
    with pytest.raises(TransportError) as error:
        webhook.send(f"http://127.0.0.1:{free_port()}/", {}, idempotency_key="k")
    assert error.value.permanent is False


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "slack",
            {
                "text": "HOT-1: Severity 1",
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*HOT-1*\nSeverity 1"}}
                ],
            },
        ),
        (
            "teams",
            {
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": "HOT-1",
                "title": "HOT-1",
                "text": "Severity 1",
            },
        ),
    ],
)
def test_chat_formats(fmt, expected):
    with HttpReceiver() as receiver:
        chat.send(receiver.url, "Severity 1", fmt=fmt, title="HOT-1", idempotency_key="k")

    assert json.loads(receiver.requests[0].body) == expected
