"""Maintenance windows: planning one, ending it early or cancelling it, and which window
an alert falls in (``Windows``, read by the worker once per batch).

During a window an integration's new alert groups are kept, marked with the window, and
open no incident, so nobody is paged: the same choice as PagerDuty's maintenance
windows. Alerts joining a group that already has an incident (it fired before the
window began) still count on it, but never raise its severity. Once the window is over,
the next alert of a key whose group was opened during it starts a fresh group and
incident, which pages as usual (``processing._Batch._group``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused
from incidents.models import Service

from . import access
from .maintenance_models import MaintenanceWindow
from .models import Integration

# Longer than this hides a service's alerts for too long to be "maintenance".
MAX_LENGTH = timedelta(days=30)
# A start typed as "now" in a form is a little in the past by the time it is posted.
START_TOLERANCE = timedelta(minutes=5)


@transaction.atomic
def plan_maintenance(
    *,
    by: User,
    reason: str,
    ends_at: datetime,
    starts_at: datetime | None = None,
    service: Service | None = None,
    integration: Integration | None = None,
) -> MaintenanceWindow:
    """Plan a window for a service (all its integrations) or for one integration; it
    starts now when no start is given."""
    now = timezone.now()
    if (service is None) == (integration is None):
        raise ActionRefused(
            _("Choose a service or an integration (one of the two)."), field="service"
        )
    starts = starts_at or now
    if starts < now - START_TOLERANCE:
        raise ActionRefused(
            _("The start is in the past; leave it empty to start now."), field="starts_at"
        )
    if ends_at <= max(starts, now):
        raise ActionRefused(
            _("The end must be after the start and in the future."), field="ends_at"
        )
    if ends_at - starts > MAX_LENGTH:
        raise ActionRefused(
            _("A maintenance window lasts at most %(days)s days.") % {"days": MAX_LENGTH.days},
            field="ends_at",
        )
    reason = reason.strip()
    if not reason:
        raise ActionRefused(_("Say why: the people not paged will want to know."), field="reason")
    return MaintenanceWindow.objects.create(
        service=service,
        integration=integration,
        starts_at=starts,
        ends_at=ends_at,
        reason=reason[:300],
        created_by=by,
    )


@transaction.atomic
def end_maintenance(window: MaintenanceWindow, *, by: User) -> MaintenanceWindow:
    """End a window now: one not started yet is cancelled, one in progress ends at once.
    A window already over or cancelled is left as it is."""
    current = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
    now = timezone.now()
    if current.cancelled or current.ends_at <= now:
        return current
    if now <= current.starts_at:
        current.cancelled = True
    else:
        current.ends_at = now
    current.ended_by, current.ended_at = by, now
    current.save(update_fields=["cancelled", "ends_at", "ended_by", "ended_at"])
    return current


class Windows:
    """The windows that may cover an integration's alerts from ``since`` on, read once:
    a batch of a storm asks for each new group without a query each."""

    def __init__(self, integration: Integration, since: datetime):
        self.windows = list(
            MaintenanceWindow.objects.covering(integration).filter(
                cancelled=False, ends_at__gt=since
            )
        )

    def at(self, when: datetime) -> MaintenanceWindow | None:
        return next((window for window in self.windows if window.covers(when)), None)


# Reads for the pages and the API --------------------------------------------------------


def windows_for(user: access.User) -> QuerySet[MaintenanceWindow]:
    """The windows of the services the user administers (all for global admins)."""
    windows = MaintenanceWindow.objects.select_related(
        "service", "integration__service", "created_by", "ended_by"
    ).annotate(held=Count("alert_groups"))
    services = access.administered(user)
    if services is None:
        return windows
    return windows.filter(Q(service__in=services) | Q(integration__service__in=services))


def of_service(
    windows: QuerySet[MaintenanceWindow], service: Service
) -> QuerySet[MaintenanceWindow]:
    """A service's windows, and those of its integrations."""
    return windows.filter(Q(service=service) | Q(integration__service=service))


def covering(integration: Integration, *, recent: int = 10) -> list[MaintenanceWindow]:
    """The windows of an integration and of its service: current and planned ones, then
    the latest past ones."""
    windows = (
        MaintenanceWindow.objects.covering(integration)
        .select_related("service", "integration__service", "created_by", "ended_by")
        .annotate(held=Count("alert_groups"))
    )
    now = timezone.now()
    upcoming = list(windows.current_or_planned(now).order_by("starts_at", "id"))
    past = windows.exclude(pk__in=[window.pk for window in upcoming])[:recent]
    return upcoming + list(past)
