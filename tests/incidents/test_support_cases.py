"""Support cases seen from the incident: the API's case count, the label history of a
case and of an incident, the incident page's labelling form, the case list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import actions
from incidents.models import SupportCase
from tests.factories import ServiceFactory, make_incident


def case(reference, **fields):
    fields.setdefault("customer_name", f"Customer {reference}")
    fields.setdefault("contact_email", f"{reference.lower()}@customer.example")
    return actions.upsert_case(reference=reference, **fields)[0]


@pytest.fixture
def incident(support):
    return make_incident(by=support, summary="Checkout is failing", severity=2)


def labelled(incident, count, *, prefix="SD"):
    SupportCase.objects.bulk_create(
        SupportCase(reference=f"{prefix}-{incident.pk}-{n}", label=incident) for n in range(count)
    )


# The incident API's case count -------------------------------------------------------


def test_api_detail_and_list_carry_the_case_count(api_for, support, manager, incident):
    other = make_incident(by=support, summary="Search is slow")
    labelled(incident, 3)
    client = api_for(support)
    assert client.get(f"/api/incidents/{incident.key}/").json()["case_count"] == 3
    counts = {
        row["key"]: row["case_count"] for row in client.get("/api/incidents/").json()["results"]
    }
    assert counts == {incident.key: 3, other.key: 0}
    # The answer of a write carries it too.
    claimed = api_for(manager).post(f"/api/incidents/{incident.key}/claim/")
    assert claimed.status_code == 200
    assert claimed.json()["case_count"] == 3


def test_api_list_queries_do_not_grow_with_incidents_or_cases(api_for, support):
    service = ServiceFactory()
    client = api_for(support)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/incidents/")
        assert response.status_code == 200
        return len(captured)

    labelled(make_incident(by=support, faulty_service=service), 2)
    queries()  # the session and permissions, once
    few = queries()
    for _ in range(12):
        labelled(make_incident(by=support, faulty_service=service), 4)
    assert queries() == few


def test_the_schema_documents_the_case_count(api_for, support):
    schema = api_for(support).get("/api/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["IncidentOut"]["properties"]["case_count"]
    assert field["type"] == "integer"
    assert field["readOnly"] is True
