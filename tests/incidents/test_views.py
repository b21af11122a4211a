"""The HTML portal: every page with an allowed, a refused and a bad-input case."""

import html
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import actions
from incidents.models import EntryKind, Incident, Service, Status, TimelineEntry
from tests.factories import ProductFactory, ServiceFactory, TeamFactory, make_incident

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 4, 12, 30, 27, tzinfo=UTC)


def url(name, incident):
    return reverse(f"incidents:{name}", args=[incident.key])


def text_of(response):
    """The page as a person reads it: entities like &#x27; turned back into characters."""
    return html.unescape(response.content.decode())


def form_time(value):
    """A time as a browser's datetime-local input sends it (the viewer's zone is UTC)."""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M:%S") if value else ""


def edit_data(incident, **changes):
    """The edit form as a browser submits it untouched, with ``changes`` applied."""
    incident.refresh_from_db()
    data = {
        "summary": incident.summary,
        "description": incident.description,
        "severity": incident.severity,
        "faulty_service": incident.faulty_service_id,
        "affected_products": [product.pk for product in incident.affected_products.all()],
        "assignee": incident.assignee_id or "",
        "chat_room": incident.chat_room,
        "video_url": incident.video_url,
        "status_doc_url": incident.status_doc_url,
        "impact_started_at": form_time(incident.impact_started_at),
        "detected_at": form_time(incident.detected_at),
        "impact_ended_at": form_time(incident.impact_ended_at),
    }
    if incident.restricted:
        data["restricted"] = "on"
    data.update(changes)
    return data


def create_data(service, *products, **changes):
    data = {
        "summary": "Checkout is failing",
        "description": "Customers cannot pay. Call me: 555-0100.",
        "severity": "2",
        "faulty_service": service.pk,
        "affected_products": [product.pk for product in products],
    }
    data.update(changes)
    return data


@pytest.fixture
def service(db):
    return ServiceFactory(name="Payments", slug="payments", team=TeamFactory(name="Money"))


@pytest.fixture
def product(db):
    return ProductFactory(name="Web shop", slug="web-shop")


@pytest.fixture
def incident(support, service, product):
    return make_incident(by=support, faulty_service=service, products=[product])


@pytest.fixture
def restricted(manager, service):
    """A security incident logged by ``manager``: nobody else involved may see it."""
    return make_incident(
        by=manager, faulty_service=service, summary="Leaked tokens", restricted=True
    )


