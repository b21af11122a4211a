"""The team set-up pages: global admins create teams and name admins, team admins run
their team, everyone else reads; bad input answers 400 on the field and writes nothing."""

from datetime import date, time

from django.urls import reverse

from incidents.models import Team
from oncall.models import EscalationPolicy, Roster, StepKind, TeamAdmin
from oncall.setup import actions as setup
from oncall.setup.actions import StepIn
from tests.factories import TeamFactory


def test_everyone_signed_in_reads_the_teams(client_for, support, team, team_admin):
    answer = client_for(support).get(reverse("oncall:teams"))
    assert answer.status_code == 200
    assert b"Payments" in answer.content
    assert b"tia" in answer.content
    assert b"New team" not in answer.content


def test_the_team_list_costs_the_same_for_many_teams(
    client_for, admin_user, django_assert_max_num_queries
):
    for number in range(12):
        TeamFactory(slug=f"team-{number}", name=f"Team {number}")
    client = client_for(admin_user)
    with django_assert_max_num_queries(12):
        answer = client.get(reverse("oncall:teams"))
    assert answer.content.count(b'id="team-') == 12


def test_a_global_admin_creates_a_team(client_for, admin_user):
    answer = client_for(admin_user).post(
        reverse("oncall:teams"), {"name": "Search", "email": "search@example.com"}
    )
    assert answer.status_code == 302
    team = Team.objects.get(slug="search")
    assert answer.url == reverse("oncall:team", args=["search"])
    assert team.email == "search@example.com"


def test_others_may_not_create_teams(client_for, manager):
    answer = client_for(manager).post(reverse("oncall:teams"), {"name": "Search"})
    assert answer.status_code == 403
    assert not Team.objects.filter(slug="search").exists()


def test_a_second_team_of_the_same_name_is_refused_on_the_name(client_for, admin_user, team):
    answer = client_for(admin_user).post(reverse("oncall:teams"), {"name": "Payments"})
    assert answer.status_code == 400
    assert answer.context["form"].errors["name"]
    assert Team.objects.count() == 1


def test_a_global_admin_names_team_admins_and_a_team_admin_may_not(
    client_for, admin_user, team, team_admin, people
):
    url = reverse("oncall:team_admins", args=[team.slug])
    assert client_for(team_admin).post(url, {"people": "pia"}).status_code == 403
    answer = client_for(admin_user).post(url, {"people": "pia\nbea"})
    assert answer.status_code == 302
    assert sorted(TeamAdmin.objects.filter(team=team).values_list("user__username", flat=True)) == [
        "bea",
        "pia",
    ]


def test_an_unknown_person_is_refused_on_the_field(client_for, admin_user, team, team_admin):
    answer = client_for(admin_user).post(
        reverse("oncall:team_admins", args=[team.slug]), {"people": "nobody-here"}
    )
    assert answer.status_code == 400
    assert "No such user: nobody-here." in answer.context["admins_form"].errors["people"]
    assert list(TeamAdmin.objects.filter(team=team).values_list("user__username", flat=True)) == [
        "tia"
    ]


def test_a_team_admin_creates_a_roster_of_three(client_for, team, team_admin, people):
    answer = client_for(team_admin).post(
        reverse("oncall:team_roster_create", args=[team.slug]),
        {
            "name": "Payments IM",
            "participants": "pia\nbea\nlea",
            "shift_length": 1,
            "shift_unit": "weeks",
            "handoff_time": "09:00",
            "start_date": "2026-01-05",
            "time_zone": "Europe/Paris",
        },
    )
    roster = Roster.objects.get(team=team)
    assert answer.status_code == 302
    assert answer.url == reverse("oncall:roster", args=[roster.slug])
    assert roster.slug == "payments-payments-im"
    assert [p.user.username for p in roster.participants.order_by("position")] == [
        "pia",
        "bea",
        "lea",
    ]


def test_a_roster_with_a_bad_time_zone_is_refused_on_the_field(client_for, team, team_admin):
    answer = client_for(team_admin).post(
        reverse("oncall:team_roster_create", args=[team.slug]),
        {
            "name": "X",
            "shift_length": 1,
            "shift_unit": "weeks",
            "handoff_time": "09:00",
            "time_zone": "Mars/Olympus",
        },
    )
    assert answer.status_code == 400
    assert answer.context["roster_form"].errors["time_zone"]
    assert not Roster.objects.filter(team=team).exists()


def test_a_member_of_another_team_may_not_change_this_one(client_for, team, responder):
    other = TeamFactory(slug="search", name="Search")
    TeamAdmin.objects.create(team=other, user=responder)
    client = client_for(responder)
    assert client.post(reverse("oncall:team", args=[team.slug]), {"name": "X"}).status_code == 403
    assert (
        client.post(
            reverse("oncall:team_roster_create", args=[team.slug]), {"name": "X"}
        ).status_code
        == 403
    )
    assert client.post(reverse("oncall:escalation", args=[team.slug]), {}).status_code == 403
    assert client.get(reverse("oncall:team", args=[team.slug])).status_code == 200


def test_an_unknown_team_is_404(client_for, support):
    assert client_for(support).get(reverse("oncall:team", args=["nope"])).status_code == 404


def _policy_post(**steps):
    data = {
        "repeat": "1",
        "steps-TOTAL_FORMS": "3",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "20",
    }
    data.update(steps)
    return data


