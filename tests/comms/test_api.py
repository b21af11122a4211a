"""The communications API: draft, review, publish; components; subscribe; lists."""

import pytest
from rest_framework.test import APIClient

from comms import actions
from comms.models import (
    Audience,
    Component,
    DistributionList,
    Kind,
    OutboundEmail,
    State,
    Subscriber,
)
from tests.comms.conftest import complete_follow_up
from tests.factories import TeamFactory, make_incident

pytestmark = pytest.mark.django_db


def comms_url(incident):
    return f"/api/comms/incidents/{incident.key}/communications/"


def test_draft_review_publish_through_the_api(api_for, incident, responder, manager):
    created = api_for(responder).post(
        comms_url(incident), {"audience": "external", "kind": "initial"}, format="json"
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["summary"].startswith("We are investigating an issue with")

    review = api_for(responder).post(
        f"/api/comms/communications/{pk}/review/", {"reviewer": "maya"}, format="json"
    )
    assert review.json()["state"] == "in_review"
    assert api_for(responder).post(f"/api/comms/communications/{pk}/publish/").status_code == 403

    published = api_for(manager).post(f"/api/comms/communications/{pk}/publish/")

    assert published.status_code == 200
    assert published.json()["state"] == "published"
    assert published.json()["reviewer"] == "maya"
    assert published.json()["warnings"] == []
    listed = api_for(manager).get(comms_url(incident)).json()
    assert [row["id"] for row in listed] == [pk]


def test_publishing_an_incomplete_follow_up_is_a_400_naming_the_field(api_for, incident, manager):
    fields = complete_follow_up(eta="")
    fields["next_update_at"] = fields["next_update_at"].isoformat()
    created = api_for(manager).post(
        comms_url(incident), {"audience": "internal", "kind": "follow_up", **fields}, format="json"
    )
    pk = created.json()["id"]

    response = api_for(manager).post(f"/api/comms/communications/{pk}/publish/")

    assert response.status_code == 400
    assert "eta" in response.json()
    patched = api_for(manager).patch(
        f"/api/comms/communications/{pk}/", {"eta": "unknown"}, format="json"
    )
    assert patched.status_code == 200
    assert api_for(manager).post(f"/api/comms/communications/{pk}/publish/").status_code == 200


def test_bad_audience_names_the_field(api_for, incident, manager):
    response = api_for(manager).post(
        comms_url(incident), {"audience": "everyone", "kind": "initial"}, format="json"
    )
    assert response.status_code == 400
    assert "audience" in response.json()


def test_support_cannot_draft_and_outsider_cannot_see(api_for, incident, support, outsider):
    assert (
        api_for(support)
        .post(comms_url(incident), {"audience": "internal", "kind": "initial"}, format="json")
        .status_code
        == 403
    )
    assert api_for(outsider).get(comms_url(incident)).status_code == 403
    assert APIClient().get(comms_url(incident)).status_code == 401


def test_status_page_incidents_and_components(api_for, incident, manager, products):
    created = api_for(manager).post(
        comms_url(incident), {"audience": "internal", "kind": "initial"}, format="json"
    )
    api_for(manager).post(f"/api/comms/communications/{created.json()['id']}/publish/")

    pages = api_for(manager).get("/api/comms/status-page-incidents/").json()["results"]
    assert [page["name"] for page in pages] == [str(incident)]
    changed = api_for(manager).post(
        "/api/comms/components/jira/", {"status": "under_maintenance"}, format="json"
    )
    assert changed.json()["status"] == "under_maintenance"
    assert Component.objects.get(product__slug="jira").status == "under_maintenance"
    components = api_for(manager).get("/api/comms/components/").json()
    assert {c["product"] for c in components} == {"jira", "confluence"}


def test_component_status_needs_a_publisher_and_a_valid_status(
    api_for, responder, manager, products
):
    url = "/api/comms/components/jira/"
    assert (
        api_for(responder).post(url, {"status": "major_outage"}, format="json").status_code == 403
    )
    bad = api_for(manager).post(url, {"status": "on fire"}, format="json")
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_public_subscribe_is_anonymous_and_rate_limited(products, settings):
    settings.COMMS_SUBSCRIBE_RATE = 2
    client = APIClient()
    codes = [
        client.post(
            "/api/comms/subscribers/", {"email": f"s{n}@example.com", "products": ["jira"]}
        ).status_code
        for n in range(3)
    ]

    assert codes == [202, 202, 429]
    assert Subscriber.objects.count() == 2
    assert OutboundEmail.objects.count() == 2
    assert client.post("/api/comms/subscribers/", {"email": "x"}).status_code in (400, 429)


def test_subscribe_with_a_bad_email_names_the_field(products):
    response = APIClient().post("/api/comms/subscribers/", {"email": "nope"})
    assert response.status_code == 400
    assert "email" in response.json()


def test_distribution_lists_read_by_staff_written_by_admins(api_for, manager, admin_user):
    team = TeamFactory(slug="payments")
    body = {"name": "Leaders", "addresses": "a@example.com", "teams": ["payments"]}

    assert api_for(manager).post("/api/comms/distribution-lists/", body).status_code == 403
    created = api_for(admin_user).post("/api/comms/distribution-lists/", body, format="json")

    assert created.status_code == 201
    assert list(DistributionList.objects.get().teams.all()) == [team]
    assert api_for(manager).get("/api/comms/distribution-lists/").json()["results"][0]["name"] == (
        "Leaders"
    )


def test_published_state_is_final(api_for, incident, manager):
    created = api_for(manager).post(
        comms_url(incident), {"audience": "internal", "kind": "initial"}, format="json"
    )
    pk = created.json()["id"]
    api_for(manager).post(f"/api/comms/communications/{pk}/publish/")

    again = api_for(manager).post(f"/api/comms/communications/{pk}/publish/")
    edit = api_for(manager).patch(f"/api/comms/communications/{pk}/", {"summary": "x"})

    assert again.status_code == 409
    assert edit.status_code == 400
    assert created.json()["state"] == State.DRAFT


def test_distribution_list_update_and_delete_need_an_admin(api_for, manager, admin_user):
    distribution = DistributionList.objects.create(name="Leaders", is_default=True)
    url = f"/api/comms/distribution-lists/{distribution.pk}/"

    assert api_for(manager).get(url).json()["is_default"] is True
    assert api_for(manager).patch(url, {"addresses": "x@example.com"}).status_code == 403
    patched = api_for(admin_user).patch(url, {"addresses": "x@example.com"}, format="json")
    assert patched.json()["addresses"] == "x@example.com"
    assert api_for(manager).delete(url).status_code == 403
    assert api_for(admin_user).delete(url).status_code == 204
    assert not DistributionList.objects.exists()


def test_a_second_default_list_is_a_clear_400(api_for, admin_user):
    DistributionList.objects.create(name="Leaders", is_default=True)
    response = api_for(admin_user).post(
        "/api/comms/distribution-lists/", {"name": "Other", "is_default": True}, format="json"
    )
    assert response.status_code == 400
    assert DistributionList.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("patch", ""), ("post", "review/"), ("post", "publish/")]
)
def test_an_unseen_communication_answers_like_a_missing_one(
    api_for, incident, responder, products, method, suffix
):
    secret = make_incident(summary="leak", restricted=True, products=products)
    hidden = actions.draft_communication(
        secret, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=secret.created_by
    )
    client = api_for(responder)

    answers = [
        getattr(client, method)(f"/api/comms/communications/{pk}/{suffix}", {}, format="json")
        for pk in (hidden.pk, hidden.pk + 1000)
    ]

    assert [answer.status_code for answer in answers] == [404, 404]
    assert [answer.json() for answer in answers] == [{"detail": "No such communication."}] * 2
    assert secret.key not in answers[0].content.decode()