# Signing in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/incidents/",
        "/incidents/HOT-1/",
        "/incidents/new/",
        "/incidents/HOT-1/edit/",
        "/incidents/severity-matrix/",
        "/incidents/similar/",
        "/new",
        "/hot-1",
    ],
)
def test_anonymous_visitor_is_sent_to_the_login_page(client, incident, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_post_writes_nothing(client, incident):
    response = client.post(url("claim", incident))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Incident.objects.get().assignee is None


def test_login_page_renders(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_login_with_the_right_password_opens_the_list(client, support):
    response = client.post("/accounts/login/", {"username": "sam", "password": "pw"})

    assert response.status_code == 302
    assert response["Location"] == "/incidents/"
    assert client.get("/incidents/").status_code == 200


def test_login_returns_to_the_page_asked_for(client, support, incident):
    response = client.post(
        f"/accounts/login/?next=/incidents/{incident.key}/",
        {"username": "sam", "password": "pw", "next": f"/incidents/{incident.key}/"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.key}/"


def test_login_with_a_wrong_password_is_refused(client, support):
    response = client.post("/accounts/login/", {"username": "sam", "password": "nope"})

    assert response.status_code == 200
    assert "correct username and password" in text_of(response)
    assert client.get("/incidents/").status_code == 302


# The list -------------------------------------------------------------------------------


def test_support_sees_the_incident_list(client_for, support, incident):
    response = client_for(support).get("/incidents/")

    assert response.status_code == 200
    assert f'id="row-{incident.key}"' in response.content.decode()
    assert "Checkout is failing" in text_of(response)
    assert "Payments" in text_of(response)
    assert "Web shop" in text_of(response)


def test_outsider_gets_403_on_the_list(client_for, outsider, incident):
    response = client_for(outsider).get("/incidents/")

    assert response.status_code == 403


def test_an_empty_list_says_all_is_quiet(client_for, support):
    response = client_for(support).get("/incidents/")

    assert response.status_code == 200
    assert "No incidents yet" in text_of(response)


def test_an_invalid_filter_is_400_naming_the_field(client_for, support, incident):
    response = client_for(support).get("/incidents/", {"severity": "7"})

    assert response.status_code == 400
    assert "severity:" in text_of(response)
    assert f"row-{incident.key}" not in response.content.decode()


def test_an_unknown_service_filter_is_400_naming_the_field(client_for, support, incident):
    response = client_for(support).get("/incidents/", {"service": "no-such-service"})

    assert response.status_code == 400
    assert "service:" in text_of(response)


def rows(response):
    content = response.content.decode()
    return {
        incident.key for incident in Incident.objects.all() if f'id="row-{incident.key}"' in content
    }


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
        ({"severity": "3"}, {"resolved"}),
        ({"service": "search"}, {"fixing", "resolved"}),
        ({"product": "web-shop"}, {"new"}),
        ({"team": "money"}, {"new"}),
        ({"team": "finders", "status": "open"}, {"fixing"}),
        ({"q": "slow SEARCH"}, {"fixing"}),
        ({"q": "pineapple"}, {"resolved"}),
        ({}, {"new", "fixing", "resolved"}),
    ],
)
def test_list_filters(client_for, support, assorted, query, expected):
    response = client_for(support).get("/incidents/", query)

    assert response.status_code == 200
    assert rows(response) == {assorted[name] for name in expected}


def test_list_searches_by_key_in_any_case(client_for, support, assorted):
    response = client_for(support).get("/incidents/", {"q": assorted["fixing"].lower()})

    assert rows(response) == {assorted["fixing"]}


def test_a_filter_matching_nothing_says_so(client_for, support, assorted):
    response = client_for(support).get("/incidents/", {"q": "nothing like this"})

    assert response.status_code == 200
    assert rows(response) == set()
    assert "No incident matches these filters" in text_of(response)


def test_list_is_paginated_newest_first(client_for, support, service):
    incidents = [make_incident(by=support, faulty_service=service) for _ in range(51)]
    client = client_for(support)

    first = client.get("/incidents/", {"severity": "2"})
    second = client.get("/incidents/", {"severity": "2", "page": "2"})

    assert len(rows(first)) == 50
    assert incidents[-1].key in rows(first)
    assert rows(second) == {incidents[0].key}
    assert "Page 1 of 2" in text_of(first)
    assert "51 incidents" in text_of(first)
    # The page links keep the filters.
    assert 'href="?severity=2&amp;page=2"' in first.content.decode()


def test_a_bad_page_number_shows_a_page_instead_of_failing(client_for, support, incident):
    client = client_for(support)

    assert rows(client.get("/incidents/", {"page": "abc"})) == {incident.key}
    assert rows(client.get("/incidents/", {"page": "999"})) == {incident.key}


def test_a_restricted_incident_never_appears_in_another_users_list(
    client_for, support, responder, other_manager, restricted, incident
):
    for person in (support, responder, other_manager):
        response = client_for(person).get("/incidents/", {"q": "Leaked"})

        assert rows(response) == set()
        assert rows(client_for(person).get("/incidents/")) == {incident.key}


def test_a_restricted_incident_appears_for_its_creator_and_security(
    client_for, manager, security, restricted
):
    for person in (manager, security):
        response = client_for(person).get("/incidents/")

        assert restricted.key in rows(response)


def test_a_restricted_incident_appears_for_its_assignee(client_for, manager, support, service):
    restricted = make_incident(by=support, faulty_service=service, restricted=True)
    actions.assign_incident(restricted, assignee=manager, by=support)

    response = client_for(manager).get("/incidents/")

    assert restricted.key in rows(response)


def list_queries(client, count, managers):
    """Bring the number of incidents up to ``count`` and measure one list request."""
    products = [ProductFactory(), ProductFactory()]
    while Incident.objects.count() < count:
        incident = make_incident(by=managers[0], faulty_service=ServiceFactory(), products=products)
        actions.claim_incident(incident, by=managers[Incident.objects.count() % 2])
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/incidents/")
    assert response.status_code == 200
    assert len(rows(response)) == count
    return len(queries)


def test_the_list_query_count_does_not_grow_with_the_rows(client_for, manager, other_manager):
    client = client_for(manager)
    client.get("/incidents/")  # warm up: session, content types

    few = list_queries(client, 3, [manager, other_manager])
    many = list_queries(client, 30, [manager, other_manager])

    assert many == few


def test_htmx_list_request_gets_only_the_table(htmx_for, support, incident):
    response = htmx_for(support).get("/incidents/", {"status": "open"})

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="incident-table">')
    assert "<html" not in content
    assert 'class="filters"' not in content
    assert f'id="row-{incident.key}"' in content


# Logging an incident ------------------------------------------------------------------


def test_create_form_shows_the_handbook_help_texts(client_for, support, service, product):
    response = client_for(support).get("/incidents/new/")

    page = text_of(response)
    assert response.status_code == 200
    assert "What is the emergency?" in page
    assert "Select all that apply" in page
    assert "If no idea at all, choose 'Unknown'" in page
    assert f'href="{reverse("incidents:severity_matrix")}"' in page
    assert 'type="checkbox" name="affected_products"' in page
    assert "Unknown" in page  # the built-in service is offered
    assert "Payments" in page


def test_outsider_cannot_open_the_create_form(client_for, outsider):
    assert client_for(outsider).get("/incidents/new/").status_code == 403


def test_outsider_cannot_log_an_incident(client_for, outsider, service):
    response = client_for(outsider).post("/incidents/new/", create_data(service))

    assert response.status_code == 403
    assert not Incident.objects.exists()


def test_support_logs_an_incident_and_lands_on_it(client_for, support, service, product):
    response = client_for(support).post("/incidents/new/", create_data(service, product))

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.key}/"
    assert incident.key.startswith("HOT-")
    assert incident.summary == "Checkout is failing"
    assert incident.severity == 2
    assert incident.faulty_service == service
    assert list(incident.affected_products.all()) == [product]
    assert incident.created_by == support
    assert incident.status == Status.NEW
    assert incident.chat_room == incident.key
    assert incident.timeline.get().kind == EntryKind.CREATED


