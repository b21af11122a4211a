"""The customers' status page, its feeds and subscriptions: no login, nothing internal."""

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from comms import actions
from comms import mail as comms_mail
from comms.models import Audience, ComponentStatus, Kind, OutboundEmail, Subscriber
from tests.comms.conftest import complete_follow_up, count_queries
from tests.factories import ProductFactory, make_incident

pytestmark = pytest.mark.django_db

FEEDS = [
    "/status/",
    "/status/feed.atom",
    "/api/v2/status.json",
    "/api/v2/summary.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/incidents.json",
]
ATOM = "{http://www.w3.org/2005/Atom}"


def publish(incident, by, audience, kind=Kind.INITIAL, **fields):
    draft = actions.draft_communication(incident, audience=audience, kind=kind, by=by, **fields)
    return actions.publish_communication(draft, by=by)


@pytest.fixture
def published(incident, manager, products):
    """One incident with internal and external updates, and a restricted one."""
    publish(incident, manager, Audience.INTERNAL)
    publish(
        incident,
        manager,
        Audience.INTERNAL,
        Kind.FOLLOW_UP,
        **complete_follow_up(summary="Rollback of deploy 4.2 by maya is running."),
    )
    publish(incident, manager, Audience.EXTERNAL)
    publish(
        incident,
        manager,
        Audience.EXTERNAL,
        Kind.FOLLOW_UP,
        summary="We found the cause and are fixing it.",
    )
    secret = make_incident(
        summary="Customer data exposed via export",
        severity=1,
        restricted=True,
        products=[ProductFactory(name="Bitbucket", slug="bitbucket")],
    )
    publish(secret, manager, Audience.INTERNAL)
    return incident, secret


@pytest.mark.parametrize("url", FEEDS)
def test_public_pages_need_no_login(published, url):
    assert Client().get(url).status_code == 200


@pytest.mark.parametrize("url", FEEDS)
def test_public_pages_leak_nothing_internal(published, url):
    incident, secret = published

    body = Client().get(url).content.decode()

    for internal in (
        incident.key,
        secret.key,
        incident.summary,
        secret.summary,
        "maya",
        "Rollback of deploy",
        "Customer data exposed",
        "sam",
    ):
        assert internal not in body, f"{internal!r} leaked on {url}"


def test_public_page_shows_components_and_external_updates_newest_first(published):
    body = Client().get("/status/").content.decode()

    assert "Issue with Confluence and Jira" in body
    assert "Partial outage" in body
    assert body.index("We found the cause") < body.index("We are investigating an issue")
    assert "Bitbucket" in body  # the component is public; its restricted incident is not


def test_atom_feed_is_valid_and_lists_the_updates(published):
    response = Client().get("/status/feed.atom")

    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        assert entry.find(f"{ATOM}id").text
        assert entry.find(f"{ATOM}updated").text
        assert entry.find(f"{ATOM}title").text.startswith("Issue with Confluence and Jira")


def test_summary_json_has_statuspage_field_names(published):
    data = json.loads(Client().get("/api/v2/summary.json").content)

    assert set(data) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(data["page"]) >= {"id", "name", "url", "time_zone", "updated_at"}
    assert data["status"] == {"indicator": "major", "description": "Partial System Outage"}
    component = next(c for c in data["components"] if c["name"] == "Jira")
    assert component["status"] == "partial_outage"
    assert set(component) >= {"id", "name", "status", "created_at", "updated_at", "position"}
    [incident] = data["incidents"]
    assert incident["name"] == "Issue with Confluence and Jira"
    assert incident["status"] == "identified"
    assert incident["impact"] == "major"
    assert set(incident) >= {
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "monitoring_at",
        "resolved_at",
        "impact",
        "shortlink",
        "incident_updates",
        "components",
    }
    updates = incident["incident_updates"]
    assert [u["status"] for u in updates] == ["identified", "investigating"]
    assert set(updates[0]) >= {"id", "status", "body", "incident_id", "created_at", "display_at"}


