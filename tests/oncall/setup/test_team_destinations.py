"""A team's admins manage its signed webhooks and distribution lists from the portal and
the API; everyone else reads them. The team says who manages a webhook, not what it
receives: delivery still routes by event alone (``comms.actions._queue_webhooks``)."""

import pytest
import standardwebhooks
from django.urls import reverse

from comms import tasks
from comms.models import DistributionList, Webhook, WebhookDelivery, WebhookEvent
from oncall.models import TeamAdmin
from tests.factories import TeamFactory, UserFactory, make_incident
from tests.receivers import HttpReceiver

HOOK = "https://hooks.example.com/in/secret-part"
CREATED, RESOLVED = WebhookEvent.CREATED.value, WebhookEvent.RESOLVED.value


def hooks_url(team, pk=None):
    base = f"/api/oncall/teams/{team.slug}/webhooks/"
    return f"{base}{pk}/" if pk else base


def lists_url(team, pk=None):
    base = f"/api/oncall/teams/{team.slug}/distribution-lists/"
    return f"{base}{pk}/" if pk else base


# Portal ---------------------------------------------------------------------------------


def test_a_team_admin_adds_edits_and_removes_a_webhook_in_the_portal(client_for, team, team_admin):
    client = client_for(team_admin)
    answer = client.post(
        reverse("oncall:team_webhook_add", args=[team.slug]),
        {"hook-name": "warehouse", "hook-url": HOOK, "hook-events": [CREATED], "hook-active": "on"},
        follow=True,
    )
    webhook = Webhook.objects.get()
    assert (webhook.team, webhook.name, webhook.events, webhook.active) == (
        team,
        "warehouse",
        [CREATED],
        True,
    )
    # The secret is shown once, as verifiers take it; the URL only by its host.
    assert b"whsec_" in answer.content
    page = client.get(reverse("oncall:team", args=[team.slug]))
    assert b"whsec_" not in page.content
    assert b"hooks.example.com" in page.content

    url = reverse("oncall:team_webhook", args=[team.slug, webhook.pk])
    prefix = f"hook-{webhook.pk}"
    answer = client.post(
        url,
        {f"{prefix}-name": "lake", f"{prefix}-url": HOOK, f"{prefix}-events": [CREATED, RESOLVED]},
    )
    assert answer.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.events, webhook.active) == ("lake", [CREATED, RESOLVED], False)

    assert client.post(url, {"remove": "1"}).status_code == 302
    assert not Webhook.objects.exists()


def test_a_team_admin_adds_edits_and_removes_a_list_in_the_portal(client_for, team, team_admin):
    client = client_for(team_admin)
    answer = client.post(
        reverse("oncall:team_distribution_list_add", args=[team.slug]),
        {"list-name": "payments-ops", "list-addresses": "a@example.com\n\n b@example.com "},
    )
    assert answer.status_code == 302
    distribution = DistributionList.objects.get()
    assert distribution.team == team
    assert distribution.address_list() == ["a@example.com", "b@example.com"]

    url = reverse("oncall:team_distribution_list", args=[team.slug, distribution.pk])
    prefix = f"list-{distribution.pk}"
    client.post(url, {f"{prefix}-name": "ops", f"{prefix}-addresses": "c@example.com"})
    distribution.refresh_from_db()
    assert (distribution.name, distribution.address_list()) == ("ops", ["c@example.com"])
    page = client.get(reverse("oncall:team", args=[team.slug]))
    assert b"c@example.com" in page.content

    assert client.post(url, {"remove": "1"}).status_code == 302
    assert not DistributionList.objects.exists()