def test_after_logging_the_page_shows_the_key_to_use(client_for, support, service):
    response = client_for(support).post("/incidents/new/", create_data(service), follow=True)

    key = Incident.objects.get().key
    assert response.status_code == 200
    assert f"{key} logged. Use this key in every message." in text_of(response)


def test_an_incident_may_be_logged_on_the_unknown_service(client_for, support):
    unknown = Service.objects.get(slug="unknown")

    response = client_for(support).post("/incidents/new/", create_data(unknown))

    assert response.status_code == 302
    assert Incident.objects.get().faulty_service == unknown


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("summary", ""),
        ("description", ""),
        ("severity", "7"),
        ("severity", ""),
        ("faulty_service", ""),
        ("faulty_service", "999999"),
        ("affected_products", ["999999"]),
        ("impact_started_at", "yesterday-ish"),
    ],
)
def test_bad_input_on_the_create_form_is_400_naming_the_field(
    client_for, support, service, field, value
):
    response = client_for(support).post("/incidents/new/", create_data(service, **{field: value}))

    assert response.status_code == 400
    assert f'class="field has-error" id="field-{field}"' in response.content.decode()
    assert list(response.context["form"].errors) == [field]
    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_an_impact_start_in_the_future_is_refused_on_the_create_form(
    client_for, support, service, time_machine
):
    time_machine.move_to(NOW, tick=False)
    later = NOW + timedelta(hours=2)

    response = client_for(support).post(
        "/incidents/new/", create_data(service, impact_started_at=form_time(later))
    )

    assert response.status_code == 400
    assert "This time is in the future." in text_of(response)
    assert list(response.context["form"].errors) == ["impact_started_at"]
    assert not Incident.objects.exists()


