"""Who is on call for roster R at instant T: hand-offs, DST both ways, overrides, empty."""

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest

from incidents.actions import ActionRefused
from oncall import actions
from oncall.schedule import on_call, schedule
from oncall.selectors import rosters_of
from tests.factories import UserFactory


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def weekly(make_roster):
    # Hand-off Mondays 09:00 Paris: 08:00 UTC in winter, 07:00 UTC in summer.
    return make_roster(people=["ann", "bob", "cid"])


def names(user):
    return user.username if user else None


def test_first_shift_starts_at_the_handoff(weekly):
    assert names(on_call(weekly, utc(2026, 1, 5, 7, 59, 59))) is None
    assert names(on_call(weekly, utc(2026, 1, 5, 8, 0))) == "ann"


def test_handoff_is_exact_to_the_second(weekly):
    assert names(on_call(weekly, utc(2026, 1, 12, 7, 59, 59))) == "ann"
    assert names(on_call(weekly, utc(2026, 1, 12, 8, 0))) == "bob"
    assert names(on_call(weekly, utc(2026, 1, 19, 8, 0))) == "cid"
    assert names(on_call(weekly, utc(2026, 1, 26, 8, 0))) == "ann"


def test_spring_forward_keeps_the_local_handoff_hour(weekly):
    # Paris goes to summer time on Sunday 29 March 2026: Monday 30 March 09:00 is 07:00 UTC.
    before = on_call(weekly, utc(2026, 3, 30, 6, 59, 59))
    after = on_call(weekly, utc(2026, 3, 30, 7, 0))
    assert before != after
    assert names(after) == names(on_call(weekly, utc(2026, 4, 6, 6, 59, 59)))


def test_fall_back_keeps_the_local_handoff_hour(weekly):
    # Winter time from Sunday 25 October 2026: Monday 26 October 09:00 is 08:00 UTC.
    assert on_call(weekly, utc(2026, 10, 26, 7, 59, 59)) == on_call(weekly, utc(2026, 10, 25, 12))
    assert on_call(weekly, utc(2026, 10, 26, 8, 0)) != on_call(weekly, utc(2026, 10, 26, 7, 59))


def test_daily_shift_spanning_the_change_is_an_hour_shorter(make_roster):
    roster = make_roster(
        "daily", people=["ann", "bob"], shift_unit="days", start_date=date(2026, 3, 1)
    )
    # 28 March 09:00 CET (08:00 UTC) to 29 March 09:00 CEST (07:00 UTC): 23 hours.
    slots = schedule(roster, utc(2026, 3, 28, 8), utc(2026, 3, 31, 7))
    assert [s.ends_at - s.starts_at for s in slots] == [
        timedelta(hours=23),
        timedelta(hours=24),
    ] * 1 + [timedelta(hours=24)]
    assert all(slot.starts_at.astimezone(roster_tz(roster)).hour == 9 for slot in slots)


def roster_tz(roster):
    from zoneinfo import ZoneInfo

    return ZoneInfo(roster.time_zone)


def test_hourly_follow_the_sun_rotation(make_roster):
    roster = make_roster(
        "sun",
        people=["apac", "emea", "amer"],
        shift_unit="hours",
        shift_length=8,
        time_zone="UTC",
        handoff_time=time(0, 0),
    )
    day = [names(on_call(roster, utc(2026, 1, 6, hour))) for hour in (0, 8, 16)]
    assert sorted(day) == ["amer", "apac", "emea"]
    assert names(on_call(roster, utc(2026, 1, 5, 0))) == "apac"
    assert names(on_call(roster, utc(2026, 1, 5, 8))) == "emea"


def test_empty_roster_has_nobody(make_roster):
    roster = make_roster("empty")
    assert on_call(roster, utc(2026, 6, 1)) is None
    [slot] = schedule(roster, utc(2026, 6, 1), utc(2026, 6, 15))
    assert slot.user is None


