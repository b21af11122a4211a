"""What the comms mails carry besides their text: Message-IDs, and for subscribers the
unsubscribe links and headers mail clients turn into an "Unsubscribe" button.

Subscriber mail follows RFC 2369 and RFC 8058: ``List-Unsubscribe`` with an https link
(which a mail client POSTs ``List-Unsubscribe=One-Click`` to, without cookies) and a
mailto address, and ``Precedence: bulk`` so auto-responders stay quiet. The link carries
a signed form of the subscriber's random token: the token is the secret that replaces
the session and the CSRF token, the signature lets a forged link be turned away before
the database is asked.
"""

from __future__ import annotations

import hashlib
from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .content import site_url
from .models import Subscriber
from .transports.email import message_id as domain_message_id

UNSUBSCRIBE_SALT = "comms.unsubscribe"


def message_id(*parts: object) -> str:
    """A stable Message-ID from the parts that make the mail unique: the outbox refuses a
    second row with it, and receivers drop a repeat."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()[:24]
    return domain_message_id(digest)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(subscriber.unsubscribe_token)


def subscriber_token(token: str) -> str | None:
    """The subscriber's stored token from a signed link token; None when forged."""
    try:
        return signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None


def unsubscribe_url(subscriber: Subscriber) -> str:
    return site_url(reverse("comms:unsubscribe", args=[unsubscribe_token(subscriber)]))


def unsubscribe_mailto() -> str:
    """Where a mail client without https support sends its unsubscribe request
    (``COMMS_UNSUBSCRIBE_ADDRESS``, by default the portal's sender address)."""
    return settings.COMMS_UNSUBSCRIBE_ADDRESS or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def subscriber_headers(subscriber: Subscriber, *, bulk: bool = True) -> dict[str, str]:
    """The list headers of a mail to a subscriber. ``bulk`` for status updates; the
    confirmation is one mail asked for, not a list mailing."""
    headers = {
        "List-Unsubscribe": f"<{unsubscribe_url(subscriber)}>, "
        f"<mailto:{unsubscribe_mailto()}?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if bulk:
        headers["Precedence"] = "bulk"
    return headers
