"""The REST API under /api/: the same rules as the portal, in plain JSON."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents import actions
from incidents.models import EntryKind, Incident, Product, Service, Status, Team, TimelineEntry
from tests.factories import ProductFactory, ServiceFactory, TeamFactory, make_incident

pytestmark = pytest.mark.django_db


def api(incident, action=""):
    return f"/api/incidents/{incident.key}/{action + '/' if action else ''}"


@pytest.fixture
def team(db):
    return TeamFactory(name="Money", slug="money")


@pytest.fixture
def service(team):
    return ServiceFactory(name="Payments", slug="payments", team=team)


@pytest.fixture
def product(db):
    return ProductFactory(name="Web shop", slug="web-shop")


@pytest.fixture
def incident(support, service, product):
    return make_incident(by=support, faulty_service=service, products=[product])


@pytest.fixture
def claimed(incident, manager):
    return actions.claim_incident(incident, by=manager)


@pytest.fixture
def restricted(manager, service):
    """A security incident logged by ``manager``: nobody else involved may see it."""
    return make_incident(
        by=manager, faulty_service=service, summary="Leaked tokens", restricted=True
    )


def payload(**changes):
    """The plain JSON of the issue, as a script writes it by hand."""
    data = {
        "summary": "Checkout is failing",
        "description": "Customers cannot pay. Call me: 555-0100.",
        "severity": 1,
        "faulty_service": "payments",
        "affected_products": ["web-shop"],
    }
    data.update(changes)
    return data


def keys(response):
    return {row["key"] for row in response.json()["results"]}


# Listing --------------------------------------------------------------------------------


def test_support_lists_incidents(api_for, support, incident):
    response = api_for(support).get("/api/incidents/")

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["key"] == incident.key
    assert row["faulty_service"] == "payments"
    assert row["affected_products"] == ["web-shop"]
    assert row["status"] == "new"
    assert row["assignee"] is None
    assert row["created_by"] == "sam"
    assert row["url"] == f"http://testserver/incidents/{incident.key}/"


@pytest.fixture
def assorted(support, manager):
    """Incidents in every status, on two teams' services, with and without products."""
    payments = ServiceFactory(slug="payments", team=TeamFactory(slug="money"))
    search = ServiceFactory(slug="search", team=TeamFactory(slug="finders"))
    shop = ProductFactory(slug="web-shop")
    fresh = make_incident(
        by=support, faulty_service=payments, severity=1, products=[shop], summary="Card declines"
    )
    fixing = make_incident(by=support, faulty_service=search, severity=2, summary="Slow search")
    actions.claim_incident(fixing, by=manager)
    resolved = make_incident(
        by=support,
        faulty_service=search,
        severity=3,
        summary="Typo in results",
        description="The word pineapple is misspelled.",
    )
    actions.transition_incident(
        resolved, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    return {"new": fresh.key, "fixing": fixing.key, "resolved": resolved.key}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "new"}, {"new"}),
        ({"status": "fixing"}, {"fixing"}),
        ({"status": "resolved"}, {"resolved"}),
        ({"status": "open"}, {"new", "fixing"}),
        ({"severity": "1"}, {"new"}),
        ({"service": "search"}, {"fixing", "resolved"}),
        ({"product": "web-shop"}, {"new"}),
        ({"team": "money"}, {"new"}),
        ({"team": "finders", "status": "open"}, {"fixing"}),
        ({"q": "slow SEARCH"}, {"fixing"}),
        ({"q": "pineapple"}, {"resolved"}),
        ({}, {"new", "fixing", "resolved"}),
    ],
)
def test_list_filters(api_for, support, assorted, query, expected):
    response = api_for(support).get("/api/incidents/", query)

    assert response.status_code == 200
    assert keys(response) == {assorted[name] for name in expected}