def test_an_impact_start_a_few_minutes_ahead_is_400_not_500(
    client_for, support, service, time_machine
):
    # Within the clock-drift tolerance, but after "now", which becomes the detection time.
    time_machine.move_to(NOW, tick=False)
    soon = NOW + timedelta(minutes=3)

    response = client_for(support).post(
        "/incidents/new/", create_data(service, impact_started_at=form_time(soon))
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["impact_started_at"]
    assert not Incident.objects.exists()


def test_the_short_new_link_opens_the_form(client_for, support):
    response = client_for(support).get("/new")

    assert response.status_code == 302
    assert response["Location"] == "/incidents/new/"


# Similar incidents while the form is filled in ------------------------------------------


def test_similar_lists_open_incidents_on_the_chosen_service(
    htmx_for, support, manager, service, restricted
):
    open_one = make_incident(by=support, faulty_service=service, summary="Payments down")
    resolved = make_incident(by=support, faulty_service=service, summary="Old payments bug")
    actions.transition_incident(
        resolved, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    elsewhere = make_incident(by=support, summary="Search down")

    response = htmx_for(support).get("/incidents/similar/", {"faulty_service": service.pk})

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert open_one.key in content
    assert resolved.key not in content
    assert elsewhere.key not in content
    assert restricted.key not in content  # support is not involved in it


def test_similar_shows_restricted_incidents_to_those_involved(htmx_for, manager, restricted):
    response = htmx_for(manager).get(
        "/incidents/similar/", {"faulty_service": restricted.faulty_service_id}
    )

    assert restricted.key in response.content.decode()


def test_similar_lists_open_incidents_on_the_chosen_products(htmx_for, support, product):
    shop_incident = make_incident(by=support, products=[product])
    other = make_incident(by=support, products=[ProductFactory()])

    response = htmx_for(support).get(
        "/incidents/similar/",
        {"faulty_service": "", "affected_products": [product.pk]},
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert shop_incident.key in content
    assert other.key not in content


def test_similar_is_empty_until_something_is_chosen(htmx_for, support, incident):
    response = htmx_for(support).get("/incidents/similar/")

    assert response.status_code == 200
    assert incident.key not in response.content.decode()
    assert 'id="similar"' in response.content.decode()


def test_similar_ignores_values_that_are_not_ids(htmx_for, support, incident):
    response = htmx_for(support).get(
        "/incidents/similar/", {"faulty_service": "'; drop table", "affected_products": "x"}
    )

    assert response.status_code == 200
    assert incident.key not in response.content.decode()


def test_outsider_gets_403_on_similar(htmx_for, outsider, incident):
    response = htmx_for(outsider).get(
        "/incidents/similar/", {"faulty_service": incident.faulty_service_id}
    )

    assert response.status_code == 403


# The incident page ----------------------------------------------------------------------


def test_detail_shows_the_fields(client_for, support, incident):
    response = client_for(support).get(f"/incidents/{incident.key}/")

    page = text_of(response)
    assert response.status_code == 200
    assert incident.key in page
    assert "Checkout is failing" in page
    assert "Customers cannot pay. Call me: 555-0100." in page
    assert "Payments" in page
    assert "Money" in page  # the owning team
    assert "Web shop" in page
    assert f"#{incident.key}" in page  # the chat room
    assert "unassigned" in page
    assert "SEV 2" in page
    assert "status-new" in page


def test_detail_shows_ttd_and_ttr_as_unknown_when_times_are_missing(client_for, support, service):
    incident = make_incident(by=support, faulty_service=service)

    page = client_for(support).get(f"/incidents/{incident.key}/").content.decode()

    assert "TTD</dt><dd>unknown</dd>" in page
    assert "TTR</dt><dd>unknown</dd>" in page
    assert "0 min" not in page


def test_detail_shows_ttd_and_ttr_from_the_impact_times(
    client_for, support, manager, service, time_machine
):
    time_machine.move_to(NOW, tick=False)
    incident = make_incident(
        by=support, faulty_service=service, impact_started_at=NOW - timedelta(minutes=15)
    )
    actions.claim_incident(incident, by=manager)
    actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=NOW + timedelta(minutes=2)
    )

    page = client_for(support).get(f"/incidents/{incident.key}/").content.decode()

    assert "TTD</dt><dd>15 min</dd>" in page
    assert "TTR</dt><dd>17 min</dd>" in page


def test_detail_accepts_the_key_in_any_case(client_for, support, incident):
    response = client_for(support).get(f"/incidents/{incident.key.lower()}/")

    assert response.status_code == 200
    assert response.context["incident"] == incident


def test_an_unknown_key_is_404(client_for, support, incident):
    assert client_for(support).get("/incidents/HOT-999/").status_code == 404


def test_outsider_gets_403_on_an_incident(client_for, outsider, incident):
    assert client_for(outsider).get(f"/incidents/{incident.key}/").status_code == 403


def test_a_restricted_incident_is_404_for_someone_not_involved(
    client_for, support, responder, other_manager, restricted
):
    for person in (support, responder, other_manager):
        assert client_for(person).get(f"/incidents/{restricted.key}/").status_code == 404


def test_a_restricted_incident_is_shown_to_its_creator_and_security(
    client_for, manager, security, restricted
):
    for person in (manager, security):
        response = client_for(person).get(f"/incidents/{restricted.key}/")

        assert response.status_code == 200
        assert "restricted" in text_of(response)


def test_support_sees_no_workflow_buttons(client_for, support, incident):
    page = client_for(support).get(f"/incidents/{incident.key}/").content.decode()

    assert url("claim", incident) not in page
    assert url("transition", incident) not in page
    assert url("edit", incident) not in page
    assert 'id="entry-form"' not in page


def test_a_manager_sees_the_workflow_buttons(client_for, manager, incident):
    page = client_for(manager).get(f"/incidents/{incident.key}/").content.decode()

    assert url("claim", incident) in page
    assert url("transition", incident) in page
    assert url("severity", incident) in page
    assert url("edit", incident) in page
    assert 'id="entry-form"' in page


# Claim ----------------------------------------------------------------------------------


def test_a_manager_claims_an_incident(client_for, manager, incident):
    response = client_for(manager).post(url("claim", incident))

    incident.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.key}/"
    assert incident.assignee == manager
    assert incident.status == Status.FIXING
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds == [EntryKind.CREATED, EntryKind.ASSIGNEE, EntryKind.STATUS]


def test_a_second_claim_is_refused_with_409(client_for, manager, other_manager, incident):
    client_for(manager).post(url("claim", incident))

    response = client_for(other_manager).post(url("claim", incident))

    incident.refresh_from_db()
    assert response.status_code == 409
    assert f"{incident.key} was already claimed by maya" in text_of(response)
    assert incident.assignee == manager
    assert incident.timeline.filter(kind=EntryKind.ASSIGNEE).count() == 1


@pytest.mark.parametrize("role", ["support", "responder"])
def test_support_and_responders_cannot_claim(request, client_for, incident, role):
    response = client_for(request.getfixturevalue(role)).post(url("claim", incident))

    incident.refresh_from_db()
    assert response.status_code == 403
    assert incident.assignee is None
    assert incident.status == Status.NEW


def test_a_claim_must_be_posted(client_for, manager, incident):
    response = client_for(manager).get(url("claim", incident))

    assert response.status_code == 405
    assert Incident.objects.get().assignee is None


def test_a_manager_not_involved_cannot_claim_a_restricted_incident(
    client_for, other_manager, restricted
):
    response = client_for(other_manager).post(url("claim", restricted))

    assert response.status_code == 404
    assert Incident.objects.get(pk=restricted.pk).assignee is None


# Status ---------------------------------------------------------------------------------


@pytest.fixture
def claimed(incident, manager):
    return actions.claim_incident(incident, by=manager)


def test_resolving_without_impact_ended_is_400_naming_impact_ended(client_for, manager, claimed):
    response = client_for(manager).post(url("transition", claimed), {"to": "resolved"})

    claimed.refresh_from_db()
    assert response.status_code == 400
    assert "Say when the impact ended before resolving." in text_of(response)
    assert "impact_ended_at" in response.context["transition_form"].errors
    assert claimed.status == Status.FIXING
    assert not claimed.timeline.filter(kind=EntryKind.STATUS, data__to="resolved").exists()


def test_resolving_with_impact_ended_resolves(client_for, manager, claimed):
    ended = timezone.now() - timedelta(minutes=3)

    response = client_for(manager).post(
        url("transition", claimed), {"to": "resolved", "impact_ended_at": form_time(ended)}
    )

    claimed.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{claimed.key}/"
    assert claimed.status == Status.RESOLVED
    assert claimed.impact_ended_at == ended.replace(microsecond=0)
    entry = claimed.timeline.filter(kind=EntryKind.STATUS).last()
    assert entry.data.items() >= {"from": "fixing", "to": "resolved"}.items()
    assert entry.author == manager


FINAL_UPDATE_DUE = (
    "The status page still shows this incident as ongoing — publish the final update."
)


def announce_publicly(incident, by):
    """Publish the external initial update: the public status page shows the incident."""
    from comms import actions as comms_actions
    from comms.models import Audience, Kind

    draft = comms_actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=by
    )
    return comms_actions.publish_communication(draft, by=by)


