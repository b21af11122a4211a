"""E-mail through Django's configured backend (SMTP in production, console embedded).

The one place a mail of the portal is put together: every caller (the comms outbox, the
on-call pages) hands an ``Email`` to ``send``, which adds the headers all of them share.
"""

import smtplib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from . import TransportError

# Everything the portal sends is written by a machine (RFC 3834 §5): vacation responders
# and mailing-list software must not answer it, or a reply loop pages nobody but itself.
AUTOMATIC_HEADERS = {
    "Auto-Submitted": "auto-generated",
    # Exchange and Outlook ignore Auto-Submitted; this is their way of saying the same.
    "X-Auto-Response-Suppress": "All",
}


@dataclass(frozen=True)
class Email:
    to: list[str]
    subject: str
    text: str
    html: str = ""
    # Message-ID doubles as the idempotency key: receivers and clients drop repeats.
    message_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def message_id(local_part: str) -> str:
    """A Message-ID in the portal's own domain (``COMMS_MESSAGE_ID_DOMAIN``)."""
    return f"<{local_part}@{settings.COMMS_MESSAGE_ID_DOMAIN}>"


def _build(email: Email) -> EmailMultiAlternatives:
    headers = {**email.headers, **AUTOMATIC_HEADERS}
    if email.message_id:
        headers["Message-ID"] = email.message_id
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=email.to,
        headers=headers,
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    return message


def send(email: Email) -> str:
    message = _build(email)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise TransportError(f"recipients refused: {error.recipients}", permanent=True) from error
    except smtplib.SMTPResponseException as error:
        # 5xx is the server's final word; 4xx asks us to come back later.
        raise TransportError(
            f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=error.smtp_code >= 500
        ) from error
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        raise TransportError(f"{type(error).__name__}: {error}") from error
    return f"sent to {', '.join(email.to)}"
