"""What the comms mails carry besides their text: the reader's language and time zone,
Message-IDs, and for subscribers the unsubscribe links and headers mail clients turn into
an "Unsubscribe" button.

Every message is rendered for its reader (``speaking``): a person in their own language
and time zone, a list's bare addresses and a chat room in the destination's language, a
subscriber in the one chosen at sign-up. One send may so go out in several languages;
each is rendered once per language, not once per address.

Subscriber mail follows RFC 2369 and RFC 8058: ``List-Unsubscribe`` with an https link
(which a mail client POSTs ``List-Unsubscribe=One-Click`` to, without cookies) and a
mailto address, and ``Precedence: bulk`` so auto-responders stay quiet. The link carries
a signed form of the subscriber's random token: the token is the secret that replaces
the session and the CSRF token, the signature lets a forged link be turned away before
the database is asked.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation

from incidents.models import Incident

from . import selectors
from .content import external_name, site_url
from .models import Audience, Communication, DistributionList, OutboundEmail, Subscriber
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


# The reader's language and time zone ----------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """How one recipient reads: a language of ``settings.LANGUAGES`` and an IANA time
    zone, each empty for the portal's own."""

    language: str = ""
    zone: str = ""


@dataclass(frozen=True)
class Recipient:
    address: str
    reader: Reader


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


@contextmanager
def speaking(reader: Reader) -> Iterator[None]:
    """Translate and format dates for ``reader`` while rendering their message. Outgoing
    messages are written in a request or a worker whose own language is someone else's
    (the author's, or none), so each one names its reader's."""
    with (
        translation.override(reader.language or settings.LANGUAGE_CODE),
        timezone.override(_zone(reader.zone)),
    ):
        yield


def reader_of(person: User, *, fallback: str = "") -> Reader:
    """A person's own language and zone (``Preferences``); ``fallback`` (a list's
    language) when they chose no language."""
    preferences = getattr(person, "preferences", None)
    if preferences is None:
        return Reader(fallback)
    return Reader(preferences.language or fallback, preferences.time_zone)


def subscriber_reader(subscriber: Subscriber) -> Reader:
    """A customer reads the status page's language unless they chose one at sign-up."""
    return Reader(subscriber.language or settings.STATUS_PAGE_LANGUAGE)


def customer_readers(addresses: Iterable[str]) -> dict[str, Reader]:
    """Customers known only by address (support cases' contacts), in one query: each
    reads the language they chose when they subscribed to the status page (and confirmed:
    anyone may type an address into the sign-up form), else the page's. Keyed by the
    address as given."""
    given = {address: address.strip().lower() for address in addresses}
    chosen = dict(
        Subscriber.objects.filter(
            email__in=set(given.values()), confirmed_at__isnull=False
        ).values_list("email", "language")
    )
    return {
        address: Reader(chosen.get(lowered) or settings.STATUS_PAGE_LANGUAGE)
        for address, lowered in given.items()
    }


def internal_recipients(incident: Incident) -> list[Recipient]:
    """Who receives the incident's internal communications, each address once, and how
    each reads.

    Normally the default list's addresses (in the list's language) and its teams'
    members (in their own, else the list's). A restricted (security, privacy) incident
    reaches only the people involved, at their own addresses: a distribution list is
    wider than the people who may see it."""
    seen: dict[str, Recipient] = {}
    if incident.restricted:
        people = selectors.involved_people(incident).exclude(email="").select_related("preferences")
        for person in people:
            address = person.email.lower()
            seen.setdefault(address, Recipient(address, reader_of(person)))
        return list(seen.values())
    lists = DistributionList.objects.filter(is_default=True).prefetch_related(
        "teams__members__preferences"
    )
    for distribution in lists:
        for address in distribution.address_list():
            seen.setdefault(
                address.lower(), Recipient(address.lower(), Reader(distribution.language))
            )
        for team in distribution.teams.all():
            for member in team.members.all():
                if not member.email:
                    continue
                address = member.email.lower()
                reader = reader_of(member, fallback=distribution.language)
                own = getattr(getattr(member, "preferences", None), "language", "")
                # A person's own choice wins over the list's, even for an address the
                # list also names.
                if own or address not in seen:
                    seen[address] = Recipient(address, reader)
    return list(seen.values())


def _subscribers_for(communication: Communication) -> list[Subscriber]:
    products = communication.incident.affected_products.all()
    return list(
        Subscriber.objects.filter(confirmed_at__isnull=False)
        .filter(Q(products__isnull=True) | Q(products__in=products))
        .distinct()
    )


def communication_emails(communication: Communication) -> list[OutboundEmail]:
    """The mails of a published communication: the staff's for an internal one, the
    subscribers' for an external one; each in its reader's language."""
    incident = communication.incident
    context: dict[str, Any] = {
        "communication": communication,
        "incident": incident,
        "current_status": Communication.bullets(communication.current_status),
        "next_steps": Communication.bullets(communication.next_steps),
    }
    rows: list[OutboundEmail] = []
    if communication.audience == Audience.INTERNAL:
        context["page_url"] = site_url(reverse("comms:internal_status"))
        context["incident_url"] = site_url(incident.get_absolute_url())
        rendered: dict[Reader, tuple[str, str]] = {}
        for recipient in internal_recipients(incident):
            if recipient.reader not in rendered:
                with speaking(recipient.reader):
                    rendered[recipient.reader] = (
                        render_to_string("comms/email/internal.txt", context),
                        render_to_string("comms/email/internal.html", context),
                    )
            text, html = rendered[recipient.reader]
            rows.append(
                OutboundEmail(
                    communication=communication,
                    to=recipient.address,
                    subject=communication.subject,
                    text=text,
                    html=html,
                    message_id=message_id("comm", communication.pk, recipient.address),
                )
            )
        return rows
    context["page_url"] = site_url(reverse("comms:public_status"))
    for subscriber in _subscribers_for(communication):
        # Each mail has its own unsubscribe link, so each is rendered on its own.
        with speaking(subscriber_reader(subscriber)):
            name = external_name(incident)
            context["name"] = name
            context["unsubscribe_url"] = unsubscribe_url(subscriber)
            rows.append(
                OutboundEmail(
                    communication=communication,
                    to=subscriber.email,
                    subject=f"{name}: {communication.get_page_status_display()}",
                    text=render_to_string("comms/email/external.txt", context),
                    html=render_to_string("comms/email/external.html", context),
                    message_id=message_id("comm", communication.pk, subscriber.email),
                    headers=subscriber_headers(subscriber),
                )
            )
    return rows


def local_time(value: datetime) -> str:
    """A time as the reader reads it: in their zone and their language's format, with
    the zone's abbreviation (``speaking`` sets both)."""
    local = timezone.localtime(value)
    return f"{formats.time_format(local, 'TIME_FORMAT')} {local:%Z}"
