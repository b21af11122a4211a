"""The personal on-call API: rules, test pages and swaps, with the portal's rules."""

from datetime import UTC, datetime

import pytest

from oncall.models import ContactMethod, Override
from oncall.personal.models import NotificationRule, ShiftSwap, SwapState
from oncall.personal.models import TestPage as SentTestPage
from tests.conftest import requires_postgres
from tests.factories import UserFactory

from .conftest import NOW

WED = "2026-03-04T08:00:00Z"
THU = "2026-03-05T08:00:00Z"


@pytest.fixture
def mail(pia):
    return ContactMethod.objects.create(user=pia, kind="email", target="pia@example.com")


def test_a_rule_is_added_listed_and_removed(api_for, pia, mail):
    api = api_for(pia)
    response = api.post(
        "/api/oncall/rules/",
        {"chain": "major", "method": mail.pk, "delay_minutes": 5},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["delay_minutes"] == 5
    listed = api.get("/api/oncall/rules/").json()
    assert [(r["chain"], r["kind"], r["delay_minutes"]) for r in listed] == [("major", "email", 5)]
    rule_id = listed[0]["id"]
    assert (
        api_for(UserFactory(username="ola")).delete(f"/api/oncall/rules/{rule_id}/").status_code
        == 404
    )
    assert api.delete(f"/api/oncall/rules/{rule_id}/").status_code == 204
    assert not NotificationRule.objects.exists()


def test_a_rule_with_bad_input_is_a_400_naming_the_field(api_for, pia, mail):
    api = api_for(pia)
    other = ContactMethod.objects.create(
        user=UserFactory(username="ola"), kind="email", target="o@example.com"
    )
    cases = [
        ({"chain": "urgent", "method": mail.pk, "delay_minutes": 0}, "chain"),
        ({"chain": "major", "method": other.pk, "delay_minutes": 0}, "method"),
        ({"chain": "major", "method": mail.pk, "delay_minutes": 100000}, "delay_minutes"),
    ]
    for body, field in cases:
        response = api.post("/api/oncall/rules/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
    assert not NotificationRule.objects.exists()


def test_a_test_page_is_accepted_and_read_back_by_its_owner_only(
    api_for, pia, mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_for(pia).post("/api/oncall/test-pages/", {"chain": "major"}, format="json")
    assert response.status_code == 202
    assert len(callbacks) == 1
    page_id = response.json()["id"]
    assert api_for(pia).get(f"/api/oncall/test-pages/{page_id}/").json()["status"] == "pending"
    assert (
        api_for(UserFactory(username="ola")).get(f"/api/oncall/test-pages/{page_id}/").status_code
        == 404
    )
    assert SentTestPage.objects.count() == 1


def test_a_swap_is_offered_and_taken(frozen, api_for, roster, pia, raf):
    response = api_for(pia).post(
        "/api/oncall/swaps/",
        {"roster": roster.slug, "starts_at": WED, "ends_at": THU},
        format="json",
    )
    assert response.status_code == 201, response.content
    swap_id = response.json()["id"]
    assert [s["id"] for s in api_for(raf).get("/api/oncall/swaps/").json()] == [swap_id]
    taken = api_for(raf).post(f"/api/oncall/swaps/{swap_id}/take/")
    assert taken.status_code == 200
    assert (taken.json()["state"], taken.json()["taken_by"]) == ("taken", "raf")
    again = api_for(UserFactory(username="ola")).post(f"/api/oncall/swaps/{swap_id}/take/")
    assert again.status_code == 409
    assert Override.objects.get().user == raf


def test_an_offer_of_someone_elses_time_is_a_400_naming_the_field(frozen, api_for, roster, raf):
    response = api_for(raf).post(
        "/api/oncall/swaps/",
        {"roster": roster.slug, "starts_at": WED, "ends_at": THU},
        format="json",
    )
    assert response.status_code == 400
    assert "starts_at" in response.json()
    response = api_for(raf).post(
        "/api/oncall/swaps/", {"roster": "nope", "starts_at": WED, "ends_at": THU}, format="json"
    )
    assert response.status_code == 400
    assert "roster" in response.json()
    assert not ShiftSwap.objects.exists()


def test_an_anonymous_caller_gets_nothing(db, client):
    for path in ("/api/oncall/rules/", "/api/oncall/swaps/", "/api/oncall/load/"):
        assert client.get(path).status_code in (401, 403)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_withdrawing_over_the_api_commits(api_for, roster, pia, time_machine):
    time_machine.move_to(NOW, tick=False)
    api = api_for(pia)
    swap_id = api.post(
        "/api/oncall/swaps/",
        {"roster": roster.slug, "starts_at": WED, "ends_at": THU},
        format="json",
    ).json()["id"]
    assert api.post(f"/api/oncall/swaps/{swap_id}/withdraw/").status_code == 200
    assert ShiftSwap.objects.get(pk=swap_id).state == SwapState.WITHDRAWN
    assert datetime(2026, 3, 4, 8, tzinfo=UTC) == ShiftSwap.objects.get(pk=swap_id).starts_at
