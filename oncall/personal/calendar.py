"""The on-call calendar, readable: drawn in the viewer's zone, every shift labelled.

Days start at the viewer's local midnight and each bar sits at its real instant, so a
hand-off at 09:00 Europe/Paris sits at 09:00 on both sides of a daylight-saving change
for a viewer in Paris (and at 08:00/07:00 for one in London, as it is). Labels are
chosen for the narrowest the track gets (``MIN_TRACK_PX``, below that the calendar
scrolls): a full name where it fits, else two initials, else none; the full name and
the local times are always in the bar's title and accessible label.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from .. import schedule, selectors
from ..models import Roster

DAYS = 28
# The track's narrowest width (app.css: .oncall-calendar .cal-row's min-width less the
# label column). Widths of text at the bar's 12px font, kept on the safe side: a name
# (padding 4px a side and the 2px border) and initials (capitals, in a tight bar).
MIN_TRACK_PX = 840
NAME_CHAR_PX, NAME_PADDING_PX = 8.0, 12
INITIAL_PX, INITIALS_PADDING_PX = 9.5, 6
COLOURS = 8


def viewer_zone(requested: str | None) -> str:
    """The zone asked for (``?tz=``, set by the page's script from the browser), else
    the one the portal runs the request in (the person's preference or the browser's
    cookie when set), else the portal's."""
    if requested and requested in zoneinfo.available_timezones():
        return requested
    current = timezone.get_current_timezone()
    return getattr(current, "key", None) or settings.TIME_ZONE


def initials(user: User) -> str:
    """Two letters at least: a single letter is no label."""
    parts = [part for part in (user.first_name, user.last_name) if part]
    if len(parts) == 2:
        return (parts[0][0] + parts[1][0]).upper()
    word = parts[0] if parts else user.get_username()
    return word[:2].upper() if len(word) >= 2 else word.upper()


def full_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _fits(text: str, width_pc: float, *, initials: bool = False) -> bool:
    char, padding = (
        (INITIAL_PX, INITIALS_PADDING_PX) if initials else (NAME_CHAR_PX, NAME_PADDING_PX)
    )
    return width_pc / 100 * MIN_TRACK_PX >= len(text) * char + padding


@dataclass(frozen=True)
class Bar:
    slot: schedule.Slot
    left: str
    width: str
    colour: int | None
    label: str
    description: str
    tight: bool = False  # initials: less padding


@dataclass(frozen=True)
class Tick:
    left: str
    day: date  # the viewer's local day
    labelled: bool


def _local(at: datetime, zone: tzinfo) -> str:
    # Translators: a date format (Django's "date" filter letters): weekday, day, month, time.
    return date_format(at.astimezone(zone), _("D j M H:i"))


def _bar(
    slot: schedule.Slot, start: datetime, total: float, zone: tzinfo, colour: int | None
) -> Bar:
    left = (slot.starts_at - start).total_seconds() / total * 100
    width = (slot.ends_at - slot.starts_at).total_seconds() / total * 100
    who = full_name(slot.user) if slot.user else _("nobody on call")
    label, tight = "", False
    if slot.user is not None:
        if _fits(who, width):
            label = who
        elif _fits(initials(slot.user), width, initials=True):
            label, tight = initials(slot.user), True
    values = {"who": who, "start": _local(slot.starts_at, zone), "end": _local(slot.ends_at, zone)}
    description = _("%(who)s: %(start)s to %(end)s") % values
    if slot.override:
        description += " " + _("(override)")
    return Bar(slot, f"{left:.3f}", f"{width:.3f}", colour, label, description, tight)


def build(zone_name: str, now: datetime | None = None, rosters: list[Roster] | None = None) -> dict:
    zone = ZoneInfo(zone_name)
    now = now or timezone.now()
    today = now.astimezone(zone).date()
    # Local midnights, each made aware on its own (a day across a change is 23 or 25 h),
    # in UTC: Python subtracts datetimes of one tzinfo by their wall clocks.
    midnights = [
        datetime.combine(today + timedelta(days=n), time(0), tzinfo=zone).astimezone(UTC)
        for n in range(DAYS + 1)
    ]
    start, end = midnights[0], midnights[-1]
    total = (end - start).total_seconds()
    people: dict[int, int] = {}
    rows = []
    for roster in rosters if rosters is not None else selectors.rosters_for_schedule():
        bars = []
        for slot in schedule.schedule(roster, start, end):
            colour = people.setdefault(slot.user.pk, len(people) % COLOURS) if slot.user else None
            bars.append(_bar(slot, start, total, zone, colour))
        rows.append({"roster": roster, "bars": bars})
    ticks = [
        Tick(
            f"{(day - start).total_seconds() / total * 100:.3f}",
            today + timedelta(days=n),
            n % 7 == 0,
        )
        for n, day in enumerate(midnights[:-1])
    ]
    return {
        "rows": rows,
        "ticks": ticks,
        "start": start,
        "end": end,
        "first_day": today,
        "last_day": today + timedelta(days=DAYS - 1),
        "zone": zone_name,
    }
