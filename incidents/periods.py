"""When an incident counts for a period, and which of its times are missing: shared by
the incident list's filters and the support team's metrics."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

# The times a fixer should fill in (defined with the model: a partial index serves it).
from incidents.models import MISSING_TIMES  # noqa: F401  (re-exported)

# When an incident counts for a period: its impact start, else when it was logged.
PERIOD_AT = Coalesce("impact_started_at", "created_at")


_QS = TypeVar("_QS", bound=QuerySet[Any])


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def period_bounds(
    since: date | None, until: date | None
) -> tuple[datetime | None, datetime | None]:
    """The period as instants: from the first day's start to the day after the last,
    days in the viewer's zone; None where it is open."""
    return (
        _day_start(since) if since is not None else None,
        _day_start(until + timedelta(days=1)) if until is not None else None,
    )


def in_period(incidents: _QS, since: date | None = None, until: date | None = None) -> _QS:
    """The period is the impact start (else the logging time), both dates included, days
    in the viewer's zone (``period_bounds``)."""
    return in_range(incidents, *period_bounds(since, until))


def in_range(incidents: _QS, start: datetime | None, end: datetime | None) -> _QS:
    """The incidents from ``start`` to ``end`` (instants; None where open): a range on
    ``PERIOD_AT``, which the ``incident_period`` index serves, not dates cast from the
    columns."""
    if start is not None:
        incidents = incidents.alias(period_at=PERIOD_AT).filter(period_at__gte=start)
    if end is not None:
        incidents = incidents.alias(period_at=PERIOD_AT).filter(period_at__lt=end)
    return incidents