def test_override_wins_from_its_start_until_just_before_its_end(weekly):
    zed = UserFactory(username="zed")
    start, end = utc(2026, 1, 7, 12), utc(2026, 1, 8, 12)
    actions.add_override(weekly, user=zed, starts_at=start, ends_at=end, by=zed)
    assert names(on_call(weekly, start - timedelta(seconds=1))) == "ann"
    assert names(on_call(weekly, start)) == "zed"
    assert names(on_call(weekly, end - timedelta(seconds=1))) == "zed"
    assert names(on_call(weekly, end)) == "ann"


def test_override_covers_an_empty_roster(make_roster):
    roster = make_roster("empty")
    zed = UserFactory(username="zed")
    actions.add_override(
        roster, user=zed, starts_at=utc(2026, 6, 1), ends_at=utc(2026, 6, 2), by=zed
    )
    slots = schedule(roster, utc(2026, 5, 31), utc(2026, 6, 3))
    assert [(names(s.user), s.override) for s in slots] == [
        (None, False),
        ("zed", True),
        (None, False),
    ]


def test_overlapping_override_is_refused_with_who_and_when(weekly):
    zed, amy = UserFactory(username="zed"), UserFactory(username="amy")
    actions.add_override(
        weekly, user=zed, starts_at=utc(2026, 2, 1), ends_at=utc(2026, 2, 3), by=zed
    )
    with pytest.raises(ActionRefused) as refused:
        actions.add_override(
            weekly, user=amy, starts_at=utc(2026, 2, 2), ends_at=utc(2026, 2, 4), by=amy
        )
    assert refused.value.field == "starts_at"
    assert "zed" in refused.value.message
    assert "2026-02-01 00:00" in refused.value.message
    assert weekly.overrides.count() == 1


def test_touching_overrides_do_not_overlap(weekly):
    zed, amy = UserFactory(username="zed"), UserFactory(username="amy")
    actions.add_override(
        weekly, user=zed, starts_at=utc(2026, 2, 1), ends_at=utc(2026, 2, 3), by=zed
    )
    actions.add_override(
        weekly, user=amy, starts_at=utc(2026, 2, 3), ends_at=utc(2026, 2, 4), by=amy
    )
    assert names(on_call(weekly, utc(2026, 2, 3))) == "amy"


def test_override_must_end_after_it_starts(weekly):
    zed = UserFactory(username="zed")
    with pytest.raises(ActionRefused) as refused:
        actions.add_override(
            weekly, user=zed, starts_at=utc(2026, 2, 3), ends_at=utc(2026, 2, 3), by=zed
        )
    assert refused.value.field == "ends_at"


def test_schedule_lists_consecutive_shifts(weekly):
    slots = schedule(weekly, utc(2026, 1, 5, 8), utc(2026, 1, 26, 8))
    assert [names(s.user) for s in slots] == ["ann", "bob", "cid"]
    assert all(a.ends_at == b.starts_at for a, b in itertools.pairwise(slots))


def test_participants_take_one_place_each(weekly):
    ann = weekly.participants.first().user
    with pytest.raises(ActionRefused):
        actions.change_rotation(weekly, by=ann, participants=[ann, ann])


def test_imoc_roster_is_built_in(imoc):
    assert imoc.is_imoc
    assert imoc.team is None


def test_a_persons_rosters_are_those_they_took_part_in_or_covered_once_each(make_roster):
    weekly = make_roster("weekly", people=["ann", "bob"])
    make_roster("daily", people=["bob"])
    cover = make_roster("cover", people=["cid"])
    make_roster("other", people=["cid"])
    ann, bob = weekly.participants.get(position=0).user, weekly.participants.get(position=1).user
    # Overrides on a roster one is part of, and on one one only covered, several each.
    for day in (1, 3, 5):
        at, until = utc(2026, 6, day), utc(2026, 6, day, 2)
        actions.add_override(weekly, user=bob, starts_at=at, ends_at=until, by=bob)
        actions.add_override(cover, user=ann, starts_at=at, ends_at=until, by=ann)
    assert sorted(r.slug for r in rosters_of(ann)) == ["cover", "weekly"]
    assert sorted(r.slug for r in rosters_of(bob)) == ["daily", "weekly"]
    assert list(rosters_of(UserFactory(username="dee"))) == []
