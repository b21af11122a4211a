"""Team admins choose the language of their team's chat and distribution lists, in the
portal and the API; a value the portal does not speak is refused on its field."""

import pytest
from django.urls import reverse

from comms.models import ChatWebhook, DistributionList
from oncall.models import TeamAdmin
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.example.com/in/secret-part"


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def team_admin(team):
    user = UserFactory(username="tia", group="responder")
    TeamAdmin.objects.create(team=team, user=user)
    return user


def test_the_portal_sets_a_chats_and_a_lists_language(client_for, team, team_admin):
    client = client_for(team_admin)
    client.post(
        reverse("oncall:team_chat", args=[team.slug]),
        {"url": HOOK, "format": "slack", "language": "ko"},
    )
    assert ChatWebhook.objects.get(team=team).language == "ko"
    client.post(
        reverse("oncall:team_distribution_list_add", args=[team.slug]),
        {"list-name": "ops", "list-addresses": "a@example.com", "list-language": "ko"},
    )
    distribution = DistributionList.objects.get()
    assert distribution.language == "ko"

    # The page shows each one's language as chosen, to be changed in place.
    page = client.get(reverse("oncall:team", args=[team.slug])).content.decode()
    assert page.count('<option value="ko" selected>') == 2
    prefix = f"list-{distribution.pk}"
    client.post(
        reverse("oncall:team_distribution_list", args=[team.slug, distribution.pk]),
        {f"{prefix}-name": "ops", f"{prefix}-addresses": "a@example.com", f"{prefix}-language": ""},
    )
    distribution.refresh_from_db()
    assert distribution.language == ""


def test_a_language_the_portal_does_not_speak_is_refused(client_for, team, team_admin):
    answer = client_for(team_admin).post(
        reverse("oncall:team_chat", args=[team.slug]),
        {"url": HOOK, "format": "slack", "language": "xx"},
    )
    assert answer.status_code == 400
    assert answer.context["chat_form"].errors["language"]
    assert not ChatWebhook.objects.exists()


def test_the_api_reads_and_sets_the_languages(client_for, team, team_admin):
    client = client_for(team_admin)
    chat = client.put(
        f"/api/oncall/teams/{team.slug}/chat-webhook/",
        {"url": HOOK, "language": "ko"},
        content_type="application/json",
    )
    assert chat.json()["language"] == "ko"
    lists = f"/api/oncall/teams/{team.slug}/distribution-lists/"
    created = client.post(
        lists,
        {"name": "ops", "addresses": ["a@example.com"], "language": "ko"},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["language"] == "ko"
    # A change that leaves the language out keeps it.
    changed = client.put(
        f"{lists}{created.json()['id']}/",
        {"name": "ops", "addresses": ["b@example.com"]},
        content_type="application/json",
    )
    assert changed.json()["language"] == "ko"
    refused = client.post(
        lists,
        {"name": "other", "addresses": [], "language": "xx"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "language" in refused.json()
