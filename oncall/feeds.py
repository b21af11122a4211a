"""iCalendar (RFC 5545) feeds of rosters and of a person's shifts.

Calendar apps fetch them without a session, so the URL carries a secret: the roster's
random ``feed_token``, or for a person a signed token of their id.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.core import signing
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from . import schedule, selectors
from .models import Roster

FEED_DAYS = 90
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
    calendar.add("x-wr-calname", name)
    return calendar


def _event(roster: Roster, slot: schedule.Slot) -> Event:
    event = Event()
    who = slot.user.get_username() if slot.user else "nobody"
    event.add("uid", f"{roster.slug}-{int(slot.starts_at.timestamp())}@hotline")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    suffix = " (override)" if slot.override else ""
    event.add("summary", f"On call: {who} - {roster.name}{suffix}")
    return event


def roster_calendar(roster: Roster) -> bytes:
    start = timezone.now() - timedelta(days=7)
    calendar = _calendar(f"On call: {roster.name}")
    for slot in schedule.schedule(roster, start, start + timedelta(days=FEED_DAYS)):
        if slot.user is not None:
            calendar.add_component(_event(roster, slot))
    return calendar.to_ical()


def person_calendar(user: User) -> bytes:
    start = timezone.now() - timedelta(days=7)
    calendar = _calendar(f"On call: {user.get_username()}")
    for roster, slot in selectors.user_schedule(user, start, start + timedelta(days=FEED_DAYS)):
        calendar.add_component(_event(roster, slot))
    return calendar.to_ical()


def response(body: bytes, filename: str) -> HttpResponse:
    reply = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    reply["Content-Disposition"] = f'inline; filename="{filename}"'
    return reply
