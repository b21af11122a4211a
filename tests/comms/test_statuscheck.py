"""statuscheck (PyPI), a client written for Atlassian Statuspage, reads Hotline's page over
HTTP from the live server, as it reads any Statuspage-hosted service."""

import pytest
from statuscheck.services.bases._statuspageio import BaseStatusPageAPI

from comms import actions
from comms.models import Audience, ComponentStatus, Kind
from tests.factories import ProductFactory, make_incident

pytestmark = pytest.mark.django_db(transaction=True)


class HotlineAPI(BaseStatusPageAPI):
    """statuscheck's Statuspage client pointed at Hotline instead of statuspage.io: the
    one change a service module of statuscheck makes."""

    name = "Hotline"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.status_url = f"{base_url}/status/"

    def _get_base_url(self) -> str:
        return f"{self.base_url}/api/v2/"


def test_statuscheck_reads_status_components_and_incidents(live_server, manager):
    jira = ProductFactory(name="Jira", slug="jira")
    ProductFactory(name="Confluence", slug="confluence")
    outage = make_incident(summary="Jira is down", severity=1, products=[jira])
    draft = actions.draft_communication(
        outage, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
    )
    actions.publish_communication(draft, by=manager)

    summary = HotlineAPI(live_server.url).get_summary()

    assert summary.status.code == "critical"
    assert summary.status.is_ok is False
    assert summary.status.description == "Major System Outage"
    assert {(c.name, c.status) for c in summary.components} == {
        ("Jira", "Major outage"),
        ("Confluence", "Operational"),
    }
    (incident,) = summary.incidents
    assert incident.name == "Issue with Jira"
    assert incident.status == "investigating"
    assert [(c.name, c.status) for c in incident.components] == [("Jira", "Major outage")]


def test_statuscheck_sees_a_status_set_over_the_api_by_http(live_server, manager, client):
    """The status change goes over HTTP and commits (no wrapping transaction); the next
    read shows it, and the component's history records it."""
    jira = ProductFactory(name="Jira", slug="jira")
    client.force_login(manager)

    response = client.post(
        "/api/comms/components/jira/",
        {"status": ComponentStatus.PARTIAL},
        content_type="application/json",
    )

    assert response.status_code == 200
    summary = HotlineAPI(live_server.url).get_summary()
    assert summary.status.code == "major"
    assert [(c.name, c.status) for c in summary.components] == [("Jira", "Partial outage")]
    assert list(jira.component.changes.values_list("old_status", "new_status")) == [
        ("", "partial_outage")
    ]


def test_a_bad_status_over_http_names_the_field_and_records_nothing(manager, client):
    jira = ProductFactory(name="Jira", slug="jira")
    client.force_login(manager)

    response = client.post(
        "/api/comms/components/jira/", {"status": "on_fire"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "status" in response.json()
    assert not hasattr(jira, "component") or not jira.component.changes.exists()
