"""Every change of a scheduled maintenance: planning, editing, cancelling, and the beat
tick that starts and completes it from the window stored in the database.

Each action is one transaction that also writes the maintenance's update (its history
and the Statuspage ``incident_updates``), the products' statuses and the subscriber
mails (outbox rows sent after commit), so nothing is half-done or mailed for a change
that rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from incidents.actions import ActionRefused
from incidents.models import Product

from .. import mail
from ..actions import refresh_components
from ..content import site_url
from ..models import (
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    OutboundEmail,
    Subscriber,
)
from ..outbox import queue

EDITABLE_FIELDS = ("title", "message", "products", "starts_at", "ends_at")
# Times before this are typing mistakes, not plans (as for incident times).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def plannable_products() -> Any:
    """Maintenances are announced on the public page: only the products it shows."""
    return Product.objects.filter(shown_on_status_page=True)


def _check(
    *, title: str, message: str, products: list[Product], starts_at: datetime, ends_at: datetime
) -> None:
    if not title.strip():
        raise ActionRefused(gettext("Give the maintenance a title."), field="title")
    if not message.strip():
        raise ActionRefused(gettext("Tell customers what to expect."), field="message")
    if not products:
        raise ActionRefused(gettext("Choose at least one product."), field="products")
    hidden = [p.name for p in products if not p.shown_on_status_page]
    if hidden:
        raise ActionRefused(
            gettext("Not on the public status page: %(names)s.") % {"names": ", ".join(hidden)},
            field="products",
        )
    if starts_at < EARLIEST:
        raise ActionRefused(gettext("The start is before the year 2000."), field="starts_at")
    if ends_at <= starts_at:
        raise ActionRefused(gettext("The end must come after the start."), field="ends_at")


def _record(maintenance: Maintenance, status: str, body: str, by: User | None) -> None:
    MaintenanceUpdate.objects.create(
        maintenance=maintenance, status=status, body=body, by=by, created_at=timezone.now()
    )


def _lock(maintenance: Maintenance) -> Maintenance:
    return Maintenance.objects.select_for_update().get(pk=maintenance.pk)


@transaction.atomic
def plan_maintenance(
    *,
    title: str,
    message: str,
    products: Iterable[Product],
    starts_at: datetime,
    ends_at: datetime,
    by: User,
) -> Maintenance:
    chosen = list(products)
    _check(title=title, message=message, products=chosen, starts_at=starts_at, ends_at=ends_at)
    if ends_at <= timezone.now():
        raise ActionRefused(gettext("This window is already over."), field="ends_at")
    now = timezone.now()
    maintenance = Maintenance.objects.create(
        title=title.strip(),
        message=message.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    maintenance.products.set(chosen)
    _record(maintenance, MaintenanceStatus.SCHEDULED, maintenance.message, by)
    return maintenance


@transaction.atomic
def update_maintenance(maintenance: Maintenance, *, by: User, **fields: Any) -> Maintenance:
    """Change an upcoming maintenance, or a running one's text, products and end. A new
    message is a new update customers see; the products' statuses follow at once."""
    current = _lock(maintenance)
    if not current.is_open:
        raise ActionRefused(
            gettext("This maintenance is %(status)s; it can no longer change.")
            % {"status": current.get_status_display().lower()},
            conflict=True,
        )
    before = set(current.products.values_list("pk", flat=True))
    values: dict[str, Any] = {
        "title": current.title,
        "message": current.message,
        "products": list(current.products.all()),
        "starts_at": current.starts_at,
        "ends_at": current.ends_at,
    }
    values.update({name: fields[name] for name in EDITABLE_FIELDS if name in fields})
    values["products"] = list(values["products"])
    running = current.status == MaintenanceStatus.IN_PROGRESS
    if running and values["starts_at"] != current.starts_at:
        raise ActionRefused(
            gettext("It has started; the start can no longer move."), field="starts_at"
        )
    _check(**values)
    if values["ends_at"] != current.ends_at and values["ends_at"] <= timezone.now():
        raise ActionRefused(gettext("The end must be in the future."), field="ends_at")
    new_message = values["message"].strip() != current.message
    current.title = values["title"].strip()
    current.message = values["message"].strip()
    current.starts_at = values["starts_at"]
    current.ends_at = values["ends_at"]
    current.updated_at = timezone.now()
    current.save(update_fields=["title", "message", "starts_at", "ends_at", "updated_at"])
    current.products.set(values["products"])
    if new_message:
        _record(current, current.status, current.message, by)
    after = {p.pk for p in values["products"]}
    if running and after != before:
        refresh_components(before | after, current.updated_at)
    return current