def test_status_json_is_operational_without_incidents(products):
    data = json.loads(Client().get("/api/v2/status.json").content)
    assert data["status"] == {"indicator": "none", "description": "All Systems Operational"}


def test_resolved_incidents_leave_unresolved_but_stay_in_history(incident, manager):
    publish(incident, manager, Audience.EXTERNAL)
    publish(incident, manager, Audience.EXTERNAL, Kind.FINAL)

    unresolved = json.loads(Client().get("/api/v2/incidents/unresolved.json").content)
    everything = json.loads(Client().get("/api/v2/incidents.json").content)

    assert unresolved["incidents"] == []
    assert [i["status"] for i in everything["incidents"]] == ["resolved"]
    assert everything["incidents"][0]["resolved_at"]


def test_history_keeps_ninety_days(incident, manager, time_machine):
    time_machine.move_to(timezone.now() - timedelta(days=91), tick=False)
    publish(incident, manager, Audience.EXTERNAL)
    publish(incident, manager, Audience.EXTERNAL, Kind.FINAL)
    time_machine.move_to(timezone.now() + timedelta(days=91), tick=False)

    assert json.loads(Client().get("/api/v2/incidents.json").content)["incidents"] == []
    assert "Issue with" not in Client().get("/status/").content.decode()


def test_public_page_queries_do_not_grow_with_incidents(manager):
    def add(n):
        for i in range(n):
            product = ProductFactory(name=f"P{n}-{i}", slug=f"p{n}-{i}")
            incident = make_incident(summary=f"s{n}{i}", products=[product])
            publish(incident, manager, Audience.EXTERNAL)

    client = Client()
    urls = ["/status/", "/api/v2/summary.json", "/api/v2/incidents.json", "/status/feed.atom"]
    add(1)
    few = {url: count_queries(lambda url=url: client.get(url)) for url in urls}
    add(5)
    many = {url: count_queries(lambda url=url: client.get(url)) for url in urls}

    assert many == few
    assert max(few.values()) <= 10


def test_subscribe_sends_a_confirmation_and_nothing_until_confirmed(products, incident, manager):
    response = Client().post("/status/subscribe/", {"email": "cust@example.com"})

    assert response.status_code == 302
    subscriber = Subscriber.objects.get()
    confirmation = OutboundEmail.objects.get()
    assert f"/status/confirm/{subscriber.confirm_token}/" in confirmation.text
    publish(incident, manager, Audience.EXTERNAL)
    assert OutboundEmail.objects.count() == 1  # not yet confirmed

    confirm = f"/status/confirm/{subscriber.confirm_token}/"
    assert Client().get(confirm).status_code == 200
    assert not Subscriber.objects.get().confirmed  # a scanner opening the link confirms nothing
    assert Client().post(confirm).status_code == 200
    publish(incident, manager, Audience.EXTERNAL, Kind.FOLLOW_UP)
    assert OutboundEmail.objects.filter(to="cust@example.com").count() == 2


def test_subscribe_for_some_products(products):
    Client().post("/status/subscribe/", {"email": "p@example.com", "products": [products[0].pk]})
    assert list(Subscriber.objects.get().products.all()) == [products[0]]


