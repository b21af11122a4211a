"""Rotation changes take effect from a chosen time and never rewrite past shifts.

A change (participants, their order, hand-off time, shift length) adds a rotation
version effective from the next hand-off (the default), now, or a later instant: who was
on call at any past instant, and the calendar feeds' past events, stay as they were. A
roster that paging relies on cannot be left with nobody.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from incidents.actions import ActionRefused
from oncall import actions, feeds
from oncall.models import EscalationPolicy, EscalationStep, Roster, TeamAdmin
from oncall.schedule import on_call, schedule
from tests.factories import TeamFactory, UserFactory

# A Wednesday, mid-shift: pia's week (Monday 2 March 09:00 Paris = 08:00 UTC) runs
# until Monday 9 March 08:00 UTC, then pat's.
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
NEXT_HANDOFF = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def name(user):
    return user.username if user else None


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def roster(make_roster, team):
    return make_roster("payments-im", people=["pia", "pat"], team=team)


@pytest.fixture
def team_admin(team):
    user = UserFactory(username="tad", group="responder")
    TeamAdmin.objects.create(team=team, user=user)
    return user


@pytest.fixture
def cid(db):
    return UserFactory(username="cid")


def who(roster, *instants):
    roster = Roster.objects.get(pk=roster.pk)
    return [name(on_call(roster, at)) for at in instants]


def past_events(client, roster):
    """(UID, DTSTART, DTEND, SUMMARY) of the roster feed's events that ended before now
    (the shift in progress is the present: a change "now" ends it now)."""
    body = client.get(reverse("oncall:roster_feed", args=[roster.feed_token])).content
    return [
        (str(e["uid"]), e["dtstart"].dt, e["dtend"].dt, str(e["summary"]))
        for e in Calendar.from_ical(body).walk("VEVENT")
        if e["dtend"].dt < NOW
    ]


# The action --------------------------------------------------------------------------


def test_a_change_takes_effect_at_the_next_handoff_by_default(roster, cid):
    pia, pat = (p.user for p in roster.participants.order_by("position"))
    before = who(roster, utc(2026, 2, 24, 12), NOW, NEXT_HANDOFF - timedelta(seconds=1))
    rotation = actions.change_rotation(roster, by=pia, participants=[cid, pat, pia])
    assert rotation.effective_from == NEXT_HANDOFF
    assert who(roster, utc(2026, 2, 24, 12), NOW, NEXT_HANDOFF - timedelta(seconds=1)) == before
    assert before == ["pat", "pia", "pia"]
    # From the hand-off the new order, first person first, on the same weekly hand-offs.
    assert who(roster, NEXT_HANDOFF, utc(2026, 3, 16, 8), utc(2026, 3, 23, 8)) == [
        "cid",
        "pat",
        "pia",
    ]


def test_now_hands_over_at_once_and_keeps_the_handoffs(roster, cid):
    actions.change_rotation(roster, by=cid, effective=actions.NOW, participants=[cid])
    assert who(roster, NOW - timedelta(seconds=1), NOW) == ["pia", "cid"]
    slots = schedule(Roster.objects.get(pk=roster.pk), NOW - timedelta(hours=1), NEXT_HANDOFF)
    assert [(name(s.user), s.starts_at) for s in slots] == [
        ("pia", NOW - timedelta(hours=1)),
        ("cid", NOW),
    ]


def test_a_later_time_is_kept_and_an_earlier_one_refused(roster, cid):
    later = utc(2026, 3, 6, 17, 30)
    actions.change_rotation(roster, by=cid, effective=later, participants=[cid])
    assert who(roster, later - timedelta(seconds=1), later) == ["pia", "cid"]
    with pytest.raises(ActionRefused) as refused:
        actions.change_rotation(
            roster, by=cid, effective=NOW - timedelta(minutes=1), participants=[cid]
        )
    assert refused.value.field == "effective_at"


def test_new_handoff_time_and_length_apply_from_the_next_handoff_only(roster):
    before = who(roster, utc(2026, 1, 5, 8), utc(2026, 2, 2, 8), NOW)
    actions.update_roster(
        roster, by=None, handoff_time=time(12, 0), shift_length=1, shift_unit="days"
    )
    assert who(roster, utc(2026, 1, 5, 8), utc(2026, 2, 2, 8), NOW) == before
    # pia (first in the order) takes the change at 08:00 UTC until the first new hand-off
    # (12:00 Paris, 11:00 UTC), then daily at 12:00 Paris.
    assert who(
        roster,
        NEXT_HANDOFF,
        utc(2026, 3, 9, 10, 59),
        utc(2026, 3, 9, 11),
        utc(2026, 3, 10, 10, 59),
        utc(2026, 3, 10, 11),
    ) == ["pia", "pia", "pat", "pat", "pia"]
    roster.refresh_from_db()
    assert (roster.shift_unit, roster.handoff_time) == ("days", time(12, 0))


def test_a_new_change_replaces_one_planned_later(roster, cid):
    actions.change_rotation(roster, by=cid, effective=utc(2026, 4, 1), participants=[cid])
    actions.change_rotation(
        roster, by=cid, participants=[cid, *[p.user for p in roster.participants.all()[:1]]]
    )
    assert list(roster.rotations.values_list("effective_from", flat=True)) == [
        utc(2026, 1, 5, 8),
        NEXT_HANDOFF,
    ]


def test_empty_rotation_has_no_next_handoff_so_it_takes_effect_now(make_roster, cid):
    empty = make_roster("spare")
    actions.change_rotation(empty, by=cid, participants=[cid])
    assert who(empty, NOW - timedelta(seconds=1), NOW) == [None, "cid"]


# Past shifts never change, for any rotation and change ----------------------------------

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Sydney"]


@st.composite
def rotations(draw):
    return {
        "shift_unit": draw(st.sampled_from(["hours", "days", "weeks"])),
        "shift_length": draw(st.integers(1, 3)),
        "handoff_time": time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30]))),
        "time_zone": draw(st.sampled_from(ZONES)),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=rotations(),
    second=rotations(),
    start_days=st.integers(1, 60),
    order=st.permutations(range(4)),
    size=st.integers(1, 4),
    kept=st.integers(1, 4),
    change_after=st.integers(0, 24 * 80),
    effective=st.sampled_from(["next_handoff", "now", "later"]),
    samples=st.lists(st.integers(0, 10**9), min_size=5, max_size=15),
)
def test_past_shifts_never_change(
    db, first, second, start_days, order, size, kept, change_after, effective, samples
):
    people = [User.objects.get_or_create(username=f"p{n}")[0] for n in range(4)]
    start = date(2026, 1, 1) - timedelta(days=start_days)
    changed_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=change_after, minutes=7)
    with transaction.atomic():
        roster = actions.create_roster(
            slug="prop",
            name="Prop",
            team=None,
            by=None,
            participants=people[:size],
            start_date=start,
            **first,
        )
        begin = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(days=2)
        span = (changed_at - begin).total_seconds()
        instants = sorted(begin + timedelta(seconds=span * s / 10**9) for s in samples)
        instants = [at for at in instants if at < changed_at]
        with time_machine.travel(changed_at, tick=False):
            loaded = Roster.objects.get(pk=roster.pk)
            before = [on_call(loaded, at) for at in instants]
            slots_before = schedule(loaded, begin, changed_at)
            when = {"later": changed_at + timedelta(hours=5)}.get(effective, effective)
            actions.change_rotation(
                roster,
                by=None,
                effective=when,
                participants=[people[i] for i in order[:kept]],
                **second,
            )
            from oncall.selectors import rosters_for_schedule

            loaded = rosters_for_schedule().get(pk=roster.pk)
            assert [on_call(loaded, at) for at in instants] == before
            assert schedule(loaded, begin, changed_at) == slots_before
            rotation = loaded.rotations.latest("effective_from")
            assert rotation.effective_from >= changed_at
            assert on_call(loaded, rotation.effective_from) == people[order[0]]
        transaction.set_rollback(True)


# The feeds ------------------------------------------------------------------------------


@pytest.mark.parametrize("effective", ["", "now"])
def test_feed_past_events_are_unchanged_by_a_saved_rotation(
    client, client_for, team_admin, roster, cid, effective
):
    before = past_events(client, roster)
    assert before
    data = {"participants": "cid\npat", "effective": effective}
    response = client_for(team_admin).post(reverse("oncall:participants", args=[roster.slug]), data)
    assert response.status_code == 302
    assert past_events(client, roster) == before
    body = client.get(reverse("oncall:roster_feed", args=[roster.feed_token])).content
    current = next(e for e in Calendar.from_ical(body).walk("VEVENT") if e["dtend"].dt >= NOW)
    assert str(current["summary"]) == "On call: pia - Payments Im"
    assert current["dtstart"].dt == utc(2026, 3, 2, 8)
    assert current["dtend"].dt == (NOW if effective == "now" else NEXT_HANDOFF)


def test_person_feed_keeps_past_shifts_of_someone_taken_off_the_rotation(
    client, roster, cid, team_admin
):
    pat = User.objects.get(username="pat")

    def pat_past():
        body = client.get(feeds.person_feed_path(pat)).content
        events = Calendar.from_ical(body).walk("VEVENT")
        return [
            (str(e["uid"]), e["dtstart"].dt, e["dtend"].dt, str(e["summary"]))
            for e in events
            if e["dtend"].dt < NOW
        ]

    before = pat_past()
    # The whole shift, from its real hand-off, not cut where the feed's window begins.
    assert [(start, end) for _, start, end, _ in before] == [
        (utc(2026, 2, 23, 8), utc(2026, 3, 2, 8))
    ]
    actions.change_rotation(roster, by=team_admin, effective=actions.NOW, participants=[cid])
    assert pat_past() == before


# The portal form ------------------------------------------------------------------------


def test_portal_form_defaults_to_the_next_handoff(client_for, team_admin, roster):
    page = client_for(team_admin).get(reverse("oncall:roster", args=[roster.slug])).content
    assert b'value="next_handoff"' in page
    assert b"checked" in page.split(b'value="next_handoff"')[1][:40]
    response = client_for(team_admin).post(
        reverse("oncall:participants", args=[roster.slug]), {"participants": "pat\npia"}
    )
    assert response.status_code == 302
    assert roster.rotations.latest("effective_from").effective_from == NEXT_HANDOFF
    assert who(roster, NOW) == ["pia"]


def test_portal_form_offers_now_and_a_date(client_for, team_admin, roster):
    client = client_for(team_admin)
    url = reverse("oncall:participants", args=[roster.slug])
    data = {"participants": "pat", "effective": "at", "effective_at": "2026-03-20T10:00"}
    assert client.post(url, data).status_code == 302
    assert roster.rotations.latest("effective_from").effective_from == utc(2026, 3, 20, 10)
    assert client.post(url, {"participants": "pat", "effective": "now"}).status_code == 302
    assert who(roster, NOW) == ["pat"]


def test_portal_form_refuses_a_past_or_missing_date(client_for, team_admin, roster):
    client = client_for(team_admin)
    url = reverse("oncall:participants", args=[roster.slug])
    missing = client.post(url, {"participants": "pat", "effective": "at"})
    assert missing.status_code == 400
    assert b"Choose when the change takes effect." in missing.content
    past = {"participants": "pat", "effective": "at", "effective_at": "2026-03-01T10:00"}
    response = client.post(url, past)
    assert response.status_code == 400
    assert b"shifts already worked do not change" in response.content
    assert roster.rotations.count() == 1


def test_portal_settings_change_keeps_the_past(client_for, team_admin, roster):
    before = who(roster, utc(2026, 2, 10, 12), NOW)
    data = {
        "name": "Payments IM",
        "shift_length": 2,
        "shift_unit": "days",
        "handoff_time": "18:00",
        "time_zone": "Europe/Paris",
    }
    response = client_for(team_admin).post(reverse("oncall:roster", args=[roster.slug]), data)
    assert response.status_code == 302
    assert who(roster, utc(2026, 2, 10, 12), NOW) == before
    assert roster.rotations.latest("effective_from").effective_from == NEXT_HANDOFF


# The API --------------------------------------------------------------------------------


def test_api_defaults_to_the_next_handoff_and_shows_the_change_ahead(api_for, team_admin, roster):
    url = "/api/oncall/rosters/payments-im/participants/"
    response = api_for(team_admin).put(url, {"participants": ["pat", "pia"]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["participants"] == ["pat", "pia"]
    assert body["on_call_now"]["user"] == "pia"
    assert [r["effective_from"] for r in body["rotations"]] == [
        "2026-01-05T08:00:00Z",
        "2026-03-09T08:00:00Z",
    ]
    assert body["rotations"][0]["participants"] == ["pia", "pat"]


def test_api_takes_now_or_a_later_time(api_for, team_admin, roster):
    client = api_for(team_admin)
    url = "/api/oncall/rosters/payments-im/participants/"
    body = {"participants": ["pat"], "effective": "at", "effective_at": "2026-03-20T10:00Z"}
    assert client.put(url, body, format="json").status_code == 200
    assert roster.rotations.latest("effective_from").effective_from == utc(2026, 3, 20, 10)
    now = client.put(url, {"participants": ["pat"], "effective": "now"}, format="json")
    assert now.json()["on_call_now"]["user"] == "pat"
    settings_change = client.patch(
        "/api/oncall/rosters/payments-im/", {"shift_length": 2, "effective": "now"}, format="json"
    )
    assert settings_change.status_code == 200
    assert roster.rotations.latest("effective_from").effective_from == NOW


def test_api_refuses_a_past_or_missing_time_naming_the_field(api_for, team_admin, roster):
    client = api_for(team_admin)
    url = "/api/oncall/rosters/payments-im/participants/"
    missing = client.put(url, {"participants": ["pat"], "effective": "at"}, format="json")
    assert missing.status_code == 400
    assert "effective_at" in missing.json()
    body = {"participants": ["pat"], "effective": "at", "effective_at": "2026-03-01T10:00Z"}
    past = client.put(url, body, format="json")
    assert past.status_code == 400
    assert "effective_at" in past.json()
    assert roster.rotations.count() == 1


# A roster that pages keeps someone -------------------------------------------------------


def test_empty_rotation_of_the_team_roster_is_refused_in_the_api(api_for, team_admin, roster):
    url = "/api/oncall/rosters/payments-im/participants/"
    response = api_for(team_admin).put(url, {"participants": []}, format="json")
    assert response.status_code == 400
    reason = response.json()["participants"][0]
    assert "cannot be left with nobody on call" in reason
    assert "team's on-call incident manager" in reason
    assert roster.rotations.count() == 1


def test_empty_rotation_of_an_escalation_step_is_refused_in_the_portal(
    client_for, team_admin, roster, make_roster, team
):
    backup = make_roster("payments-backup", people=["bea"], team=team)
    policy = EscalationPolicy.objects.create(team=team)
    EscalationStep.objects.create(policy=policy, position=0, roster=backup)
    response = client_for(team_admin).post(
        reverse("oncall:participants", args=[backup.slug]), {"participants": ""}
    )
    assert response.status_code == 400
    assert b"step of an escalation policy" in response.content
    assert who(backup, NEXT_HANDOFF + timedelta(days=30)) == ["bea"]


def test_empty_imoc_is_refused_but_a_roster_nobody_pages_may_be_emptied(
    admin_user, imoc, make_roster, team, roster, cid
):
    actions.change_rotation(imoc, by=admin_user, participants=[cid])
    with pytest.raises(ActionRefused, match="the IMOC is paged") as refused:
        actions.change_rotation(imoc, by=admin_user, participants=[])
    assert refused.value.field == "participants"
    spare = make_roster("payments-spare", people=["sol"], team=team)
    actions.change_rotation(spare, by=admin_user, participants=[])
    assert who(spare, NOW, NEXT_HANDOFF) == ["sol", None]


# A far-off or overflowing time is refused, never a 500 -----------------------------------

FAR = datetime(9999, 12, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "change", [{"participants": []}, {"handoff_time": time(21, 0)}], ids=["people", "settings"]
)
def test_a_time_more_than_two_years_ahead_is_refused_naming_the_field(roster, cid, change):
    change = {"participants": [cid]} if "participants" in change else change
    for when in (FAR, NOW + timedelta(days=2 * 366, seconds=1)):
        with pytest.raises(ActionRefused, match="two years") as refused:
            actions.change_rotation(roster, by=cid, effective=when, **change)
        assert refused.value.field == "effective_at"
    actions.change_rotation(roster, by=cid, effective=NOW + timedelta(days=700), **change)
    assert roster.rotations.count() == 2


def test_an_overflow_anywhere_is_refused_not_raised(roster, cid, time_machine):
    time_machine.move_to(datetime(9999, 12, 28, tzinfo=UTC), tick=False)
    for effective in (actions.NOW, actions.NEXT_HANDOFF):
        with pytest.raises(ActionRefused) as refused:
            actions.change_rotation(roster, by=cid, effective=effective, participants=[cid])
        assert refused.value.field == "effective"
    assert roster.rotations.count() == 1


def test_portal_refuses_a_far_date_on_the_field(client_for, team_admin, roster):
    client = client_for(team_admin)
    far = {"effective": "at", "effective_at": "9999-12-30T09:00"}
    people = client.post(
        reverse("oncall:participants", args=[roster.slug]), {"participants": "pat", **far}
    )
    assert people.status_code == 400
    assert people.context["participants_form"].errors["effective_at"]
    settings_data = {
        "name": "Payments IM",
        "shift_length": 1,
        "shift_unit": "days",
        "handoff_time": "21:00",
        "time_zone": "Europe/Paris",
        **far,
    }
    shifts = client.post(reverse("oncall:roster", args=[roster.slug]), settings_data)
    assert shifts.status_code == 400
    assert shifts.context["settings_form"].errors["effective_at"]
    assert roster.rotations.count() == 1


def test_api_refuses_a_far_time_naming_the_field(api_for, team_admin, roster):
    client = api_for(team_admin)
    far = {"effective": "at", "effective_at": "9999-12-30T09:00"}
    people = client.put(
        "/api/oncall/rosters/payments-im/participants/", {"participants": ["pat"], **far}
    )
    assert people.status_code == 400
    assert "effective_at" in people.json()
    shifts = client.patch("/api/oncall/rosters/payments-im/", {"handoff_time": "21:00", **far})
    assert shifts.status_code == 400
    assert "effective_at" in shifts.json()
    assert roster.rotations.count() == 1


# A later hand-off time: the first shift ends at the first new hand-off -------------------


def slots_from(roster, start, end):
    loaded = Roster.objects.get(pk=roster.pk)
    return [(name(s.user), s.starts_at, s.ends_at) for s in schedule(loaded, start, end)]


def test_daily_handoff_moved_later_ends_the_first_shift_at_the_new_time(make_roster, cid):
    # Daily at 09:00 Paris: pia's turn (Wednesday 4 March 08:00 UTC) hands off
    # Thursday 5 March 08:00 UTC. From then, hand-offs at 21:00 Paris (20:00 UTC).
    daily = make_roster("daily", people=["pia", "pat"], shift_unit="days")
    actions.change_rotation(daily, by=cid, handoff_time=time(21, 0))
    handoff = utc(2026, 3, 5, 8)
    assert slots_from(daily, handoff, utc(2026, 3, 7, 20)) == [
        ("pia", handoff, utc(2026, 3, 5, 20)),  # 12 h, not 36 h
        ("pat", utc(2026, 3, 5, 20), utc(2026, 3, 6, 20)),
        ("pia", utc(2026, 3, 6, 20), utc(2026, 3, 7, 20)),
    ]


def test_weekly_handoff_moved_later_ends_the_first_shift_at_the_new_time(roster, cid):
    actions.change_rotation(roster, by=cid, handoff_time=time(21, 0))
    assert slots_from(roster, NEXT_HANDOFF, utc(2026, 3, 23, 20)) == [
        ("pia", NEXT_HANDOFF, utc(2026, 3, 9, 20)),  # 12 h, not a week and 12 h
        ("pat", utc(2026, 3, 9, 20), utc(2026, 3, 16, 20)),
        ("pia", utc(2026, 3, 16, 20), utc(2026, 3, 23, 20)),
    ]


def test_handoff_moved_later_now_ends_the_shift_at_todays_new_handoff(make_roster, cid):
    daily = make_roster("daily", people=["pia", "pat"], shift_unit="days")
    actions.change_rotation(daily, by=cid, effective=actions.NOW, handoff_time=time(21, 0))
    assert slots_from(daily, NOW, utc(2026, 3, 5, 20)) == [
        ("pia", NOW, utc(2026, 3, 4, 20)),
        ("pat", utc(2026, 3, 4, 20), utc(2026, 3, 5, 20)),
    ]


# The roster's own fields -------------------------------------------------------------------


def test_roster_settings_mirror_the_newest_version_and_start_date_stays_the_first_day(roster):
    actions.update_roster(roster, by=None, shift_unit="days", handoff_time=time(21, 0))
    roster.refresh_from_db()
    newest = roster.rotations.latest("effective_from")
    mirrored = ("shift_length", "shift_unit", "handoff_time", "time_zone")
    assert [getattr(roster, f) for f in mirrored] == [getattr(newest, f) for f in mirrored]
    assert roster.start_date == roster.rotations.earliest("effective_from").start_date


def test_roster_page_describes_the_rotation_in_force_now(client_for, team_admin, roster):
    actions.update_roster(roster, by=None, shift_unit="days", handoff_time=time(21, 0))
    page = client_for(team_admin).get(reverse("oncall:roster", args=[roster.slug]))
    text = page.content.decode()
    assert "Every 1 weeks at 09:00 Europe/Paris, since" in text
    assert "from 2026-01-05" not in text
    assert "every 1 days." in text