def test_resolving_a_publicly_announced_incident_offers_the_final_update(
    client_for, manager, claimed
):
    from comms import actions as comms_actions
    from comms.models import Audience, Communication, Kind, State

    announce_publicly(claimed, manager)
    client = client_for(manager)
    ended = timezone.now() - timedelta(minutes=3)

    response = client.post(
        url("transition", claimed),
        {"to": "resolved", "impact_ended_at": form_time(ended)},
        follow=True,
    )

    page = text_of(response)
    draft = Communication.objects.get(incident=claimed, audience=Audience.EXTERNAL, kind=Kind.FINAL)
    assert response.status_code == 200
    assert draft.state == State.DRAFT
    assert "has been resolved and service is restored" in draft.summary  # the template's
    assert page.count(FINAL_UPDATE_DUE) == 2  # the message, and the panel with its button
    assert f'href="/comms/communications/{draft.pk}/">Publish the final update</a>' in page

    comms_actions.publish_communication(draft, by=manager)

    assert FINAL_UPDATE_DUE not in text_of(client.get(claimed.get_absolute_url()))


def test_resolving_an_incident_never_shown_publicly_asks_for_nothing_more(
    client_for, manager, claimed
):
    ended = timezone.now() - timedelta(minutes=3)

    response = client_for(manager).post(
        url("transition", claimed),
        {"to": "resolved", "impact_ended_at": form_time(ended)},
        follow=True,
    )

    assert response.status_code == 200
    assert FINAL_UPDATE_DUE not in text_of(response)
    assert not claimed.communications.exists()


def test_an_illegal_transition_is_400_with_a_message(client_for, manager, incident):
    response = client_for(manager).post(url("transition", incident), {"to": "reviewed"})

    incident.refresh_from_db()
    assert response.status_code == 400
    assert f"{incident.key} cannot go from new to reviewed" in text_of(response)
    assert "to" in response.context["transition_form"].errors
    assert incident.status == Status.NEW
    assert not incident.timeline.filter(kind=EntryKind.STATUS).exists()


def test_resolving_an_incident_someone_resolved_first_is_409_naming_them(
    client_for, manager, other_manager, claimed
):
    body = {"to": "resolved", "impact_ended_at": form_time(timezone.now() - timedelta(minutes=5))}
    assert client_for(manager).post(url("transition", claimed), body).status_code == 302

    response = client_for(other_manager).post(url("transition", claimed), body)

    assert response.status_code == 409
    assert f"{claimed.key} is already resolved (by maya)." in text_of(response)
    assert claimed.timeline.filter(kind=EntryKind.STATUS, data__to="resolved").count() == 1