@transaction.atomic
def cancel_maintenance(maintenance: Maintenance, *, by: User) -> Maintenance:
    """Call it off: an upcoming one never starts; a running one ends now, its products
    are released and subscribers hear it is over."""
    current = _lock(maintenance)
    if not current.is_open:
        raise ActionRefused(
            gettext("This maintenance is already %(status)s.")
            % {"status": current.get_status_display().lower()},
            conflict=True,
        )
    was_running = current.status == MaintenanceStatus.IN_PROGRESS
    now = timezone.now()
    current.status = MaintenanceStatus.CANCELLED
    current.ended_at = now
    current.updated_at = now
    current.save(update_fields=["status", "ended_at", "updated_at"])
    if was_running:
        body = gettext("The maintenance was ended early.")
        refresh_components(current.products.values_list("pk", flat=True), now)
        _mail_subscribers(current, phase="end")
    else:
        body = gettext("This maintenance was cancelled and will not take place.")
    _record(current, MaintenanceStatus.CANCELLED, body, by)
    return current


# The beat tick -------------------------------------------------------------------------


@dataclass(frozen=True)
class Advanced:
    started: int
    completed: int


@transaction.atomic
def advance_maintenances() -> Advanced:
    """Start every scheduled maintenance whose window opened, complete every running one
    whose window closed. Rows are claimed with ``skip_locked``: two beats (or a slow tick
    overlapping the next) never move one twice, and a second run finds nothing due.
    A window that opened and closed while no beat ran starts and completes in one tick,
    so customers still hear both ends."""
    now = timezone.now()
    started = list(
        Maintenance.objects.select_for_update(skip_locked=True)
        .filter(status=MaintenanceStatus.SCHEDULED, starts_at__lte=now)
        .order_by("starts_at", "id")
    )
    for maintenance in started:
        maintenance.status = MaintenanceStatus.IN_PROGRESS
        maintenance.started_at = now
        maintenance.updated_at = now
        maintenance.save(update_fields=["status", "started_at", "updated_at"])
        _record(
            maintenance,
            MaintenanceStatus.IN_PROGRESS,
            gettext("Scheduled maintenance is currently in progress."),
            None,
        )
        refresh_components(maintenance.products.values_list("pk", flat=True), now)
        _mail_subscribers(maintenance, phase="start")
    finished = list(
        Maintenance.objects.select_for_update(skip_locked=True)
        .filter(status=MaintenanceStatus.IN_PROGRESS, ends_at__lte=now)
        .order_by("ends_at", "id")
    )
    for maintenance in finished:
        maintenance.status = MaintenanceStatus.COMPLETED
        maintenance.ended_at = now
        maintenance.updated_at = now
        maintenance.save(update_fields=["status", "ended_at", "updated_at"])
        _record(
            maintenance,
            MaintenanceStatus.COMPLETED,
            gettext("The scheduled maintenance has been completed."),
            None,
        )
        refresh_components(maintenance.products.values_list("pk", flat=True), now)
        _mail_subscribers(maintenance, phase="end")
    return Advanced(started=len(started), completed=len(finished))


# Subscriber mail -----------------------------------------------------------------------


def _subscribers(maintenance: Maintenance) -> list[Subscriber]:
    """Confirmed subscribers of every product, or of one this maintenance names."""
    return list(
        Subscriber.objects.filter(confirmed_at__isnull=False)
        .filter(Q(products__isnull=True) | Q(products__in=maintenance.products.all()))
        .distinct()
        .order_by("email")
    )


def _mail_subscribers(maintenance: Maintenance, *, phase: str) -> None:
    products = [p.name for p in maintenance.products.filter(shown_on_status_page=True)]
    context: dict[str, Any] = {
        "maintenance": maintenance,
        "phase": phase,
        "products": products,
        "page_name": settings.COMMS_STATUS_PAGE_NAME,
        "page_url": site_url(reverse("comms:public_status")) + f"#{maintenance.public_id}",
    }
    rows = []
    for subscriber in _subscribers(maintenance):
        context["unsubscribe_url"] = mail.unsubscribe_url(subscriber)
        # In the subscriber's language, the window's times in the portal's zone.
        with mail.speaking(mail.subscriber_reader(subscriber)):
            if phase == "start":
                subject = gettext("Maintenance started: %(title)s")
            else:
                subject = gettext("Maintenance over: %(title)s")
            rows.append(
                OutboundEmail(
                    to=subscriber.email,
                    subject=subject % {"title": maintenance.title},
                    text=render_to_string("comms/email/maintenance.txt", context),
                    html=render_to_string("comms/email/maintenance.html", context),
                    # One mail per maintenance, phase and address, however often a tick runs.
                    message_id=mail.message_id(
                        "maintenance", maintenance.pk, phase, subscriber.email
                    ),
                    headers=mail.subscriber_headers(subscriber),
                )
            )
    queue(OutboundEmail, rows, "send_email")