def test_bad_portal_input_is_refused_on_its_field_and_writes_nothing(client_for, team, team_admin):
    client = client_for(team_admin)
    add_hook = reverse("oncall:team_webhook_add", args=[team.slug])
    answer = client.post(
        add_hook, {"hook-name": "x", "hook-url": "ftp://x.example.com", "hook-events": [CREATED]}
    )
    assert answer.status_code == 400
    assert answer.context["webhook_form"].errors["url"]
    answer = client.post(add_hook, {"hook-name": "x", "hook-url": HOOK, "hook-events": ["nope"]})
    assert answer.status_code == 400
    assert answer.context["webhook_form"].errors["events"]
    answer = client.post(
        reverse("oncall:team_distribution_list_add", args=[team.slug]),
        {"list-name": "ops", "list-addresses": "a@example.com\nnot-an-address"},
    )
    assert answer.status_code == 400
    assert "not-an-address" in str(answer.context["list_form"].errors["addresses"])
    assert not Webhook.objects.exists()
    assert not DistributionList.objects.exists()


def test_readers_see_but_may_not_change(client_for, team, team_admin, support):
    webhook = Webhook.objects.create(team=team, name="warehouse", url=HOOK, events=[CREATED])
    distribution = DistributionList.objects.create(team=team, name="ops", addresses="a@x.com")
    client = client_for(support)
    page = client.get(reverse("oncall:team", args=[team.slug]))
    assert b"warehouse" in page.content
    assert b"secret-part" not in page.content
    assert b"new-webhook" not in page.content
    posts = [
        (reverse("oncall:team_webhook_add", args=[team.slug]), {"hook-name": "x"}),
        (reverse("oncall:team_webhook", args=[team.slug, webhook.pk]), {"remove": "1"}),
        (reverse("oncall:team_distribution_list_add", args=[team.slug]), {"list-name": "x"}),
        (
            reverse("oncall:team_distribution_list", args=[team.slug, distribution.pk]),
            {"remove": "1"},
        ),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    assert Webhook.objects.get().active
    assert DistributionList.objects.count() == 1


def test_another_teams_admin_may_not_touch_them(client_for, api_for, team, team_admin):
    webhook = Webhook.objects.create(team=team, name="warehouse", url=HOOK, events=[CREATED])
    other = TeamFactory(slug="search")
    outsider = UserFactory(username="oli", group="responder")
    TeamAdmin.objects.create(team=other, user=outsider)
    url = reverse("oncall:team_webhook", args=[team.slug, webhook.pk])
    assert client_for(outsider).post(url, {"remove": "1"}).status_code == 403
    # Nor reach this team's webhook through their own team.
    assert api_for(outsider).delete(hooks_url(other, webhook.pk)).status_code == 404
    assert Webhook.objects.filter(active=True).count() == 1


def test_a_global_webhook_is_not_the_teams(api_for, team, team_admin):
    webhook = Webhook.objects.create(name="global", url=HOOK, events=[CREATED])
    api = api_for(team_admin)
    assert api.get(hooks_url(team)).json() == []
    assert api.delete(hooks_url(team, webhook.pk)).status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists()


# API ------------------------------------------------------------------------------------


def test_the_api_creates_updates_and_deletes_a_webhook(api_for, team, team_admin):
    api = api_for(team_admin)
    answer = api.post(
        hooks_url(team), {"name": "warehouse", "url": HOOK, "events": [CREATED]}, format="json"
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["secret"].startswith("whsec_")
    assert body["host"] == "hooks.example.com"
    assert Webhook.objects.get().team == team
    # The secret is in the creation's answer only.
    assert "secret" not in api.get(hooks_url(team, body["id"])).json()

    answer = api.put(
        hooks_url(team, body["id"]),
        {"name": "lake", "url": HOOK, "events": [RESOLVED], "active": False},
        format="json",
    )
    assert answer.json() == {
        "id": body["id"],
        "name": "lake",
        "host": "hooks.example.com",
        "events": [RESOLVED],
        "active": False,
    }
    assert api.delete(hooks_url(team, body["id"])).status_code == 204
    assert api.get(hooks_url(team)).json() == []


def test_the_api_creates_updates_and_deletes_a_list(api_for, team, team_admin):
    api = api_for(team_admin)
    answer = api.post(
        lists_url(team), {"name": "ops", "addresses": ["a@example.com"]}, format="json"
    )
    assert answer.status_code == 201
    pk = answer.json()["id"]
    answer = api.put(
        lists_url(team, pk),
        {"name": "ops-2", "addresses": ["b@example.com", "c@example.com"]},
        format="json",
    )
    assert answer.json() == {
        "id": pk,
        "name": "ops-2",
        "addresses": ["b@example.com", "c@example.com"],
        "is_default": False,
        "language": "",
    }
    assert api.get(lists_url(team)).json()[0]["name"] == "ops-2"
    assert api.delete(lists_url(team, pk)).status_code == 204
    assert not DistributionList.objects.exists()


def test_bad_api_input_is_refused_naming_the_field(api_for, team, team_admin):
    api = api_for(team_admin)
    answer = api.post(
        hooks_url(team), {"name": "x", "url": "not a url", "events": [CREATED]}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {"url": ["Enter the webhook's full http(s) address."]}
    answer = api.post(
        hooks_url(team), {"name": "x", "url": HOOK, "events": ["nope"]}, format="json"
    )
    assert answer.status_code == 400
    assert "events" in answer.json()
    answer = api.post(lists_url(team), {"name": "ops", "addresses": ["nope"]}, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["addresses"]
    DistributionList.objects.create(name="taken")
    answer = api.post(lists_url(team), {"name": "Taken", "addresses": []}, format="json")
    assert list(answer.json()) == ["name"]
    assert not Webhook.objects.exists()
    assert DistributionList.objects.count() == 1


def test_non_admins_get_403_and_unknown_teams_404(api_for, team, support):
    api = api_for(support)
    assert api.get(hooks_url(team)).status_code == 200
    body = {"name": "x", "url": HOOK, "events": [CREATED]}
    assert api.post(hooks_url(team), body, format="json").status_code == 403
    assert api.post(lists_url(team), {"name": "x", "addresses": []}, format="json").status_code == (
        403
    )
    assert api.get("/api/oncall/teams/nope/webhooks/").status_code == 404
    assert api.get("/api/oncall/teams/nope/distribution-lists/").status_code == 404
    assert not Webhook.objects.exists()


# Without a wrapping transaction, and a real delivery --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_changes_over_http_commit_and_a_refused_one_leaves_nothing(api_for):
    team = TeamFactory(slug="payments")
    admin = UserFactory(username="tia", group="responder")
    TeamAdmin.objects.create(team=team, user=admin)
    api = api_for(admin)
    answer = api.post(lists_url(team), {"name": "ops", "addresses": ["a@x.com"]}, format="json")
    assert answer.status_code == 201
    answer = api.put(
        lists_url(team, answer.json()["id"]),
        {"name": "ops", "addresses": ["b@x.com", "bad"]},
        format="json",
    )
    assert answer.status_code == 400
    assert DistributionList.objects.get().address_list() == ["a@x.com"]


def test_a_teams_webhook_receives_a_signed_delivery(api_for, team, team_admin, service):
    """Delivery routes by event alone, so the team's webhook gets its team's incidents
    (and, as every webhook does, other teams' too)."""
    with HttpReceiver() as receiver:
        answer = api_for(team_admin).post(
            hooks_url(team),
            {"name": "warehouse", "url": f"{receiver.url}/hooks", "events": [CREATED]},
            format="json",
        )
        secret = answer.json()["secret"]
        make_incident(severity=2, faulty_service=service)
        delivery = WebhookDelivery.objects.get(webhook__team=team)
        assert tasks.send_webhook(delivery.pk) == "HTTP 200"
        request = receiver.requests[-1]
    headers = {name.lower(): value for name, value in request.headers.items()}
    payload = standardwebhooks.Webhook(secret).verify(request.body, headers)
    assert payload["event"] == CREATED