def test_an_unknown_status_is_400_naming_the_field(client_for, manager, claimed):
    response = client_for(manager).post(url("transition", claimed), {"to": "closed"})

    claimed.refresh_from_db()
    assert response.status_code == 400
    assert "to" in response.context["transition_form"].errors
    assert claimed.status == Status.FIXING


def test_an_impact_end_in_the_future_is_refused(client_for, manager, claimed):
    tomorrow = timezone.now() + timedelta(days=1)

    response = client_for(manager).post(
        url("transition", claimed), {"to": "resolved", "impact_ended_at": form_time(tomorrow)}
    )

    claimed.refresh_from_db()
    assert response.status_code == 400
    assert "impact_ended_at" in response.context["transition_form"].errors
    assert claimed.status == Status.FIXING
    assert claimed.impact_ended_at is None


@pytest.mark.parametrize("role", ["support", "responder"])
def test_support_and_responders_cannot_change_status(request, client_for, claimed, role):
    response = client_for(request.getfixturevalue(role)).post(
        url("transition", claimed), {"to": "resolved", "impact_ended_at": "2020-01-01T00:00"}
    )

    claimed.refresh_from_db()
    assert response.status_code == 403
    assert claimed.status == Status.FIXING


# Severity -------------------------------------------------------------------------------


def test_a_manager_changes_the_severity(client_for, manager, incident):
    response = client_for(manager).post(
        url("severity", incident), {"severity": "1", "reason": "All regions now."}
    )

    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.severity == 1
    entry = incident.timeline.get(kind=EntryKind.SEVERITY)
    assert entry.data.items() >= {"from": 2, "to": 1}.items()
    assert entry.author == manager
    assert "All regions now." in entry.text


def test_a_bad_severity_is_400_and_changes_nothing(client_for, manager, incident):
    response = client_for(manager).post(url("severity", incident), {"severity": "7"})

    incident.refresh_from_db()
    assert response.status_code == 400
    assert "severity" in response.context["severity_form"].errors
    assert incident.severity == 2
    assert not incident.timeline.filter(kind=EntryKind.SEVERITY).exists()


@pytest.mark.parametrize("role", ["support", "responder"])
def test_support_and_responders_cannot_change_severity(request, client_for, incident, role):
    response = client_for(request.getfixturevalue(role)).post(
        url("severity", incident), {"severity": "1"}
    )

    incident.refresh_from_db()
    assert response.status_code == 403
    assert incident.severity == 2


# Edit -----------------------------------------------------------------------------------


def test_the_edit_form_shows_the_current_values(client_for, manager, incident):
    response = client_for(manager).get(url("edit", incident))

    assert response.status_code == 200
    assert 'value="Checkout is failing"' in response.content.decode()
    assert "Customers cannot pay." in text_of(response)


def test_editing_saves_and_writes_an_edited_entry(client_for, manager, incident, time_machine):
    time_machine.move_to(NOW.replace(second=0), tick=False)
    incident = make_incident(by=manager, faulty_service=incident.faulty_service)

    response = client_for(manager).post(
        url("edit", incident),
        edit_data(incident, summary="Checkout fails for cards", video_url="https://meet.example/x"),
    )

    incident.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.key}/"
    assert incident.summary == "Checkout fails for cards"
    assert incident.video_url == "https://meet.example/x"
    entry = incident.timeline.get(kind=EntryKind.EDITED)
    assert entry.author == manager
    assert entry.data.items() >= {"fields": ["summary", "video_url"]}.items()


def test_saving_the_edit_form_untouched_changes_nothing(
    client_for, manager, incident, time_machine
):
    # Logged at 12:30:27: an untouched save must keep the seconds and write no entry.
    time_machine.move_to(NOW, tick=False)
    incident = make_incident(by=manager, faulty_service=incident.faulty_service)
    detected = Incident.objects.get(pk=incident.pk).detected_at

    response = client_for(manager).post(url("edit", incident), edit_data(incident))

    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.detected_at == detected
    assert not incident.timeline.filter(kind=EntryKind.EDITED).exists()


def test_editing_the_severity_and_assignee_goes_through_their_actions(
    client_for, manager, other_manager, incident
):
    response = client_for(manager).post(
        url("edit", incident), edit_data(incident, severity="1", assignee=other_manager.pk)
    )

    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.severity == 1
    assert incident.assignee == other_manager
    assert incident.timeline.filter(kind=EntryKind.SEVERITY).count() == 1
    assert incident.timeline.filter(kind=EntryKind.ASSIGNEE).count() == 1


def test_a_bad_video_url_is_400_naming_the_field(client_for, manager, incident):
    response = client_for(manager).post(
        url("edit", incident), edit_data(incident, summary="Changed", video_url="not a url")
    )

    incident.refresh_from_db()
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["video_url"]
    assert 'id="field-video_url"' in response.content.decode()
    assert incident.summary == "Checkout is failing"
    assert not incident.timeline.filter(kind=EntryKind.EDITED).exists()


