"""E-mail through Django's configured backend (SMTP in production, console embedded)."""

import smtplib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from . import TransportError


@dataclass(frozen=True)
class Email:
    to: list[str]
    subject: str
    text: str
    html: str = ""
    # Message-ID doubles as the idempotency key: receivers and clients drop repeats.
    message_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def send(email: Email) -> str:
    headers = dict(email.headers)
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