def test_subscribe_with_a_bad_address_names_the_field(products):
    response = Client().post("/status/subscribe/", {"email": "not-an-address"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_subscribe_is_rate_limited(products, settings):
    settings.COMMS_SUBSCRIBE_RATE = 2
    client = Client()
    codes = [
        client.post("/status/subscribe/", {"email": f"r{n}@example.com"}).status_code
        for n in range(3)
    ]
    assert codes == [302, 302, 429]
    assert Subscriber.objects.count() == 2


def test_unsubscribe_asks_on_get_and_removes_on_post(db):
    subscriber = actions.subscribe("u@example.com")
    url = f"/status/unsubscribe/{comms_mail.unsubscribe_token(subscriber)}/"

    assert Client().get(url).status_code == 200
    assert Subscriber.objects.exists()  # a mail scanner following the link changes nothing
    assert "Unsubscribed" in Client().post(url).content.decode()
    assert not Subscriber.objects.exists()


def test_unknown_confirmation_token_is_404(db):
    assert Client().get("/status/confirm/nope/").status_code == 404


def _component_statuses(url):
    data = json.loads(Client().get(url).content)
    return {c["name"]: c["status"] for c in data["components"]}


def test_a_product_shows_the_worst_of_its_open_incidents(manager, products):
    jira = products[0]
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    publish(outage, manager, Audience.EXTERNAL)
    slow = make_incident(summary="Jira and Confluence are slow", severity=3, products=products)
    publish(slow, manager, Audience.EXTERNAL)

    # The severity-3 update, published last, does not hide the open severity-1 outage.
    assert _component_statuses("/api/v2/summary.json") == {
        "Jira": "major_outage",
        "Confluence": "degraded_performance",
    }
    assert json.loads(Client().get("/api/v2/status.json").content)["status"] == {
        "indicator": "critical",
        "description": "Major System Outage",
    }
    incidents = json.loads(Client().get("/api/v2/incidents/unresolved.json").content)
    for incident in incidents["incidents"]:
        shown = {c["name"]: c["status"] for c in incident["components"]}
        assert shown.get("Jira") == "major_outage"
    page = Client().get("/status/").content.decode()
    assert "Major outage" in page

    # Resolving the outage leaves the product as the open incident says.
    publish(outage, manager, Audience.EXTERNAL, Kind.FINAL)
    assert _component_statuses("/api/v2/summary.json") == {
        "Jira": "degraded_performance",
        "Confluence": "degraded_performance",
    }

    publish(slow, manager, Audience.EXTERNAL, Kind.FINAL)
    assert _component_statuses("/api/v2/summary.json") == {
        "Jira": "operational",
        "Confluence": "operational",
    }


def test_a_milder_follow_up_lowers_its_own_incidents_status(manager, products):
    jira, _ = products
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    publish(outage, manager, Audience.EXTERNAL)
    slow = make_incident(summary="Jira is slow", severity=3, products=[jira])
    publish(slow, manager, Audience.EXTERNAL)

    publish(
        outage,
        manager,
        Audience.EXTERNAL,
        Kind.FOLLOW_UP,
        component_status=ComponentStatus.PARTIAL,
    )

    assert _component_statuses("/api/v2/summary.json")["Jira"] == "partial_outage"


def _at(value):
    return datetime.fromisoformat(value)


def _assert_updated_after_created(record):
    assert _at(record["updated_at"]) >= _at(record["created_at"]), record
    for component in record.get("components", []):
        assert _at(component["updated_at"]) >= _at(component["created_at"]), component


@pytest.mark.parametrize("url", ["/api/v2/summary.json", "/api/v2/incidents/unresolved.json"])
def test_updated_at_is_never_before_created_at(manager, products, time_machine, url):
    time_machine.move_to(timezone.now() - timedelta(hours=2))
    first = make_incident(summary="Jira is slow", severity=3, products=products[:1])
    publish(first, manager, Audience.EXTERNAL)
    time_machine.move_to(timezone.now() + timedelta(minutes=25))
    second = make_incident(summary="Confluence is down", severity=1, products=products)
    publish(second, manager, Audience.EXTERNAL)
    publish(first, manager, Audience.EXTERNAL, Kind.FOLLOW_UP, summary="Found it.")
    time_machine.move_to(timezone.now() + timedelta(minutes=40))
    publish(second, manager, Audience.EXTERNAL, Kind.FOLLOW_UP, summary="Fixing it.")

    data = json.loads(Client().get(url).content)

    assert len(data["incidents"]) == 2
    for incident in data["incidents"]:
        _assert_updated_after_created(incident)
        for update in incident["incident_updates"]:
            assert _at(update["updated_at"]) >= _at(update["created_at"])
            assert _at(update["created_at"]) >= _at(incident["created_at"])
    for component in data.get("components", []):
        _assert_updated_after_created(component)