def test_detection_before_impact_start_is_400_naming_detected(client_for, manager, incident):
    response = client_for(manager).post(
        url("edit", incident),
        edit_data(incident, impact_started_at="2025-01-02T10:00", detected_at="2025-01-02T09:00"),
    )

    incident.refresh_from_db()
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["detected_at"]
    assert incident.impact_started_at is None


@pytest.mark.parametrize("role", ["support", "responder"])
def test_support_and_responders_cannot_edit(request, client_for, incident, role):
    client = client_for(request.getfixturevalue(role))

    assert client.get(url("edit", incident)).status_code == 403
    response = client.post(url("edit", incident), edit_data(incident, summary="Changed"))

    incident.refresh_from_db()
    assert response.status_code == 403
    assert incident.summary == "Checkout is failing"


def test_a_restricted_incident_cannot_be_edited_by_someone_not_involved(
    client_for, other_manager, restricted
):
    response = client_for(other_manager).post(
        url("edit", restricted), edit_data(restricted, summary="Changed")
    )

    assert response.status_code == 404
    assert Incident.objects.get(pk=restricted.pk).summary == "Leaked tokens"


# Timeline -------------------------------------------------------------------------------


def test_a_responder_adds_a_timeline_entry(client_for, responder, incident):
    response = client_for(responder).post(
        url("timeline", incident), {"kind": "observation", "text": "Error rate at 40%."}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.key}/#timeline"
    entry = incident.timeline.get(kind=EntryKind.OBSERVATION)
    assert entry.text == "Error rate at 40%."
    assert entry.author == responder


def test_an_htmx_timeline_post_returns_the_timeline(htmx_for, responder, incident):
    response = htmx_for(responder).post(
        url("timeline", incident), {"kind": "theory", "text": "The new cache is cold."}
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="timeline">')
    assert "<html" not in content
    assert "The new cache is cold." in content
    entry = incident.timeline.get(kind=EntryKind.THEORY)
    assert f'id="entry-{entry.pk}"' in content


def test_support_cannot_add_a_timeline_entry(client_for, support, incident):
    response = client_for(support).post(
        url("timeline", incident), {"kind": "observation", "text": "I see it too."}
    )

    assert response.status_code == 403
    assert not incident.timeline.filter(kind=EntryKind.OBSERVATION).exists()


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("text", {"kind": "observation", "text": ""}),
        ("text", {"kind": "observation", "text": "   "}),
        ("kind", {"kind": "status", "text": "I pretend to be the system."}),
        ("kind", {"kind": "gossip", "text": "Heard something."}),
        ("occurred_at", {"kind": "note", "text": "Odd.", "occurred_at": "not a time"}),
        ("occurred_at", {"kind": "note", "text": "Odd.", "occurred_at": "2999-01-01T00:00"}),
    ],
)
def test_a_bad_timeline_entry_is_400_naming_the_field(client_for, responder, incident, field, data):
    response = client_for(responder).post(url("timeline", incident), data)

    assert response.status_code == 400
    assert list(response.context["entry_form"].errors) == [field]
    assert incident.timeline.count() == 1  # only the "created" entry


def test_the_timeline_filters_by_kind(client_for, responder, incident):
    actions.add_timeline_entry(incident, kind="theory", text="Cold cache.", by=responder)
    actions.add_timeline_entry(incident, kind="observation", text="Errors at 40%.", by=responder)

    response = client_for(responder).get(f"/incidents/{incident.key}/", {"kind": "theory"})

    assert response.status_code == 200
    assert "Cold cache." in text_of(response)
    assert "Errors at 40%." not in text_of(response)


