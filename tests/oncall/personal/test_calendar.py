"""The calendar in the viewer's zone, hand-offs at the local hour across a
daylight-saving change, every shift labelled without single-letter slivers."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from oncall.personal import calendar
from tests.factories import UserFactory

# Friday 27 March 2026; Europe/Paris moves to summer time on Sunday 29 March.
FRIDAY = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def daily(make_roster, team, pia, raf, time_machine):
    time_machine.move_to(FRIDAY, tick=False)
    return make_roster(
        "payments-daily",
        people=["pia", "raf"],
        team=team,
        shift_unit="days",
        start_date=date(2026, 3, 27),
    )


def descriptions(response, who):
    return [
        bar.description
        for row in response.context["rows"]
        for bar in row["bars"]
        if bar.slot.user is not None and bar.slot.user.username == who
    ]


def test_hand_offs_stay_at_09_00_in_paris_across_the_change(daily, client_for, pia):
    response = client_for(pia).get(reverse("oncall:calendar"), {"tz": "Europe/Paris"})
    assert response.status_code == 200
    shown = descriptions(response, "raf")
    assert shown[0] == "Rafael Ortiz: Sat 28 Mar 09:00 to Sun 29 Mar 09:00"
    assert shown[1] == "Rafael Ortiz: Mon 30 Mar 09:00 to Tue 31 Mar 09:00"
    html = response.content.decode()
    assert 'aria-label="Rafael Ortiz: Sat 28 Mar 09:00 to Sun 29 Mar 09:00"' in html
    assert "in your time zone Europe/Paris" in html


def test_a_viewer_in_new_york_sees_the_same_hand_offs_an_hour_apart(daily, client_for, pia):
    response = client_for(pia).get(reverse("oncall:calendar"), {"tz": "America/New_York"})
    # 09:00 CET is 04:00 EDT; after Paris moved, 09:00 CEST is 03:00 EDT.
    assert descriptions(response, "raf")[0] == "Rafael Ortiz: Sat 28 Mar 04:00 to Sun 29 Mar 03:00"


def test_an_unknown_zone_falls_back_to_the_portals(daily, client_for, pia, settings):
    response = client_for(pia).get(reverse("oncall:calendar"), {"tz": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.context["zone"] == settings.TIME_ZONE


def test_the_day_runs_from_local_midnight(daily, client_for, pia):
    response = client_for(pia).get(reverse("oncall:calendar"), {"tz": "Europe/Paris"})
    assert response.context["start"] == datetime(2026, 3, 26, 23, 0, tzinfo=UTC)
    ticks = response.context["ticks"]
    # Sunday 29 March has 23 hours: Monday's line sits 23/24 of a day after Sunday's.
    day = 100 / calendar.DAYS
    assert float(ticks[3].left) - float(ticks[2].left) == pytest.approx(day * 23 / 24, abs=0.01)


def test_labels_are_a_full_name_initials_or_nothing(db):
    pia = UserFactory(username="pia", first_name="Pia", last_name="Keller")
    mono = UserFactory(username="x", first_name="", last_name="")
    assert calendar.initials(pia) == "PK"
    assert calendar.initials(mono) == "X"
    assert calendar._fits("Pia Keller", 25.0)  # a week of four
    assert not calendar._fits("Pia Keller", 100 / 28)  # a day: initials
    assert calendar._fits("PK", 100 / 28, initials=True)
    assert not calendar._fits(
        "PK", 100 / 28 / 24, initials=True
    )  # an hour: the title and aria-label only


def test_a_daily_roster_is_labelled_by_initials(daily, client_for, pia):
    response = client_for(pia).get(reverse("oncall:calendar"), {"tz": "Europe/Paris"})
    bars = [bar for row in response.context["rows"] for bar in row["bars"] if bar.slot.user]
    whole_days = [
        bar for bar in bars if bar.slot.ends_at - bar.slot.starts_at >= timedelta(hours=23)
    ]
    assert {bar.label for bar in whole_days} == {"PK", "RO"}
    # The last shift, cut by the calendar's end after 15 hours, is too narrow for two
    # letters at the narrowest: no label, its name in its title and accessible label.
    assert (bars[-1].label, bars[-1].description) == (
        "",
        "Rafael Ortiz: Thu 23 Apr 09:00 to Fri 24 Apr 00:00",
    )


def test_a_chosen_zone_and_language_draw_the_calendar_in_them(daily, client_for, pia):
    from incidents.models import Preferences

    Preferences.objects.create(person=pia, language="ko", time_zone="Asia/Seoul")
    response = client_for(pia).get(reverse("oncall:calendar"))
    html = response.content.decode()
    # The page's script leaves a chosen zone alone (it would swap in the browser's).
    assert 'data-zone="Asia/Seoul" data-chosen' in html
    # 09:00 in Paris is 17:00 in Seoul; Korean reads month, day, weekday.
    assert (
        descriptions(response, "raf")[0]
        == "Rafael Ortiz: 3월 28일 (토요일) 17:00 ~ 3월 29일 (일요일) 16:00"
    )


def test_without_a_chosen_zone_the_browsers_is_asked_for(daily, client_for, pia):
    html = client_for(pia).get(reverse("oncall:calendar")).content.decode()
    assert "data-chosen" not in html
