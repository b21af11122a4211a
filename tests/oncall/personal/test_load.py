"""The load report, its numbers worked out by hand for one week of a small roster."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from incidents import actions as incident_actions
from oncall import actions
from oncall.personal import load
from tests.factories import ServiceFactory, TeamFactory, make_incident

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
END = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
PERIOD = {"since": "2026-03-02", "until": "2026-03-08"}


@pytest.fixture
def week(time_machine, roster, service, pia, raf):
    """pia's week runs from Mon 2 Mar 08:00 UTC (09:00 Paris); raf's before it. raf
    covers Wed 08:00 to Thu 08:00 UTC. Four pages in the week, one after it."""
    time_machine.move_to(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False)
    actions.add_override(
        roster,
        user=raf,
        starts_at=datetime(2026, 3, 4, 8, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        by=raf,
    )
    when = [
        datetime(2026, 3, 3, 22, 30, tzinfo=UTC),  # pia; 23:30 in Paris: night
        datetime(2026, 3, 4, 12, 0, tzinfo=UTC),  # raf (override); 13:00: day
        datetime(2026, 3, 5, 5, 30, tzinfo=UTC),  # raf (override); 06:30: night
        datetime(2026, 3, 6, 6, 30, tzinfo=UTC),  # pia; 07:30 in Paris: day (night in UTC)
        datetime(2026, 3, 9, 0, 30, tzinfo=UTC),  # after the period
    ]
    incidents = []
    for at in when:
        time_machine.move_to(at, tick=False)
        incidents.append(make_incident(severity=1, faulty_service=service))
    time_machine.move_to(when[0] + timedelta(minutes=5), tick=False)
    incident_actions.claim_incident(incidents[0], by=pia)
    time_machine.move_to(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
    return incidents


def figures(rows):
    return {
        r.user.username: (r.pages, r.night_pages, r.hours_on_call, r.incidents_managed, r.time_zone)
        for r in rows
    }


def test_the_numbers_match_the_hand_count(week):
    # pia: Mon 08:00 to the period's end Mon 00:00 is 160 h, less raf's 24 h override.
    # raf: Mon 00:00 to 08:00 (his week's end), and the 24 h override.
    assert figures(load.report(START, END)) == {
        "pia": (2, 1, 136.0, 1, "Europe/Paris"),
        "raf": (2, 1, 32.0, 0, "Europe/Paris"),
    }


def test_the_page_shows_the_table_charts_and_csv(week, client_for, admin_user):
    client = client_for(admin_user)
    response = client.get(reverse("oncall:load"), PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="chart"' in html
    assert "Pages at night per person" in html
    assert "Pia Keller" in html
    response = client.get(reverse("oncall:load"), {**PERIOD, "format": "csv"})
    assert response["Content-Type"] == "text/csv"
    assert "oncall-load-2026-03-02-2026-03-08.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["username"], r["pages"], r["night_pages"], r["hours_on_call"]) for r in rows] == [
        ("pia", "2", "1", "136.00"),
        ("raf", "2", "1", "32.00"),
    ]


def test_the_report_costs_the_same_for_more_people(
    week, client_for, admin_user, make_roster, django_assert_max_num_queries
):
    client = client_for(admin_user)
    with django_assert_max_num_queries(14) as counted:
        client.get(reverse("oncall:load"), PERIOD)
    first = len(counted.captured_queries)
    for n in range(3):
        team = TeamFactory(slug=f"team-x{n}")
        ServiceFactory(team=team)
        make_roster(
            f"extra-{n}", people=[f"x{n}a", f"x{n}b"], team=team, start_date=date(2026, 2, 2)
        )
    with django_assert_max_num_queries(first):
        client.get(reverse("oncall:load"), PERIOD)


def test_people_who_plan_no_roster_get_403(db, client_for, responder):
    assert client_for(responder).get(reverse("oncall:load")).status_code == 403


def test_a_backwards_period_is_a_400_naming_the_field(db, client_for, admin_user):
    response = client_for(admin_user).get(
        reverse("oncall:load"), {"since": "2026-03-08", "until": "2026-03-01"}
    )
    assert response.status_code == 400
    assert "until" in response.context["form"].errors


def test_the_api_gives_the_same_numbers(week, api_for, admin_user, responder):
    response = api_for(admin_user).get("/api/oncall/load/", PERIOD)
    assert response.status_code == 200
    people = {p["username"]: p for p in response.json()["people"]}
    assert people["pia"]["hours_on_call"] == 136.0
    assert people["raf"]["night_pages"] == 1
    assert api_for(responder).get("/api/oncall/load/").status_code == 403
    bad = api_for(admin_user).get("/api/oncall/load/", {"since": "yesterday"})
    assert bad.status_code == 400
    assert "since" in bad.json()


def test_night_runs_from_22_to_07_local():
    assert load.is_night(datetime(2026, 3, 3, 21, 0, tzinfo=UTC), "Europe/Paris")  # 22:00
    assert not load.is_night(datetime(2026, 3, 3, 6, 0, tzinfo=UTC), "Europe/Paris")  # 07:00
    assert load.is_night(datetime(2026, 3, 3, 5, 59, tzinfo=UTC), "Europe/Paris")
