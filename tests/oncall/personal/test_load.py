"""The load report, its numbers worked out by hand for one week of a small roster."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from incidents import actions as incident_actions
from oncall import actions
from oncall.models import TeamAdmin
from oncall.personal import load
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident

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


@pytest.mark.parametrize("viewer", ["global admin", "team admin"])
def test_the_report_costs_the_same_for_more_people(
    week, client_for, admin_user, team, make_roster, django_assert_max_num_queries, viewer
):
    payments = team
    client = client_for(admin_user if viewer == "global admin" else admin_of(payments, "tara"))
    with django_assert_max_num_queries(14) as counted:
        client.get(reverse("oncall:load"), PERIOD)
    first = len(counted.captured_queries)
    for n in range(3):
        other = TeamFactory(slug=f"team-x{n}")
        ServiceFactory(team=other)
        extra = make_roster(
            f"extra-{n}", people=[f"x{n}a", f"x{n}b"], team=other, start_date=date(2026, 2, 2)
        )
        # Members of payments as well: the team admin's report shows them too.
        payments.members.add(*(place.user for place in extra.participants.all()))
    with django_assert_max_num_queries(first):
        rows = client.get(reverse("oncall:load"), PERIOD).context["rows"]
    assert len(rows) == 8


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


# Who sees whom --------------------------------------------------------------------------


@pytest.fixture
def search_team(week, make_roster, time_machine):
    """Another team's roster (sam on call all week) and its member ivy, who managed an
    incident of the week; payments' member mo (on no roster) managed one too."""
    team = TeamFactory(slug="search", name="Search")
    make_roster("search-im", people=["sam"], team=team, start_date=date(2026, 2, 2))
    ivy, mo = UserFactory(username="ivy"), UserFactory(username="mo")
    team.members.add(ivy)
    week[0].faulty_service.team.members.add(mo)
    time_machine.move_to(datetime(2026, 3, 4, 10, 0, tzinfo=UTC), tick=False)
    incident_actions.claim_incident(week[1], by=ivy)
    incident_actions.claim_incident(week[2], by=mo)
    time_machine.move_to(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False)
    return team


def admin_of(team, username):
    person = UserFactory(username=username, group="responder")
    TeamAdmin.objects.create(team=team, user=person)
    return person


def test_a_team_admin_sees_the_people_of_their_teams_only(search_team, team, client_for, api_for):
    tara = admin_of(team, "tara")
    response = client_for(tara).get(reverse("oncall:load"), PERIOD)
    assert response.status_code == 200
    assert [row.user.username for row in response.context["rows"]] == ["pia", "raf", "mo"]
    assert "The people of the teams you administer: Payments." in response.content.decode()
    # Each person's whole load, as the global report counts it.
    assert figures(response.context["rows"])["pia"] == (2, 1, 136.0, 1, "Europe/Paris")
    csv_rows = client_for(tara).get(reverse("oncall:load"), {**PERIOD, "format": "csv"})
    usernames = [r["username"] for r in csv.DictReader(io.StringIO(csv_rows.content.decode()))]
    assert usernames == ["pia", "raf", "mo"]
    people = api_for(tara).get("/api/oncall/load/", PERIOD).json()["people"]
    assert [p["username"] for p in people] == ["pia", "raf", "mo"]


def test_an_admin_of_two_teams_sees_both(search_team, team, client_for):
    both = admin_of(team, "tara")
    TeamAdmin.objects.create(team=search_team, user=both)
    rows = client_for(both).get(reverse("oncall:load"), PERIOD).context["rows"]
    assert {row.user.username for row in rows} == {"sam", "pia", "raf", "ivy", "mo"}


def test_the_other_teams_admin_sees_their_own(search_team, client_for, api_for):
    sid = admin_of(search_team, "sid")
    rows = client_for(sid).get(reverse("oncall:load"), PERIOD).context["rows"]
    assert [row.user.username for row in rows] == ["sam", "ivy"]
    people = api_for(sid).get("/api/oncall/load/", PERIOD).json()["people"]
    assert [p["username"] for p in people] == ["sam", "ivy"]


def test_a_global_admin_sees_everyone(search_team, client_for, admin_user):
    response = client_for(admin_user).get(reverse("oncall:load"), PERIOD)
    rows = response.context["rows"]
    assert {row.user.username for row in rows} == {"sam", "pia", "raf", "ivy", "mo"}
    assert "The people of the teams you administer" not in response.content.decode()
