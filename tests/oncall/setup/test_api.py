"""The team set-up API: the same rules as the portal, 4xx naming the field."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Service, Team
from oncall import tasks
from oncall.models import Escalation, EscalationPolicy, PageReason, Roster, TeamAdmin
from tests.factories import TeamFactory, UserFactory, make_incident


def test_a_global_admin_creates_a_team_and_names_its_admins(api_for, admin_user, people):
    api = api_for(admin_user)
    answer = api.post("/api/oncall/teams/", {"name": "Search"}, format="json")
    assert answer.status_code == 201
    assert answer.json()["slug"] == "search"
    answer = api.put("/api/oncall/teams/search/admins/", {"admins": ["pia"]}, format="json")
    assert answer.status_code == 200
    assert answer.json()["admins"] == ["pia"]


def test_others_may_not_create_teams_or_name_admins(api_for, team, team_admin, manager):
    assert api_for(manager).post("/api/oncall/teams/", {"name": "X"}).status_code == 403
    answer = api_for(team_admin).put(
        f"/api/oncall/teams/{team.slug}/admins/", {"admins": ["tia"]}, format="json"
    )
    assert answer.status_code == 403
    assert not Team.objects.filter(name="X").exists()


def test_a_duplicate_team_is_refused_naming_the_field(api_for, admin_user, team):
    answer = api_for(admin_user).post("/api/oncall/teams/", {"name": "Payments"}, format="json")
    assert answer.status_code == 400
    assert "name" in answer.json()


def test_an_unknown_admin_is_refused_naming_the_field(api_for, admin_user, team, team_admin):
    answer = api_for(admin_user).put(
        f"/api/oncall/teams/{team.slug}/admins/", {"admins": ["ghost"]}, format="json"
    )
    assert answer.status_code == 400
    assert "admins" in answer.json()
    assert TeamAdmin.objects.filter(team=team).count() == 1


def test_the_team_list_costs_the_same_for_many_teams(
    api_for, support, django_assert_max_num_queries
):
    for number in range(10):
        team = TeamFactory(slug=f"team-{number}", name=f"Team {number}")
        team.members.add(UserFactory(username=f"member-{number}"))
    api = api_for(support)
    with django_assert_max_num_queries(6):
        answer = api.get("/api/oncall/teams/")
    assert len(answer.json()) == 10


def test_a_team_admin_sets_members_creates_a_roster_and_a_policy(api_for, team, team_admin, people):
    api = api_for(team_admin)
    answer = api.put(
        f"/api/oncall/teams/{team.slug}/members/",
        {"members": ["pia", "bea", "lea"]},
        format="json",
    )
    assert answer.json()["members"] == ["bea", "lea", "pia"]
    answer = api.post(
        f"/api/oncall/teams/{team.slug}/rosters/",
        {"name": "IM", "participants": ["pia", "bea", "lea"], "shift_unit": "days"},
        format="json",
    )
    assert answer.status_code == 201
    slug = answer.json()["slug"]
    assert answer.json()["participants"] == ["pia", "bea", "lea"]
    answer = api.put(
        f"/api/oncall/teams/{team.slug}/escalation-policy/",
        {
            "repeat": 1,
            "steps": [
                {"kind": "roster", "wait_minutes": 5, "roster": slug},
                {"kind": "team", "wait_minutes": 10},
            ],
        },
        format="json",
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "team": "payments",
        "repeat": 1,
        "steps": [
            {"position": 0, "wait_minutes": 5, "kind": "roster", "roster": slug, "user": None},
            {"position": 1, "wait_minutes": 10, "kind": "team", "roster": None, "user": None},
        ],
    }
    preview = api.get(f"/api/oncall/teams/{team.slug}/escalation-policy/preview/").json()
    assert len(preview) == 2 * 2 + 2  # the first page, two steps twice, the IMOC


def test_a_bad_step_is_refused_naming_the_field_and_nothing_changes(api_for, team, team_admin):
    api = api_for(team_admin)
    answer = api.put(
        f"/api/oncall/teams/{team.slug}/escalation-policy/",
        {"repeat": 0, "steps": [{"kind": "user", "wait_minutes": 5}]},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json() == {"steps": ["Step 1: choose the person to notify."]}
    assert not EscalationPolicy.objects.filter(team=team).exists()


def test_archiving_through_the_api_leaves_the_roster_list(api_for, team, team_admin, people):
    api = api_for(team_admin)
    slug = api.post(
        f"/api/oncall/teams/{team.slug}/rosters/", {"name": "Old"}, format="json"
    ).json()["slug"]
    answer = api.post(f"/api/oncall/rosters/{slug}/archive/")
    assert answer.status_code == 200
    assert answer.json()["archived_at"] is not None
    assert slug not in [row["slug"] for row in api.get("/api/oncall/rosters/").json()]
    rosters = api.get(f"/api/oncall/teams/{team.slug}/rosters/").json()
    assert [row["slug"] for row in rosters] == [slug]


def test_readers_may_not_write(api_for, support, team):
    api = api_for(support)
    assert api.patch(f"/api/oncall/teams/{team.slug}/", {"name": "X"}).status_code == 403
    assert (
        api.put(f"/api/oncall/teams/{team.slug}/escalation-policy/", {}, format="json")
    ).status_code == 403
    assert api.get(f"/api/oncall/teams/{team.slug}/escalation-policy/").status_code == 200


def test_a_preview_far_away_is_refused_naming_the_field(api_for, support, team):
    answer = api_for(support).get(
        f"/api/oncall/teams/{team.slug}/escalation-policy/preview/", {"at": "2999-01-01T00:00Z"}
    )
    assert answer.status_code == 400
    assert "at" in answer.json()


@pytest.mark.django_db(transaction=True)
def test_over_http_without_a_wrapping_transaction_a_team_is_set_up_and_pages(
    admin_user, time_machine
):
    """Committed for real, as in production (PostgreSQL: DATABASE_URL)."""
    time_machine.move_to(timezone.now(), tick=False)
    for name in ("pia", "bea", "lea"):
        UserFactory(username=name)
    client = Client()
    client.force_login(admin_user)

    def send(method, url, body):
        answer = getattr(client, method)(url, body, content_type="application/json")
        assert answer.status_code in (200, 201), answer.content
        return answer.json()

    send("post", "/api/oncall/teams/", {"name": "Payments"})
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    roster = send(
        "post",
        "/api/oncall/teams/payments/rosters/",
        {
            "name": "IM",
            "participants": ["pia", "bea", "lea"],
            "start_date": yesterday,
            "handoff_time": "00:00",
        },
    )
    send(
        "put",
        "/api/oncall/teams/payments/escalation-policy/",
        {"repeat": 0, "steps": [{"kind": "user", "wait_minutes": 5, "user": "lea"}]},
    )
    send("post", "/api/services/", {"name": "Checkout", "slug": "checkout", "team": "payments"})
    incident = make_incident(severity=1, faulty_service=Service.objects.get(slug="checkout"))
    assert Escalation.objects.get(incident=incident).plan["steps"][0]["label"] == "lea"
    assert [(p.recipient, p.reason) for p in incident.pages.all()] == [("pia", PageReason.INCIDENT)]
    # Editing during the incident: the running escalation still pages lea.
    send(
        "put",
        "/api/oncall/teams/payments/escalation-policy/",
        {"repeat": 0, "steps": [{"kind": "user", "wait_minutes": 5, "user": "bea"}]},
    )
    time_machine.shift(timedelta(minutes=5))
    assert tasks.escalate() == 1
    assert incident.pages.order_by("-pk").first().recipient == "lea"
    assert Roster.objects.get(slug=roster["slug"]).team.slug == "payments"
