"""The iCalendar feeds, fetched over HTTP as a calendar app fetches them, parsed with
icalendar and recurring-ical-events: a shift keeps its UID and its start on every fetch,
also when time moves on and a daylight-saving change comes into the window."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from django.urls import reverse
from icalendar import Calendar

from oncall import actions, feeds
from oncall.models import Roster

PARIS = ZoneInfo("Europe/Paris")
# Summer time: the window (a week back, 90 days on) ends before the clocks go back on
# 25 October 2026; three weeks later it reaches past that change.
BEFORE_DST = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
WITH_DST = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)
CLOCKS_BACK = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


@pytest.fixture
def roster(make_roster, time_machine):
    time_machine.move_to(datetime(2026, 6, 1, 6, 0, tzinfo=UTC), tick=False)
    return make_roster(
        "payments-im",
        people=["pia", "pat"],
        start_date=date(2026, 6, 1),
        handoff_time=time(9, 0),
        time_zone="Europe/Paris",
        shift_unit="days",
        shift_length=1,
    )


def fetch(client, url: str) -> Calendar:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def events(calendar: Calendar, start: datetime, end: datetime) -> dict[str, tuple]:
    """UID → (start, end, summary) of the events between ``start`` and ``end``."""
    found = {}
    for event in recurring_ical_events.of(calendar).between(start, end):
        uid = str(event["UID"])
        assert uid not in found, f"two events share the UID {uid}"
        found[uid] = (event["DTSTART"].dt, event["DTEND"].dt, str(event["SUMMARY"]))
    return found


def all_events(calendar: Calendar) -> dict[str, tuple]:
    return events(calendar, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def roster_url(roster: Roster) -> str:
    return reverse("oncall:roster_feed", args=[roster.feed_token])


@pytest.mark.parametrize("feed", ["roster", "person"])
def test_a_shift_keeps_its_uid_and_start_across_fetches_and_a_dst_change(
    client, roster, time_machine, feed
):
    pia = roster.participants.get(user__username="pia").user
    url = roster_url(roster) if feed == "roster" else feeds.person_feed_path(pia)
    time_machine.move_to(BEFORE_DST, tick=False)
    first = fetch(client, url)
    time_machine.move_to(BEFORE_DST + timedelta(hours=5), tick=False)
    later_that_day = fetch(client, url)
    time_machine.move_to(WITH_DST, tick=False)
    weeks_later = fetch(client, url)

    overlap = (WITH_DST - timedelta(days=7), BEFORE_DST + timedelta(days=83))
    assert events(first, *overlap) == events(weeks_later, *overlap)
    assert all_events(first) == all_events(later_that_day)
    shifts = all_events(weeks_later)
    assert shifts
    # The window now reaches past the change: hand-offs stay at 09:00 in Paris, which
    # is 07:00 UTC in summer and 08:00 UTC in winter.
    starts = [start for start, _, _ in shifts.values()]
    assert {start.astimezone(PARIS).time() for start in starts} == {time(9, 0)}
    assert any(start < CLOCKS_BACK for start in starts)
    assert any(start > CLOCKS_BACK for start in starts)
    assert {start.astimezone(UTC).hour for start in starts} == {7, 8}
    for start, end, summary in shifts.values():
        assert end - start in (timedelta(hours=24), timedelta(hours=25)), (start, end)
        if feed == "person":
            assert "pia" in summary


def test_the_first_event_is_the_whole_shift_not_cut_at_the_window(client, roster, time_machine):
    # 12:00 UTC: a week earlier, the shift in progress had begun at 09:00 Paris time.
    time_machine.move_to(BEFORE_DST, tick=False)
    shifts = all_events(fetch(client, roster_url(roster)))
    first_start, first_end, _ = min(shifts.values())
    assert first_start == datetime(2026, 7, 13, 7, 0, tzinfo=UTC)
    assert first_end == datetime(2026, 7, 14, 7, 0, tzinfo=UTC)


def test_one_persons_shifts_stay_separate_events(client, make_roster, time_machine):
    time_machine.move_to(datetime(2026, 6, 1, 6, 0, tzinfo=UTC), tick=False)
    solo = make_roster("solo-im", people=["sol"], start_date=date(2026, 6, 1), shift_unit="days")
    time_machine.move_to(BEFORE_DST, tick=False)
    first = all_events(fetch(client, roster_url(solo)))
    time_machine.move_to(BEFORE_DST + timedelta(days=1), tick=False)
    next_day = all_events(fetch(client, roster_url(solo)))

    # One event per day: merged into one, its start would be the window's and move.
    assert len(first) == len(next_day) == 91
    shared = first.keys() & next_day.keys()
    assert len(shared) == 90
    assert all(first[uid] == next_day[uid] for uid in shared)


def test_an_override_is_its_own_event_and_the_shift_around_it_keeps_its_uid(
    client, roster, time_machine
):
    time_machine.move_to(BEFORE_DST, tick=False)
    before = all_events(fetch(client, roster_url(roster)))
    pat = roster.participants.get(user__username="pat").user
    starts = datetime(2026, 7, 22, 12, 0, tzinfo=UTC)
    actions.add_override(
        roster, user=pat, starts_at=starts, ends_at=starts + timedelta(hours=2), by=pat
    )

    after = all_events(fetch(client, roster_url(roster)))

    overridden = [v for v in after.values() if v[2].endswith("(override)")]
    assert [(start, end) for start, end, _ in overridden] == [(starts, starts + timedelta(hours=2))]
    # Every shift that did not move is the same event as before.
    untouched = {uid: v for uid, v in before.items() if not v[0] <= starts < v[1]}
    assert all(after[uid] == value for uid, value in untouched.items())


def test_the_feed_asks_calendar_apps_to_refresh_hourly(client, roster):
    body = client.get(roster_url(roster)).content.decode()
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert "\r\nX-PUBLISHED-TTL:PT1H\r\n" in body
    calendar = Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "PUBLISH"
