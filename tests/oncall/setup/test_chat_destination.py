"""A team's admins point its incidents at a chat webhook from the portal and the API."""

from django.urls import reverse

from comms.models import ChatMessage, ChatWebhook
from tests.factories import make_incident

HOOK = "https://hooks.example.com/services/T000/B000/secret-part"


def test_a_team_admin_sets_the_chat_webhook_and_incidents_post_to_it(
    client_for, team, team_admin, service
):
    answer = client_for(team_admin).post(
        reverse("oncall:team_chat", args=[team.slug]), {"url": HOOK, "format": "slack"}
    )
    assert answer.status_code == 302
    webhook = ChatWebhook.objects.get(team=team)
    make_incident(severity=2, faulty_service=service)
    assert ChatMessage.objects.filter(webhook=webhook).exists()
    page = client_for(team_admin).get(reverse("oncall:team", args=[team.slug]))
    # The URL is a credential: the page names its host only.
    assert b"hooks.example.com" in page.content
    assert b"secret-part" not in page.content


def test_stopping_deactivates_and_keeps_what_was_sent(client_for, team, team_admin, service):
    client = client_for(team_admin)
    client.post(reverse("oncall:team_chat", args=[team.slug]), {"url": HOOK, "format": "slack"})
    make_incident(severity=2, faulty_service=service)
    client.post(reverse("oncall:team_chat", args=[team.slug]), {"remove": "1"})
    webhook = ChatWebhook.objects.get(team=team)
    assert not webhook.active
    assert webhook.messages.count() >= 1
    sent = ChatMessage.objects.count()
    make_incident(severity=2, faulty_service=service)
    assert ChatMessage.objects.count() == sent


def test_a_bad_address_is_refused_on_the_field(client_for, team, team_admin):
    answer = client_for(team_admin).post(
        reverse("oncall:team_chat", args=[team.slug]), {"url": "not a url", "format": "slack"}
    )
    assert answer.status_code == 400
    assert answer.context["chat_form"].errors["url"]
    assert not ChatWebhook.objects.exists()


def test_readers_may_not_set_it(client_for, api_for, team, support):
    url = reverse("oncall:team_chat", args=[team.slug])
    assert client_for(support).post(url, {"url": HOOK, "format": "slack"}).status_code == 403
    answer = api_for(support).put(
        f"/api/oncall/teams/{team.slug}/chat-webhook/", {"url": HOOK}, format="json"
    )
    assert answer.status_code == 403
    assert not ChatWebhook.objects.exists()


def test_the_api_sets_shows_the_host_and_removes(api_for, team, team_admin):
    api = api_for(team_admin)
    url = f"/api/oncall/teams/{team.slug}/chat-webhook/"
    answer = api.put(url, {"url": HOOK, "format": "teams"}, format="json")
    assert answer.json() == {
        "configured": True,
        "host": "hooks.example.com",
        "format": "teams",
        "language": "",
    }
    assert api.put(url, {"url": "ftp://x"}, format="json").json() == {
        "url": ["Enter the webhook's full http(s) address."]
    }
    assert api.delete(url).status_code == 204
    assert api.get(url).json() == {
        "configured": False,
        "host": "",
        "format": None,
        "language": "",
    }