def test_list_searches_by_key_in_any_case(api_for, support, assorted):
    response = api_for(support).get("/api/incidents/", {"q": assorted["new"].lower()})

    assert keys(response) == {assorted["new"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [("severity", "7"), ("status", "closed"), ("service", "nope"), ("team", "nope")],
)
def test_an_invalid_filter_is_400_naming_the_field(api_for, support, incident, field, value):
    response = api_for(support).get("/api/incidents/", {field: value})

    assert response.status_code == 400
    assert field in response.json()


def test_list_is_paginated(api_for, support, service):
    incidents = [make_incident(by=support, faulty_service=service) for _ in range(51)]
    client = api_for(support)

    first = client.get("/api/incidents/").json()
    second = client.get(first["next"]).json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["results"][0]["key"] == incidents[-1].key  # newest first
    assert [row["key"] for row in second["results"]] == [incidents[0].key]


def test_a_restricted_incident_is_hidden_from_others(
    api_for, support, responder, other_manager, restricted, incident
):
    for person in (support, responder, other_manager):
        response = api_for(person).get("/api/incidents/")

        assert keys(response) == {incident.key}
        assert response.json()["count"] == 1


def test_a_restricted_incident_is_listed_for_its_creator_and_security(
    api_for, manager, security, restricted
):
    for person in (manager, security):
        assert restricted.key in keys(api_for(person).get("/api/incidents/"))


def list_queries(client, count, managers):
    """Bring the number of incidents up to ``count`` and measure one list request."""
    products = [ProductFactory(), ProductFactory()]
    while Incident.objects.count() < count:
        incident = make_incident(by=managers[0], faulty_service=ServiceFactory(), products=products)
        actions.claim_incident(incident, by=managers[Incident.objects.count() % 2])
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/incidents/")
    assert response.status_code == 200
    assert response.json()["count"] == count
    return len(queries)


def test_the_list_query_count_does_not_grow_with_the_rows(api_for, manager, other_manager):
    client = api_for(manager)
    client.get("/api/incidents/")  # warm up

    few = list_queries(client, 3, [manager, other_manager])
    many = list_queries(client, 30, [manager, other_manager])

    assert many == few


# Creating -------------------------------------------------------------------------------


def test_create_with_plain_json(api_for, support, service, product):
    response = api_for(support).post("/api/incidents/", payload(), format="json")

    body = response.json()
    incident = Incident.objects.get()
    assert response.status_code == 201
    assert body["key"] == incident.key
    assert body["key"].startswith("HOT-")
    assert body["status"] == "new"
    assert body["assignee"] is None
    assert body["severity"] == 1
    assert body["faulty_service"] == "payments"
    assert body["affected_products"] == ["web-shop"]
    assert body["impact_started_at"] is None
    assert body["impact_ended_at"] is None
    assert datetime.fromisoformat(body["detected_at"]) == incident.detected_at
    assert body["url"] == f"http://testserver/incidents/{incident.key}/"
    assert incident.created_by == support
    assert list(incident.affected_products.all()) == [product]
    assert incident.timeline.get().kind == EntryKind.CREATED


def test_create_with_the_optional_fields(api_for, support, service):
    started = (timezone.now() - timedelta(minutes=20)).replace(microsecond=0)

    response = api_for(support).post(
        "/api/incidents/",
        payload(
            affected_products=[],
            impact_started_at=started.isoformat(),
            chat_room="payments-war-room",
            video_url="https://meet.example/pay",
        ),
        format="json",
    )

    body = response.json()
    assert response.status_code == 201
    assert datetime.fromisoformat(body["impact_started_at"]) == started
    assert body["chat_room"] == "payments-war-room"
    assert body["video_url"] == "https://meet.example/pay"
    assert body["affected_products"] == []
    assert body["ttd_seconds"] is not None
    assert body["ttr_seconds"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("faulty_service", "no-such-service"),
        ("faulty_service", None),
        ("affected_products", ["no-such-product"]),
        ("severity", 7),
        ("severity", "high"),
        ("summary", ""),
        ("summary", "x" * 201),
        ("description", ""),
        ("video_url", "not a url"),
        ("impact_started_at", "yesterday"),
    ],
)
def test_bad_input_on_create_is_400_naming_the_field(
    api_for, support, service, product, field, value
):
    response = api_for(support).post("/api/incidents/", payload(**{field: value}), format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_a_missing_field_on_create_is_400_naming_it(api_for, support, service):
    data = payload()
    del data["summary"]

    response = api_for(support).post("/api/incidents/", data, format="json")

    assert response.status_code == 400
    assert "summary" in response.json()
    assert not Incident.objects.exists()


def test_an_impact_start_in_the_future_is_refused(api_for, support, service, product):
    tomorrow = timezone.now() + timedelta(days=1)

    response = api_for(support).post(
        "/api/incidents/", payload(impact_started_at=tomorrow.isoformat()), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"impact_started_at": ["This time is in the future."]}
    assert not Incident.objects.exists()


def test_outsider_cannot_create(api_for, outsider, service, product):
    response = api_for(outsider).post("/api/incidents/", payload(), format="json")

    assert response.status_code == 403
    assert not Incident.objects.exists()


# Retrieving -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", [str.upper, str.lower, str.title])
def test_retrieve_by_key_in_any_case(api_for, support, incident, case):
    response = api_for(support).get(f"/api/incidents/{case(incident.key)}/")

    assert response.status_code == 200
    assert response.json()["key"] == incident.key


def test_an_unknown_key_is_404(api_for, support, incident):
    assert api_for(support).get("/api/incidents/HOT-999/").status_code == 404


def test_a_restricted_incident_is_404_for_someone_not_involved(
    api_for, support, other_manager, restricted
):
    for person in (support, other_manager):
        assert api_for(person).get(api(restricted)).status_code == 404


def test_a_restricted_incident_is_retrieved_by_security(api_for, security, restricted):
    response = api_for(security).get(api(restricted))

    assert response.status_code == 200
    assert response.json()["restricted"] is True


@pytest.mark.parametrize("method", ["get", "patch"])
def test_outsider_gets_403_on_an_incident(api_for, outsider, incident, method):
    response = getattr(api_for(outsider), method)(api(incident), {}, format="json")

    assert response.status_code == 403


# Updating -------------------------------------------------------------------------------


def test_a_manager_updates_an_incident(api_for, manager, incident):
    response = api_for(manager).patch(
        api(incident),
        {"summary": "Card payments fail", "video_url": "https://meet.example/x"},
        format="json",
    )

    incident.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["summary"] == "Card payments fail"
    assert incident.summary == "Card payments fail"
    assert incident.video_url == "https://meet.example/x"
    assert incident.restricted is False  # not sent, not reset
    entry = incident.timeline.get(kind=EntryKind.EDITED)
    assert entry.author == manager
    assert entry.data.items() >= {"fields": ["summary", "video_url"]}.items()


def test_a_severity_change_writes_a_severity_entry(api_for, manager, incident):
    response = api_for(manager).patch(api(incident), {"severity": 1}, format="json")

    assert response.status_code == 200
    assert response.json()["severity"] == 1
    entry = incident.timeline.get(kind=EntryKind.SEVERITY)
    assert entry.data.items() >= {"from": 2, "to": 1}.items()
    assert entry.author == manager
    assert not incident.timeline.filter(kind=EntryKind.EDITED).exists()


def test_the_assignee_is_set_by_username(api_for, manager, other_manager, incident):
    response = api_for(manager).patch(api(incident), {"assignee": "imani"}, format="json")

    incident.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["assignee"] == "imani"
    assert incident.assignee == other_manager
    assert (
        incident.timeline.get(kind=EntryKind.ASSIGNEE).data.items()
        >= {"from": None, "to": "imani"}.items()
    )


def test_the_assignee_is_released_with_null(api_for, manager, claimed):
    response = api_for(manager).patch(api(claimed), {"assignee": None}, format="json")

    claimed.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["assignee"] is None
    assert claimed.assignee is None


def test_the_products_and_service_are_set_by_slug(api_for, manager, incident):
    ServiceFactory(slug="search")
    ProductFactory(slug="api")

    response = api_for(manager).patch(
        api(incident), {"faulty_service": "search", "affected_products": ["api"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["faulty_service"] == "search"
    assert response.json()["affected_products"] == ["api"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("severity", 7),
        ("assignee", "sam"),  # support, not an incident manager
        ("assignee", "nobody"),
        ("faulty_service", "no-such-service"),
        ("affected_products", ["no-such-product"]),
        ("summary", ""),
        ("video_url", "not a url"),
        ("impact_ended_at", "soon"),
    ],
)
def test_bad_values_on_update_are_400_naming_the_field(api_for, manager, incident, field, value):
    response = api_for(manager).patch(
        api(incident), {"summary": "Changed", field: value}, format="json"
    )

    incident.refresh_from_db()
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert incident.summary == "Checkout is failing"
    assert incident.severity == 2
    assert incident.timeline.count() == 1


def test_detection_before_the_impact_start_is_400_naming_detected(api_for, manager, incident):
    now = timezone.now()

    response = api_for(manager).patch(
        api(incident),
        {
            "impact_started_at": (now - timedelta(hours=1)).isoformat(),
            "detected_at": (now - timedelta(hours=2)).isoformat(),
        },
        format="json",
    )

    incident.refresh_from_db()
    assert response.status_code == 400
    assert list(response.json()) == ["detected_at"]
    assert incident.impact_started_at is None


def test_a_patch_cannot_change_the_status(api_for, manager, incident):
    response = api_for(manager).patch(api(incident), {"status": "resolved"}, format="json")

    incident.refresh_from_db()
    assert response.status_code == 200
    assert incident.status == Status.NEW


@pytest.mark.parametrize("role", ["support", "responder"])
def test_support_and_responders_cannot_update(request, api_for, incident, role):
    response = api_for(request.getfixturevalue(role)).patch(
        api(incident), {"summary": "Changed"}, format="json"
    )

    incident.refresh_from_db()
    assert response.status_code == 403
    assert incident.summary == "Checkout is failing"


def test_a_restricted_incident_cannot_be_updated_by_someone_not_involved(
    api_for, other_manager, restricted
):
    response = api_for(other_manager).patch(api(restricted), {"summary": "x"}, format="json")

    assert response.status_code == 404
    assert Incident.objects.get(pk=restricted.pk).summary == "Leaked tokens"


# Claim ----------------------------------------------------------------------------------


def test_a_manager_claims(api_for, manager, incident):
    response = api_for(manager).post(api(incident, "claim"))

    body = response.json()
    assert response.status_code == 200
    assert body["assignee"] == "maya"
    assert body["status"] == "fixing"
    assert incident.timeline.filter(kind=EntryKind.STATUS, data__to="fixing").exists()


def test_a_second_claim_by_another_manager_is_409(api_for, manager, other_manager, claimed):
    response = api_for(other_manager).post(api(claimed, "claim"))

    claimed.refresh_from_db()
    assert response.status_code == 409
    assert "already claimed by maya" in response.json()["detail"]
    assert claimed.assignee == manager


def test_claiming_again_as_the_assignee_changes_nothing(api_for, manager, claimed):
    response = api_for(manager).post(api(claimed, "claim"))

    assert response.status_code == 200
    assert claimed.timeline.filter(kind=EntryKind.ASSIGNEE).count() == 1


def test_claiming_an_incident_resolved_meanwhile_is_409(api_for, manager, incident):
    actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )

    response = api_for(manager).post(api(incident, "claim"))

    assert response.status_code == 409
    assert response.json() == {"detail": f"{incident.key} is already resolved (by maya)."}
    assert Incident.objects.get().assignee is None


@pytest.mark.parametrize("role", ["support", "responder"])
def test_support_and_responders_cannot_claim(request, api_for, incident, role):
    response = api_for(request.getfixturevalue(role)).post(api(incident, "claim"))

    assert response.status_code == 403
    assert Incident.objects.get().assignee is None


def test_a_restricted_incident_cannot_be_claimed_by_someone_not_involved(
    api_for, other_manager, restricted
):
    assert api_for(other_manager).post(api(restricted, "claim")).status_code == 404


# Transition -----------------------------------------------------------------------------


def test_a_manager_resolves_with_the_impact_end(api_for, manager, claimed):
    ended = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)

    response = api_for(manager).post(
        api(claimed, "transition"),
        {"to": "resolved", "impact_ended_at": ended.isoformat()},
        format="json",
    )

    body = response.json()
    claimed.refresh_from_db()
    assert response.status_code == 200
    assert body["status"] == "resolved"
    assert datetime.fromisoformat(body["impact_ended_at"]) == ended
    assert claimed.status == Status.RESOLVED
    entry = claimed.timeline.filter(kind=EntryKind.STATUS).last()
    assert entry.data.items() >= {"from": "fixing", "to": "resolved"}.items()
    assert entry.author == manager


def test_resolving_a_publicly_announced_incident_answers_with_the_final_update_to_publish(
    api_for, manager, claimed
):
    from comms import actions as comms_actions
    from comms.models import Audience, Communication, Kind

    draft = comms_actions.draft_communication(
        claimed, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
    )
    comms_actions.publish_communication(draft, by=manager)

    response = api_for(manager).post(
        api(claimed, "transition"),
        {"to": "resolved", "impact_ended_at": timezone.now().isoformat()},
        format="json",
    )

    final = Communication.objects.get(incident=claimed, audience=Audience.EXTERNAL, kind=Kind.FINAL)
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["next_steps"] == [
        {
            "kind": "final_update",
            "text": "The status page still shows this incident as ongoing — publish the final "
            "update.",
            "url": f"http://testserver/comms/communications/{final.pk}/",
            "action": "Publish the final update",
        }
    ]


def test_resolving_an_incident_never_shown_publicly_has_no_next_steps(api_for, manager, claimed):
    response = api_for(manager).post(
        api(claimed, "transition"),
        {"to": "resolved", "impact_ended_at": timezone.now().isoformat()},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["next_steps"] == []


def test_the_schema_documents_the_next_steps_of_a_transition(api_for, support):
    schema = api_for(support).get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/incidents/{key}/transition/"]["post"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]
    step = fields["next_steps"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][step]["properties"]) == {
        "kind",
        "text",
        "url",
        "action",
    }


def test_resolving_without_the_impact_end_is_400_naming_it(api_for, manager, claimed):
    response = api_for(manager).post(api(claimed, "transition"), {"to": "resolved"}, format="json")

    claimed.refresh_from_db()
    assert response.status_code == 400
    assert list(response.json()) == ["impact_ended_at"]
    assert claimed.status == Status.FIXING


@pytest.mark.parametrize(
    "data",
    [
        {"to": "reviewed"},  # new cannot skip to reviewed
        {"to": "new"},  # already new
        {"to": "fixing"},  # nobody has claimed it
        {"to": "closed"},  # no such status
        {},
    ],
)
def test_illegal_moves_are_400_naming_to(api_for, manager, incident, data):
    response = api_for(manager).post(api(incident, "transition"), data, format="json")

    incident.refresh_from_db()
    assert response.status_code == 400
    assert list(response.json()) == ["to"]
    assert incident.status == Status.NEW
    assert not incident.timeline.filter(kind=EntryKind.STATUS).exists()


def test_resolving_an_incident_someone_resolved_first_is_409_naming_them(
    api_for, manager, other_manager, claimed
):
    ended = (timezone.now() - timedelta(minutes=5)).isoformat()
    body = {"to": "resolved", "impact_ended_at": ended}
    assert api_for(manager).post(api(claimed, "transition"), body, format="json").status_code == 200

    response = api_for(other_manager).post(api(claimed, "transition"), body, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": f"{claimed.key} is already resolved (by maya)."}
    assert claimed.timeline.filter(kind=EntryKind.STATUS, data__to="resolved").count() == 1


def test_an_impact_end_before_the_start_is_400(api_for, manager, support, service):
    incident = make_incident(
        by=support,
        faulty_service=service,
        impact_started_at=timezone.now() - timedelta(hours=1),
    )

    response = api_for(manager).post(
        api(incident, "transition"),
        {"to": "resolved", "impact_ended_at": (timezone.now() - timedelta(hours=2)).isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["impact_ended_at"]
    assert Incident.objects.get(pk=incident.pk).status == Status.NEW


@pytest.mark.parametrize("role", ["support", "responder"])
def test_support_and_responders_cannot_transition(request, api_for, claimed, role):
    response = api_for(request.getfixturevalue(role)).post(
        api(claimed, "transition"),
        {"to": "resolved", "impact_ended_at": timezone.now().isoformat()},
        format="json",
    )

    assert response.status_code == 403
    assert Incident.objects.get().status == Status.FIXING


# Timeline -------------------------------------------------------------------------------


def test_support_reads_the_timeline(api_for, support, claimed):
    response = api_for(support).get(api(claimed, "timeline"))

    assert response.status_code == 200
    assert [entry["kind"] for entry in response.json()] == ["created", "assignee", "status"]
    assert response.json()[1]["author"] == "maya"


def test_a_responder_adds_a_timeline_entry(api_for, responder, incident):
    response = api_for(responder).post(
        api(incident, "timeline"),
        {"kind": "observation", "text": "Error rate at 40%."},
        format="json",
    )

    body = response.json()
    assert response.status_code == 201
    assert body["kind"] == "observation"
    assert body["text"] == "Error rate at 40%."
    assert body["author"] == "rui"
    assert incident.timeline.get(kind=EntryKind.OBSERVATION).author == responder


def test_a_backdated_entry_keeps_its_time(api_for, responder, incident):
    earlier = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)

    response = api_for(responder).post(
        api(incident, "timeline"),
        {"kind": "change", "text": "Deployed 4.2.", "occurred_at": earlier.isoformat()},
        format="json",
    )

    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["occurred_at"]) == earlier
    listed = api_for(responder).get(api(incident, "timeline")).json()
    assert [entry["kind"] for entry in listed] == ["change", "created"]


def test_support_cannot_add_a_timeline_entry(api_for, support, incident):
    response = api_for(support).post(
        api(incident, "timeline"), {"kind": "observation", "text": "Me too."}, format="json"
    )

    assert response.status_code == 403
    assert incident.timeline.count() == 1


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("kind", {"kind": "gossip", "text": "Heard something."}),
        ("kind", {"kind": "status", "text": "I pretend to be the system."}),
        ("kind", {"text": "No kind."}),
        ("text", {"kind": "note", "text": ""}),
        ("text", {"kind": "note", "text": "   "}),
        ("occurred_at", {"kind": "note", "text": "Odd.", "occurred_at": "2999-01-01T00:00Z"}),
        ("occurred_at", {"kind": "note", "text": "Odd.", "occurred_at": "at noon"}),
    ],
)
def test_a_bad_timeline_entry_is_400_naming_the_field(api_for, responder, incident, field, data):
    response = api_for(responder).post(api(incident, "timeline"), data, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert incident.timeline.count() == 1


def test_a_restricted_timeline_is_404_for_someone_not_involved(api_for, responder, restricted):
    client = api_for(responder)

    assert client.get(api(restricted, "timeline")).status_code == 404
    response = client.post(
        api(restricted, "timeline"), {"kind": "note", "text": "Hello?"}, format="json"
    )
    assert response.status_code == 404
    assert restricted.timeline.count() == 1


# The catalogue --------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["support", "responder", "manager", "outsider"])
def test_anyone_signed_in_reads_the_catalogue(request, api_for, service, product, person):
    client = api_for(request.getfixturevalue(person))

    teams = client.get("/api/teams/")
    services = client.get("/api/services/")
    products = client.get("/api/products/")

    assert teams.status_code == services.status_code == products.status_code == 200
    assert {"name": "Money", "slug": "money", "email": "money@example.com", "members": []} in (
        teams.json()["results"]
    )
    assert {"name": "Payments", "slug": "payments", "team": "money"} in services.json()["results"]
    assert {"name": "Unknown", "slug": "unknown", "team": None} in services.json()["results"]
    assert [row["slug"] for row in products.json()["results"]] == ["web-shop"]


def test_a_catalogue_entry_is_read_by_slug(api_for, support, service):
    response = api_for(support).get("/api/services/payments/")

    assert response.status_code == 200
    assert response.json() == {"name": "Payments", "slug": "payments", "team": "money"}


def test_an_admin_creates_catalogue_entries(api_for, admin_user, support, team):
    client = api_for(admin_user)

    new_team = client.post(
        "/api/teams/",
        {"name": "Search", "slug": "search", "email": "s@example.com", "members": ["sam"]},
        format="json",
    )
    new_service = client.post(
        "/api/services/", {"name": "Index", "slug": "index", "team": "search"}, format="json"
    )
    new_product = client.post(
        "/api/products/", {"name": "Mobile app", "slug": "mobile"}, format="json"
    )

    assert new_team.status_code == new_service.status_code == new_product.status_code == 201
    assert list(Team.objects.get(slug="search").members.all()) == [support]
    assert Service.objects.get(slug="index").team.slug == "search"
    assert Product.objects.get(slug="mobile").shown_on_status_page is True


def test_an_admin_updates_and_deletes_catalogue_entries(api_for, admin_user, product):
    client = api_for(admin_user)

    renamed = client.patch("/api/products/web-shop/", {"name": "Shop"}, format="json")
    deleted = client.delete("/api/products/web-shop/")

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Shop"
    assert deleted.status_code == 204
    assert not Product.objects.filter(slug="web-shop").exists()


@pytest.mark.parametrize("role", ["support", "responder", "manager", "outsider"])
@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/api/teams/", {"name": "New", "slug": "new"}),
        ("post", "/api/services/", {"name": "New", "slug": "new"}),
        ("post", "/api/products/", {"name": "New", "slug": "new"}),
        ("patch", "/api/teams/money/", {"name": "Renamed"}),
        ("patch", "/api/services/payments/", {"name": "Renamed"}),
        ("patch", "/api/products/web-shop/", {"name": "Renamed"}),
        ("delete", "/api/teams/money/", None),
        ("delete", "/api/services/payments/", None),
        ("delete", "/api/products/web-shop/", None),
    ],
)
def test_only_admins_write_the_catalogue(
    request, api_for, service, product, role, method, path, data
):
    client = api_for(request.getfixturevalue(role))

    response = getattr(client, method)(path, data, format="json")

    assert response.status_code == 403
    assert Team.objects.filter(name="Money").exists()
    assert Service.objects.filter(name="Payments").exists()
    assert Product.objects.filter(name="Web shop").exists()
    assert not Team.objects.filter(slug="new").exists()
    assert not Service.objects.filter(slug="new").exists()
    assert not Product.objects.filter(slug="new").exists()