def test_a_team_admin_saves_a_policy_with_two_steps(client_for, team, team_admin, people):
    roster = setup.create_team_roster(team, name="Backup", by=team_admin, participants=people)
    answer = client_for(team_admin).post(
        reverse("oncall:escalation", args=[team.slug]),
        _policy_post(
            **{
                "steps-0-wait_minutes": "5",
                "steps-0-kind": "roster",
                "steps-0-roster": roster.slug,
                "steps-1-wait_minutes": "10",
                "steps-1-kind": "user",
                "steps-1-user": "lea",
            }
        ),
    )
    assert answer.status_code == 302
    policy = EscalationPolicy.objects.get(team=team)
    assert policy.repeat == 1
    assert [(s.kind, s.wait_minutes, s.roster, s.user) for s in policy.steps.all()] == [
        ("roster", 5, roster, None),
        ("user", 10, None, people[2]),
    ]


def test_a_roster_step_without_its_roster_is_refused_and_nothing_changes(
    client_for, team, team_admin, people
):
    setup.save_escalation_policy(
        team, steps=[StepIn(kind=StepKind.TEAM, wait_minutes=3)], repeat=0, by=team_admin
    )
    answer = client_for(team_admin).post(
        reverse("oncall:escalation", args=[team.slug]),
        _policy_post(**{"steps-0-wait_minutes": "5", "steps-0-kind": "roster"}),
    )
    assert answer.status_code == 400
    assert (
        "Step 1: choose the roster to notify." in answer.context["policy_form"].non_field_errors()
    )
    policy = EscalationPolicy.objects.get(team=team)
    assert [(s.kind, s.wait_minutes) for s in policy.steps.all()] == [("team", 3)]
    assert policy.repeat == 0


def test_a_step_without_its_wait_is_refused_on_the_field(client_for, team, team_admin):
    answer = client_for(team_admin).post(
        reverse("oncall:escalation", args=[team.slug]),
        _policy_post(**{"steps-0-kind": "imoc"}),
    )
    assert answer.status_code == 400
    assert answer.context["formset"].forms[0].errors["wait_minutes"]
    assert not EscalationPolicy.objects.filter(team=team).exists()


def test_the_preview_is_shown_to_readers_at_a_chosen_time(
    client_for, support, team, team_admin, people, make_roster, staffed_imoc
):
    setup.create_team_roster(
        team,
        name="IM",
        by=team_admin,
        participants=people,
        shift_unit="days",
        start_date=date(2026, 3, 1),
        time_zone="UTC",
        handoff_time=time(0, 0),
    )
    url = reverse("oncall:escalation", args=[team.slug])
    answer = client_for(support).get(url, {"at": "2026-03-02T12:00"})
    assert answer.status_code == 200
    first = answer.context["preview"][0]
    assert [user.username for user in first.who] == ["bea"]
    assert b"Save policy" not in answer.content


def test_a_preview_time_far_away_is_refused_on_the_field(client_for, support, team):
    answer = client_for(support).get(
        reverse("oncall:escalation", args=[team.slug]), {"at": "2999-01-01T00:00"}
    )
    assert answer.status_code == 400
    assert answer.context["preview_form"].errors["at"]


def test_archiving_hides_the_roster_and_restoring_brings_it_back(
    client_for, team, team_admin, people
):
    roster = setup.create_team_roster(team, name="Old", by=team_admin, participants=people)
    client = client_for(team_admin)
    answer = client.post(reverse("oncall:roster_archive", args=[roster.slug]))
    assert answer.status_code == 302
    roster.refresh_from_db()
    assert roster.is_archived
    assert roster.slug.encode() not in client.get(reverse("oncall:index")).content
    # Kept for history: its page still opens.
    assert b"Archived" in client.get(reverse("oncall:roster", args=[roster.slug])).content
    client.post(reverse("oncall:roster_restore", args=[roster.slug]))
    roster.refresh_from_db()
    assert not roster.is_archived


def test_a_roster_in_a_policy_is_not_archived(client_for, team, team_admin, people):
    roster = setup.create_team_roster(team, name="Backup", by=team_admin, participants=people)
    setup.save_escalation_policy(
        team,
        steps=[StepIn(kind=StepKind.ROSTER, wait_minutes=5, roster=roster)],
        repeat=0,
        by=team_admin,
    )
    client = client_for(team_admin)
    answer = client.post(reverse("oncall:roster_archive", args=[roster.slug]), follow=True)
    assert b"remove that step first" in answer.content
    roster.refresh_from_db()
    assert not roster.is_archived


def test_the_imoc_roster_is_not_archived(client_for, admin_user, imoc):
    answer = client_for(admin_user).post(
        reverse("oncall:roster_archive", args=[imoc.slug]), follow=True
    )
    assert b"it stays" in answer.content
    imoc.refresh_from_db()
    assert not imoc.is_archived


def test_the_on_call_area_links_to_teams_and_escalation(client_for, support):
    answer = client_for(support).get(reverse("oncall:index"))
    assert reverse("oncall:teams").encode() in answer.content
    assert b"Teams and escalation" in answer.content


def test_renumbering_the_order_moves_a_step(client_for, team, team_admin, people):
    answer = client_for(team_admin).post(
        reverse("oncall:escalation", args=[team.slug]),
        _policy_post(
            **{
                "steps-0-wait_minutes": "5",
                "steps-0-kind": "imoc",
                "steps-0-ORDER": "2",
                "steps-1-wait_minutes": "10",
                "steps-1-kind": "team",
                "steps-1-ORDER": "1",
            }
        ),
    )
    assert answer.status_code == 302
    steps = EscalationPolicy.objects.get(team=team).steps.order_by("position")
    assert [(s.kind, s.wait_minutes) for s in steps] == [("team", 10), ("imoc", 5)]
