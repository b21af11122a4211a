"""What customers and status tools see: the public page and Statuspage's JSON, read by
statuscheck (a Statuspage client) and checked against Statuspage's documented shape."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from statuscheck.services.bases._statuspageio import BaseStatusPageAPI
from statuscheck.services.models.generic import COMPONENT_TYPE_MAINTENANCE

from comms.maintenance import actions
from tests.comms.conftest import count_queries
from tests.comms.maintenance.conftest import plan
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

ALL = "/api/v2/scheduled-maintenances.json"
UPCOMING = "/api/v2/scheduled-maintenances/upcoming.json"
ACTIVE = "/api/v2/scheduled-maintenances/active.json"
SUMMARY = "/api/v2/summary.json"

# Statuspage's public API v2, "scheduled maintenances": every field of a maintenance and
# of its updates.
MAINTENANCE_FIELDS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
    "scheduled_for",
    "scheduled_until",
}
UPDATE_FIELDS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}


@pytest.fixture
def three(clock, manager, products):
    """One running, one upcoming, one completed; and one cancelled before it began."""
    done = plan(manager, products, title="Done", starts_in=10, lasts=60)
    clock.shift(timedelta(hours=5))
    running = plan(manager, products[:1], title="Running", starts_in=-10, lasts=120)
    actions.advance_maintenances()
    upcoming = plan(manager, products[1:], title="Upcoming", starts_in=24 * 60)
    called_off = plan(manager, products, title="Called off", starts_in=48 * 60)
    actions.cancel_maintenance(called_off, by=manager)
    return done, running, upcoming, called_off


def names(url):
    return [m["name"] for m in Client().get(url).json()["scheduled_maintenances"]]


def test_each_document_lists_the_maintenances_statuspage_would(three):
    assert names(UPCOMING) == ["Upcoming"]
    assert names(ACTIVE) == ["Running"]
    assert names(SUMMARY) == ["Running", "Upcoming"]
    assert names(ALL) == ["Called off", "Upcoming", "Running", "Done"]


def test_a_maintenance_has_statuspage_shape(three):
    _, running, _, _ = three
    response = Client().get(ACTIVE)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    document = response.json()
    assert set(document) == {"page", "scheduled_maintenances"}
    [shown] = document["scheduled_maintenances"]
    assert set(shown) == MAINTENANCE_FIELDS
    assert shown["id"] == running.public_id
    assert shown["status"] == "in_progress"
    assert shown["impact"] == "maintenance"
    assert shown["scheduled_for"] == running.starts_at.isoformat()
    assert shown["scheduled_until"] == running.ends_at.isoformat()
    assert shown["started_at"] == timezone.now().isoformat()
    assert shown["resolved_at"] is None
    assert shown["shortlink"].endswith(f"/status/#{running.public_id}")
    assert [(c["id"], c["status"]) for c in shown["components"]] == [("jira", "under_maintenance")]
    assert [u["status"] for u in shown["incident_updates"]] == ["in_progress", "scheduled"]
    for update in shown["incident_updates"]:
        assert set(update) == UPDATE_FIELDS
        assert update["incident_id"] == running.public_id
        assert [c["code"] for c in update["affected_components"]] == ["jira"]


def test_completed_and_cancelled_show_as_completed_with_what_happened(three):
    maintenances = {m["name"]: m for m in Client().get(ALL).json()["scheduled_maintenances"]}

    done, called_off = maintenances["Done"], maintenances["Called off"]
    assert (done["status"], called_off["status"]) == ("completed", "completed")
    assert done["resolved_at"] is not None
    assert called_off["incident_updates"][0]["body"] == (
        "This maintenance was cancelled and will not take place."
    )


def test_nothing_internal_is_shown(three, manager):
    hidden = ProductFactory(name="Internal wiki", slug="wiki", shown_on_status_page=False)
    _, running, _, _ = three
    running.products.add(hidden)

    for url in (ALL, UPCOMING, ACTIVE, SUMMARY, "/status/"):
        body = Client().get(url).content.decode()
        assert manager.username not in body
        assert "Internal wiki" not in body


def test_the_summary_status_says_maintenance_while_nothing_is_worse(three):
    status = Client().get(SUMMARY).json()["status"]

    assert status == {"indicator": "maintenance", "description": "Service Under Maintenance"}


@pytest.mark.parametrize("url", [ALL, SUMMARY, "/status/"])
def test_documents_make_the_same_queries_whatever_the_number_of_maintenances(
    clock, manager, products, url
):
    def one_of_each(n):
        plan(manager, [*products, ProductFactory()], title=f"Upcoming {n}")
        plan(manager, [ProductFactory()], title=f"Running {n}", starts_in=-1)
        actions.advance_maintenances()

    one_of_each(0)
    client = Client()
    client.get(url)  # products new to the page get their status row once
    few = count_queries(lambda: client.get(url))
    for n in range(1, 5):
        one_of_each(n)
    client.get(url)

    assert count_queries(lambda: client.get(url)) == few


def test_the_public_page_shows_running_and_upcoming_maintenances(three):
    body = Client().get("/status/").content.decode()

    section = body.split('id="maintenances"', 1)[1].split("</section>", 1)[0]
    assert "Running" in section
    assert "Upcoming" in section
    assert "Done" not in section
    assert "Called off" not in section
    assert "Jira is read-only for up to two hours." in section


def test_the_public_page_has_no_maintenance_section_when_none_is_planned(products):
    assert 'id="maintenances"' not in Client().get("/status/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_statuscheck_reads_the_maintenance_and_the_component_under_maintenance(
    live_server, manager, products
):
    """statuscheck (PyPI) reads any Statuspage page's summary.json; pointed at ours it must
    find the running maintenance as an incident and Jira under maintenance."""
    running = plan(manager, products[:1], title="Database upgrade", starts_in=-1)
    actions.advance_maintenances()

    class Hotline(BaseStatusPageAPI):
        name = "Hotline"
        domain_id = "hotline"
        status_url = live_server.url + "/status/"
        service_url = live_server.url

        def _get_base_url(self) -> str:
            return live_server.url + "/api/v2/"

    summary = Hotline().get_summary()

    assert summary.status.code == "maintenance"
    assert [(i.id, i.name, i.status) for i in summary.incidents] == [
        (running.public_id, "Database upgrade", "in_progress")
    ]
    [component] = summary.incidents[0].components
    assert (component.name, component.status) == ("Jira", COMPONENT_TYPE_MAINTENANCE)
    shown = {c.name: c.status for c in summary.components}
    assert shown["Jira"] == COMPONENT_TYPE_MAINTENANCE
    assert summary.incidents[0].extra_data["scheduled_until"] == running.ends_at.isoformat()