def test_the_timeline_filter_answers_htmx_with_the_partial(htmx_for, responder, incident):
    actions.add_timeline_entry(incident, kind="theory", text="Cold cache.", by=responder)
    actions.add_timeline_entry(incident, kind="observation", text="Errors at 40%.", by=responder)

    response = htmx_for(responder).get(url("timeline", incident), {"kind": "observation"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert "Errors at 40%." in content
    assert "Cold cache." not in content


def test_a_backdated_entry_takes_its_place_on_the_timeline(
    client_for, responder, incident, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    earlier = timezone.localtime() - timedelta(hours=2)

    response = client_for(responder).post(
        url("timeline", incident),
        {"kind": "change", "text": "Deployed 4.2.", "occurred_at": form_time(earlier)},
    )

    assert response.status_code == 302
    entry = incident.timeline.get(kind=EntryKind.CHANGE)
    assert entry.occurred_at == earlier.replace(microsecond=0)
    assert entry.recorded_at == timezone.now()
    assert list(incident.timeline.values_list("kind", flat=True)) == [
        EntryKind.CHANGE,
        EntryKind.CREATED,
    ]
    page = text_of(client_for(responder).get(f"/incidents/{incident.key}/"))
    assert "(recorded" in page


def test_a_restricted_timeline_is_404_for_someone_not_involved(client_for, responder, restricted):
    client = client_for(responder)

    assert client.get(url("timeline", restricted)).status_code == 404
    response = client.post(url("timeline", restricted), {"kind": "note", "text": "Hello?"})
    assert response.status_code == 404
    assert restricted.timeline.count() == 1


# Short links and the severity matrix ---------------------------------------------------


@pytest.mark.parametrize("path", ["/hot-12", "/HOT-12", "/Hot-12/"])
def test_short_links_redirect_to_the_incident(client_for, support, path):
    response = client_for(support).get(path)

    assert response.status_code == 302
    assert response["Location"] == "/incidents/HOT-12/"


def test_a_short_link_leads_to_the_incident_page(client_for, support, incident):
    response = client_for(support).get(f"/{incident.key.lower()}", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(f"/incidents/{incident.key}/", 302)]
    assert response.context["incident"] == incident


def test_the_home_page_opens_the_list(client_for, security):
    # People who label support cases land on the dashboard (tests/incidents/test_support.py).
    response = client_for(security).get("/")

    assert response.status_code == 302
    assert response["Location"] == "/incidents/"


def test_the_severity_matrix_page(client_for, support):
    response = client_for(support).get("/incidents/severity-matrix/")

    page = text_of(response)
    assert response.status_code == 200
    assert "Severity matrix" in page
    for text in ("SEV 1", "SEV 2", "SEV 3", "Critical", "Major", "Minor"):
        assert text in page


# Safety ---------------------------------------------------------------------------------


def test_a_post_without_a_csrf_token_is_refused(client_for, manager, incident):
    client = client_for(manager, enforce_csrf_checks=True)

    response = client.post(url("claim", incident))

    assert response.status_code == 403
    assert Incident.objects.get().assignee is None


def test_a_post_with_the_csrf_token_htmx_sends_is_accepted(client_for, manager, incident):
    client = client_for(manager, enforce_csrf_checks=True)
    client.get(f"/incidents/{incident.key}/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value

    response = client.post(url("claim", incident), HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 302
    assert Incident.objects.get().assignee == manager


def test_output_is_escaped(client_for, support, service):
    incident = make_incident(
        by=support, faulty_service=service, summary="<script>alert(1)</script>"
    )
    client = client_for(support)

    for path in ("/incidents/", f"/incidents/{incident.key}/"):
        content = client.get(path).content.decode()

        assert "<script>alert(1)</script>" not in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_a_post_to_the_list_is_not_allowed(client_for, support):
    assert client_for(support).post("/incidents/").status_code == 405


def test_the_login_form_carries_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")

    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()


def test_a_refused_htmx_entry_shows_the_form_with_its_error(htmx_for, responder, incident):
    later = timezone.localtime() + timedelta(hours=2)

    response = htmx_for(responder).post(
        url("timeline", incident),
        {"kind": "note", "text": "Tomorrow", "occurred_at": form_time(later)},
    )

    assert response.status_code == 400
    assert response["HX-Retarget"] == "#entry-form"
    assert response["HX-Reswap"] == "outerHTML"
    body = response.content.decode()
    assert 'id="entry-form"' in body
    assert "This time is in the future." in body
    assert 'id="timeline"' not in body
    assert not incident.timeline.filter(kind=EntryKind.NOTE).exists()


def test_signed_out_browser_is_sent_from_the_api_docs_to_login(db):
    response = Client().get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_similar_matches_the_summary_as_it_is_typed(htmx_for, support):
    twin = make_incident(by=support, summary="Checkout returns 502 for card payments")
    other = make_incident(by=support, summary="Search is slow")

    response = htmx_for(support).get("/incidents/similar/", {"summary": "checkout 502s"})

    content = response.content.decode()
    assert twin.key in content
    assert other.key not in content


def test_similar_puts_the_incident_sharing_most_words_first(htmx_for, support):
    one_word = make_incident(by=support, summary="Login page is slow")
    two_words = make_incident(by=support, summary="Login fails for SSO customers")

    response = htmx_for(support).get(
        "/incidents/similar/", {"summary": "SSO login fails since noon"}
    )

    content = response.content.decode()
    assert content.index(two_words.key) < content.index(one_word.key)


def test_short_words_alone_match_nothing(htmx_for, support, incident):
    response = htmx_for(support).get("/incidents/similar/", {"summary": "the api is"})

    assert incident.key not in response.content.decode()


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "-1", "1.5"])
def test_similar_ignores_ids_no_database_could_hold(htmx_for, support, value):
    response = htmx_for(support).get("/incidents/similar/", {"faulty_service": value})

    assert response.status_code == 200
