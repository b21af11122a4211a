"""The on-call API: everyone reads, admins write, bad input names the field."""

from datetime import UTC, datetime

import pytest

from oncall.models import PageState, TeamAdmin
from tests.factories import ServiceFactory, TeamFactory, UserFactory, make_incident

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def roster(make_roster):
    return make_roster("payments-im", people=["pia", "pat"], team=TeamFactory(slug="payments"))


def test_anonymous_gets_401(client, roster):
    assert client.get("/api/oncall/rosters/").status_code == 401


def test_support_reads_rosters_with_now_next_and_feed(api_for, support, roster, imoc):
    response = api_for(support).get("/api/oncall/rosters/")
    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()}
    payments = rows["payments-im"]
    assert payments["participants"] == ["pia", "pat"]
    assert payments["on_call_now"]["user"] == "pia"
    assert payments["on_call_next"]["user"] == "pat"
    assert payments["feed_url"].endswith(f"/oncall/feeds/rosters/{roster.feed_token}.ics")
    assert rows["imoc"]["on_call_now"]["user"] is None


def test_on_call_now_lists_imoc_first(api_for, support, roster, imoc):
    response = api_for(support).get("/api/oncall/now/")
    assert [row["slug"] for row in response.json()] == ["imoc", "payments-im"]


def test_roster_list_query_count_is_constant(
    api_for, support, make_roster, django_assert_num_queries
):
    client = api_for(support)
    make_roster("a", people=["a1"], team=TeamFactory())
    with django_assert_num_queries(4):
        client.get("/api/oncall/rosters/")
    for n in range(5):
        make_roster(f"b{n}", people=[f"b{n}x", f"b{n}y"], team=TeamFactory())
    with django_assert_num_queries(4):
        client.get("/api/oncall/rosters/")


def test_support_cannot_write(api_for, support, roster):
    client = api_for(support)
    assert client.patch("/api/oncall/rosters/payments-im/", {"shift_length": 2}).status_code == 403
    body = {"user": "pat", "starts_at": "2026-03-03T00:00Z", "ends_at": "2026-03-04T00:00Z"}
    assert client.post("/api/oncall/rosters/payments-im/overrides/", body).status_code == 403


def test_team_admin_writes_settings_participants_and_overrides(api_for, roster):
    admin = UserFactory(username="tad")
    TeamAdmin.objects.create(team=roster.team, user=admin)
    client = api_for(admin)
    response = client.patch(
        "/api/oncall/rosters/payments-im/", {"shift_length": 2, "shift_unit": "days"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["shift_unit"] == "days"
    response = client.put(
        "/api/oncall/rosters/payments-im/participants/",
        {"participants": ["pat", "pia"]},
        format="json",
    )
    assert response.json()["participants"] == ["pat", "pia"]
    body = {"user": "pia", "starts_at": "2026-03-03T00:00Z", "ends_at": "2026-03-04T00:00Z"}
    created = client.post("/api/oncall/rosters/payments-im/overrides/", body, format="json")
    assert created.status_code == 201
    clash = client.post("/api/oncall/rosters/payments-im/overrides/", body, format="json")
    assert clash.status_code == 400
    assert "Overlaps the override of pia" in clash.json()["starts_at"][0]
    assert (
        client.delete(
            f"/api/oncall/rosters/payments-im/overrides/{created.json()['id']}/"
        ).status_code
        == 204
    )


def test_bad_input_names_the_field(api_for, admin_user, roster):
    client = api_for(admin_user)
    response = client.patch(
        "/api/oncall/rosters/payments-im/", {"time_zone": "Nowhere/Land"}, format="json"
    )
    assert response.status_code == 400
    assert "time_zone" in response.json()
    response = client.put(
        "/api/oncall/rosters/payments-im/participants/", {"participants": ["ghost"]}, format="json"
    )
    assert response.status_code == 400
    assert "participants" in response.json()
    body = {"user": "pia", "starts_at": "2026-03-04T00:00Z", "ends_at": "2026-03-03T00:00Z"}
    response = client.post("/api/oncall/rosters/payments-im/overrides/", body, format="json")
    assert response.status_code == 400
    assert "ends_at" in response.json()


def test_unknown_roster_is_404(api_for, support):
    assert api_for(support).get("/api/oncall/rosters/nope/").status_code == 404


def test_gaps_lists_the_empty_imoc(api_for, support, imoc):
    gaps = api_for(support).get("/api/oncall/gaps/").json()
    assert gaps
    assert gaps[0]["roster"] == "imoc"


def test_acknowledge_through_the_api(api_for, manager, support, roster):
    incident = make_incident(severity=1, faulty_service=ServiceFactory(team=roster.team))
    page = incident.pages.get()
    assert api_for(support).post(f"/api/oncall/pages/{page.pk}/acknowledge/").status_code == 403
    response = api_for(manager).post(f"/api/oncall/pages/{page.pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["state"] == PageState.ACKNOWLEDGED
    pages = api_for(support).get(f"/api/oncall/incidents/{incident.key}/pages/").json()
    assert pages[0]["acknowledged_by"] == "maya"


def test_outsider_cannot_see_incident_pages(api_for, outsider, roster):
    incident = make_incident(severity=1, faulty_service=ServiceFactory(team=roster.team))
    assert api_for(outsider).get(f"/api/oncall/incidents/{incident.key}/pages/").status_code in (
        403,
        404,
    )
