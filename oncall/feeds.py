"""iCalendar (RFC 5545) feeds of rosters and of a person's shifts.

Calendar apps fetch them without a session, so the URL carries a secret: the roster's
random ``feed_token``, or for a person a signed token of their id. Times are UTC (every
app converts them to its viewer's zone); one event per shift, whole, with a UID that
stays the shift's on every fetch (docs/calendars-and-feeds.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from icalendar import Calendar, Event, vDuration

from . import schedule, selectors
from .models import Roster

FEED_DAYS = 90
# Shifts that ended up to a week ago stay in the feed (whole, see ``schedule.shifts``).
PAST = timedelta(days=7)
REFRESH = timedelta(hours=1)
PERSON_SALT = "oncall.person-feed"


def roster_feed_path(roster: Roster) -> str:
    return reverse("oncall:roster_feed", args=[roster.feed_token])


def person_token(user: User) -> str:
    return signing.Signer(salt=PERSON_SALT).sign(str(user.pk))


def person_feed_path(user: User) -> str:
    return reverse("oncall:person_feed", args=[person_token(user)])


def user_from_token(token: str) -> User | None:
    try:
        pk = int(signing.Signer(salt=PERSON_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    return User.objects.filter(pk=pk, is_active=True).first()


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Hotline//On call//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    # How often calendar apps should fetch again (RFC 7986, and Outlook's own name):
    # an override added now shows within the hour.
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    return calendar


def _uid(roster: Roster, slot: schedule.Slot) -> str:
    # A shift is its roster and its real start: ``schedule.shifts`` never cuts a shift
    # at the window, so the same shift has the same UID on every fetch, and a calendar
    # app updates the event (another person, a new end) instead of adding a twin.
    domain = urlsplit(settings.SITE_URL).hostname or "hotline"
    return f"shift-{roster.pk}-{int(slot.starts_at.timestamp())}@{domain}"


def _event(roster: Roster, slot: schedule.Slot, stamp: datetime) -> Event:
    event = Event()
    who = slot.user.get_username() if slot.user else gettext("nobody")
    event.add("uid", _uid(roster, slot))
    event.add("dtstamp", stamp)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    summary = gettext("On call: %(person)s - %(roster)s") % {"person": who, "roster": roster.name}
    if slot.override:
        summary = gettext("%(summary)s (override)") % {"summary": summary}
    event.add("summary", summary)
    event.add("transp", "TRANSPARENT")
    return event


def _window() -> tuple[datetime, datetime]:
    start = timezone.now() - PAST
    return start, start + timedelta(days=FEED_DAYS)


def roster_calendar(roster: Roster) -> bytes:
    start, end = _window()
    stamp = timezone.now()
    calendar = _calendar(gettext("On call: %(roster)s") % {"roster": roster.name})
    for slot in schedule.shifts(roster, start, end):
        if slot.user is not None:
            calendar.add_component(_event(roster, slot, stamp))
    return calendar.to_ical()


def person_calendar(user: User) -> bytes:
    start, end = _window()
    stamp = timezone.now()
    calendar = _calendar(gettext("On call: %(person)s") % {"person": user.get_username()})
    for roster in selectors.rosters_of(user):
        for slot in schedule.shifts(roster, start, end):
            if slot.user == user:
                calendar.add_component(_event(roster, slot, stamp))
    return calendar.to_ical()


def response(body: bytes, filename: str) -> HttpResponse:
    reply = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    reply["Content-Disposition"] = f'inline; filename="{filename}"'
    return reply