def test_deleting_a_service_incidents_use_is_409(api_for, admin_user, incident):
    response = api_for(admin_user).delete("/api/services/payments/")

    assert response.status_code == 409
    assert "in use" in response.json()["detail"]
    assert Service.objects.filter(slug="payments").exists()


def test_deleting_a_team_that_owns_services_is_409(api_for, admin_user, service):
    response = api_for(admin_user).delete("/api/teams/money/")

    assert response.status_code == 409
    assert Team.objects.filter(slug="money").exists()


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/api/services/", {"name": "Index", "slug": "index", "team": "nope"}, "team"),
        ("/api/services/", {"name": "Other", "slug": "payments"}, "slug"),
        ("/api/services/", {"name": "Index", "slug": "not a slug"}, "slug"),
        ("/api/teams/", {"name": "Search", "slug": "search", "members": ["nobody"]}, "members"),
        ("/api/teams/", {"name": "Search", "slug": "search", "email": "nope"}, "email"),
        ("/api/products/", {"slug": "mobile"}, "name"),
    ],
)
def test_bad_catalogue_input_is_400_naming_the_field(
    api_for, admin_user, service, path, data, field
):
    before = (Team.objects.count(), Service.objects.count(), Product.objects.count())

    response = api_for(admin_user).post(path, data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert (Team.objects.count(), Service.objects.count(), Product.objects.count()) == before


def test_an_unknown_catalogue_slug_is_404(api_for, support):
    assert api_for(support).get("/api/services/nope/").status_code == 404


# Authentication -------------------------------------------------------------------------


def test_outsider_gets_403_on_incidents(api_for, outsider, incident):
    client = api_for(outsider)

    assert client.get("/api/incidents/").status_code == 403
    assert client.get(api(incident)).status_code == 403
    assert client.get(api(incident, "timeline")).status_code == 403
    assert client.post(api(incident, "claim")).status_code == 403


@pytest.mark.parametrize(
    "path", ["/api/incidents/", "/api/incidents/HOT-1/", "/api/teams/", "/api/services/"]
)
def test_unauthenticated_requests_are_refused(incident, path):
    response = APIClient().get(path)

    assert response.status_code in (401, 403)
    assert "key" not in response.content.decode()


def test_unauthenticated_create_is_refused(service, product):
    response = APIClient().post("/api/incidents/", payload(), format="json")

    assert response.status_code in (401, 403)
    assert not Incident.objects.exists()


def test_token_authentication_works(manager, service, product):
    token = Token.objects.create(user=manager)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    created = client.post("/api/incidents/", payload(), format="json")
    claimed = client.post(f"/api/incidents/{created.json()['key']}/claim/")

    assert created.status_code == 201
    assert claimed.status_code == 200
    assert claimed.json()["assignee"] == "maya"
    assert Incident.objects.get().created_by == manager


def test_a_wrong_token_is_refused(manager, incident):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.get("/api/incidents/").status_code in (401, 403)


def test_session_authentication_works(client_for, support, incident):
    response = client_for(support).get("/api/incidents/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_session_post_without_a_csrf_token_is_refused(client_for, manager, incident):
    client = client_for(manager, enforce_csrf_checks=True)

    response = client.post(api(incident, "claim"))

    assert response.status_code == 403
    assert Incident.objects.get().assignee is None


# Documentation --------------------------------------------------------------------------


def test_the_schema_names_the_incident_paths(api_for, support):
    response = api_for(support).get("/api/schema/", {"format": "json"})

    schema = response.json()
    assert response.status_code == 200
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/incidents/",
        "/api/incidents/{key}/",
        "/api/incidents/{key}/claim/",
        "/api/incidents/{key}/transition/",
        "/api/incidents/{key}/timeline/",
        "/api/teams/",
        "/api/services/",
        "/api/products/",
    ):
        assert path in schema["paths"]
    assert set(schema["paths"]["/api/incidents/"]) >= {"get", "post"}
    assert "patch" in schema["paths"]["/api/incidents/{key}/"]


def test_the_docs_serve_swagger_ui_from_the_local_server(client_for, support):
    response = client_for(support).get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "swagger-ui" in page
    # Every script and stylesheet from this site: none from a CDN's host (a bare "cdn"
    # can turn up inside the page's random CSRF token).
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert not [source for source in sources if source.startswith(("http:", "https:", "//"))]
    bundle = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert f"/static/{bundle}" in page
    assert finders.find(bundle) is not None


def test_the_schema_and_docs_need_sign_in():
    client = APIClient()

    assert client.get("/api/schema/").status_code in (401, 403)
    assert client.get("/api/docs/").status_code in (302, 401, 403)
