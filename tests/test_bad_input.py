"""Bad input gets a 4xx with a reason naming the field, never a 5xx.

Property-based: Hypothesis makes the NUL-bearing text, the nesting and the dates; the
real endpoints answer through the test client (on PostgreSQL a NUL that reached the
database was a DataError, 50,000 levels of JSON a RecursionError, year 1 an
OverflowError on the incident's pages).
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.input_guard import MAX_JSON_DEPTH
from incidents.models import Incident, Product
from oncall.integrations import actions as integration_actions
from oncall.integrations import setup as integrations_setup
from oncall.integrations.models import Alert
from tests.factories import ProductFactory, ServiceFactory, TeamFactory, make_incident

pytestmark = pytest.mark.django_db

# The fixtures (people, a team's catalogue) are made once per test and reused by every
# example: each example is refused, so none changes them.
examples = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NUL_REFUSED = ["Null characters are not allowed."]
DEEP_REFUSED = {"detail": "JSON nested too deeply."}

# Text with at least one NUL among other control characters and ordinary letters.
CONTROL = st.characters(min_codepoint=0, max_codepoint=31)
nul_text = st.builds(
    lambda before, after: f"{before}\x00{after}",
    st.text(CONTROL | st.characters(categories=["L", "N"]), max_size=8),
    st.text(CONTROL | st.characters(categories=["L", "N"]), max_size=8),
)


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


def incident_payload(**changes):
    data = {
        "summary": "Checkout is failing",
        "description": "Customers cannot pay.",
        "severity": 1,
        "faulty_service": "payments",
        "affected_products": ["web-shop"],
    }
    data.update(changes)
    return data


def post_json(client, url, body, method="post"):
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json")


# 15. NUL in fields that name another object -----------------------------------------


@examples
@given(text=nul_text)
def test_nul_in_a_service_or_product_slug_is_refused_naming_the_field(
    api_for, support, service, product, text
):
    client = api_for(support)
    for field, value in (("faulty_service", text), ("affected_products", ["web-shop", text])):
        response = post_json(client, "/api/incidents/", incident_payload(**{field: value}))

        assert response.status_code == 400, response.content
        assert response.json() == {field: NUL_REFUSED}
    assert not Incident.objects.exists()


@examples
@given(text=nul_text)
def test_nul_in_a_username_is_refused_naming_the_field(
    api_for, support, manager, admin_user, incident, text
):
    key = incident.key
    cases = [
        (api_for(manager), f"/api/incidents/{key}/", {"assignee": text}, "patch", "assignee"),
        (
            api_for(manager),
            f"/api/incidents/{key}/roles/",
            {"person": text, "role": "scribe"},
            "post",
            "person",
        ),
        (
            api_for(admin_user),
            "/api/teams/",
            {"name": "T", "slug": "t", "members": [text]},
            "post",
            "members",
        ),
        (
            api_for(admin_user),
            "/api/services/",
            {"name": "S", "slug": "s", "team": text},
            "post",
            "team",
        ),
    ]
    for client, url, body, method, field in cases:
        response = post_json(client, url, body, method)

        assert response.status_code == 400, (url, response.content)
        assert response.json() == {field: NUL_REFUSED}


@examples
@given(text=nul_text)
def test_nul_in_a_key_anywhere_in_the_json_names_the_top_level_field(api_for, support, text):
    response = post_json(
        api_for(support), "/api/incidents/", incident_payload(extra={"deep": [{text: 1}]})
    )

    assert response.status_code == 400
    assert response.json() == {"extra": NUL_REFUSED}


@examples
@given(text=nul_text)
def test_anyone_subscribing_with_a_nul_gets_400_naming_the_field(product, text):
    cache.clear()  # the public endpoint limits attempts per address
    # Unauthenticated: the API endpoint and the status page's form.
    api = post_json(
        Client(), "/api/comms/subscribers/", {"email": "a@example.com", "products": [text]}
    )
    form = Client().post("/status/subscribe/", {"email": "a@example.com", "products": [text]})

    assert api.status_code == 400
    assert api.json() == {"products": NUL_REFUSED}
    assert form.status_code == 400
    assert "products" in form.content.decode()


@examples
@given(text=nul_text)
def test_a_nul_in_the_path_or_the_query_is_a_400(api_for, client_for, support, text):
    from urllib.parse import quote

    encoded = quote(text, safe="")
    path = api_for(support).get(f"/api/incidents/HOT-{encoded}/")
    query = api_for(support).get("/api/incidents/", {"search": text})
    portal = client_for(support).get("/support/cases/", {"q": text})
    anonymous = Client().get("/status/", {"q": text})

    assert path.status_code == 400
    assert "path" in path.json()["detail"]
    assert query.status_code == 400
    assert "“search”" in query.json()["detail"]
    assert portal.status_code == 400
    assert "“q”" in portal.content.decode()
    assert anonymous.status_code == 400


# Headers reach Django as latin-1 (WSGI): ASCII letters and control characters.
ascii_nul_text = st.builds(
    lambda before, after: f"{before}\x00{after}",
    st.text(st.characters(max_codepoint=127, exclude_characters=';, "\\'), max_size=8),
    st.text(st.characters(max_codepoint=127, exclude_characters=';, "\\'), max_size=8),
)


@examples
@given(text=ascii_nul_text)
def test_a_nul_in_a_token_or_a_session_cookie_is_a_400(support, text):
    # Both are looked up in the database before any view runs.
    token = Client().get("/api/incidents/", HTTP_AUTHORIZATION=f"Token {text}")
    session = Client()
    session.cookies["sessionid"] = f"abcdefgh{text}"
    portal = session.get("/incidents/")

    assert token.status_code == 400
    assert "“Authorization”" in token.json()["detail"]
    assert portal.status_code == 400
    assert "“sessionid”" in portal.content.decode()


def test_a_nul_in_a_form_field_the_api_parses_itself_is_refused(api_for, manager, incident):
    # PATCH with a form body: Django leaves it to DRF's parser.
    from urllib.parse import urlencode

    response = api_for(manager).patch(
        f"/api/incidents/{incident.key}/",
        urlencode({"assignee": "ma\x00ya"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json() == {"assignee": NUL_REFUSED}


def test_a_nul_in_a_portal_form_field_is_refused(client_for, support, service):
    response = client_for(support).post(
        "/incidents/new/", {"summary": "x", "faulty_service": "1\x00"}
    )

    assert response.status_code == 400
    assert "“faulty_service”" in response.content.decode()


@pytest.fixture
def registered():
    integrations_setup()


@examples
@given(text=nul_text)
def test_nul_in_a_severity_map_key_is_refused_naming_the_field(api_for, admin_user, service, text):
    body = {"name": "Prometheus", "service": "payments", "severity_map": {text: 1}}

    response = post_json(api_for(admin_user), "/api/integrations/", body)

    assert response.status_code == 400
    assert response.json() == {"severity_map": NUL_REFUSED}


@pytest.fixture
def integration_key(registered, admin_user, service):
    _, key = integration_actions.create_integration(
        by=admin_user, name="Prometheus", service=service
    )
    return key


@examples
@given(text=nul_text)
def test_an_alert_with_a_nul_is_refused_naming_the_field(integration_key, text):
    body = {"title": text, "severity": "critical"}

    response = post_json(Client(), f"/integrations/generic/{integration_key}/", body)
    raw = Client().post(
        f"/integrations/generic/{integration_key}/",
        data=b'{"title": "a\x00b"}',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "title: Null characters are not allowed." in response.json()["errors"]
    assert raw.status_code == 400
    # Kept for the admin to inspect, the NUL shown replaced.
    assert all("\x00" not in alert.payload for alert in Alert.objects.all())


# 16. Deeply nested JSON --------------------------------------------------------------


def nested(depth, kind):
    opening, closing = ('{"a":', "}") if kind == "object" else ("[", "]")
    return opening * depth + "1" + closing * depth


deep = st.builds(
    nested,
    st.one_of(st.integers(MAX_JSON_DEPTH + 1, 2000), st.just(50_000)),
    st.sampled_from(["object", "array"]),
)


@examples
@given(body=deep)
def test_json_nested_too_deeply_is_a_400_on_the_api(
    api_for, support, manager, admin_user, incident, body
):
    key = incident.key
    cache.clear()  # the public subscribe endpoint limits attempts per address
    for client, url, method in (
        (api_for(support), "/api/incidents/", "post"),
        (api_for(manager), f"/api/incidents/{key}/", "patch"),
        (api_for(manager), f"/api/incidents/{key}/timeline/", "post"),
        (api_for(admin_user), "/api/integrations/", "post"),
        (Client(), "/api/comms/subscribers/", "post"),
    ):
        response = post_json(client, url, body, method)

        assert response.status_code == 400, (url, response.content[:200])
        assert response.json() == DEEP_REFUSED


@examples
@given(body=deep)
def test_json_nested_too_deeply_is_a_400_at_the_alert_receivers(integration_key, body):
    for url in (
        f"/integrations/generic/{integration_key}/",
        f"/integrations/alertmanager/{integration_key}/",
        "/v2/enqueue",
    ):
        response = post_json(Client(), url, body)

        assert response.status_code == 400, (url, response.content[:200])
        assert "JSON nested too deeply." in response.json()["errors"]


def test_json_nested_within_the_limit_is_still_parsed(api_for, support, service, product):
    body = incident_payload(extra=json.loads(nested(MAX_JSON_DEPTH - 2, "array")))

    response = post_json(api_for(support), "/api/incidents/", body)

    assert response.status_code == 201


# 17. Dates outside a sane range -------------------------------------------------------

offsets = st.sampled_from(
    [UTC, timezone.get_fixed_timezone(14 * 60), timezone.get_fixed_timezone(-12 * 60)]
)
# Hypothesis takes naive bounds (from year 1 to 9999 unless given) and adds the zones.
ancient = st.datetimes(
    max_value=datetime(1999, 12, 30),  # noqa: DTZ001 (naive bound, zoned by Hypothesis)
    timezones=offsets,
)
far_future = st.datetimes(
    min_value=datetime(2100, 1, 1),  # noqa: DTZ001 (naive bound, zoned by Hypothesis)
    timezones=offsets,
)


@examples
@given(when=st.one_of(ancient, far_future))
def test_impact_times_out_of_range_are_refused_on_the_api(
    api_for, support, manager, incident, when
):
    text = when.isoformat()
    created = post_json(
        api_for(support), "/api/incidents/", incident_payload(impact_started_at=text)
    )
    edited = {
        field: post_json(
            api_for(manager), f"/api/incidents/{incident.key}/", {field: text}, "patch"
        )
        for field in ("impact_started_at", "detected_at", "impact_ended_at")
    }

    assert created.status_code == 400
    assert list(created.json()) == ["impact_started_at"]
    for field, response in edited.items():
        assert response.status_code == 400, (field, response.content)
        assert list(response.json()) == [field]
    # Nothing stored, so the pages that reckon around the impact still answer.
    assert api_for(manager).get(f"/api/incidents/{incident.key}/nearby-changes/").status_code == 200


def test_year_one_impact_start_is_refused_naming_the_field(api_for, support, service, product):
    response = post_json(
        api_for(support),
        "/api/incidents/",
        incident_payload(impact_started_at="0001-01-01T00:00:00Z"),
    )

    assert response.status_code == 400
    assert response.json() == {
        "impact_started_at": ["This time is too far in the past (before 2000)."]
    }


@examples
@given(when=ancient, zone=st.sampled_from(["UTC", "Asia/Tokyo", "America/Los_Angeles"]))
def test_impact_times_out_of_range_are_refused_in_the_portal(
    client_for, manager, service, incident, when, zone
):
    client = client_for(manager)
    client.cookies["tz"] = zone
    text = when.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M")

    created = client.post(
        "/incidents/new/",
        {
            "summary": "Checkout",
            "description": "x",
            "severity": 2,
            "faulty_service": service.pk,
            "impact_started_at": text,
        },
    )
    resolved = client.post(
        f"/incidents/{incident.key}/transition/", {"to": "resolved", "impact_ended_at": text}
    )

    assert created.status_code == 400
    assert created.context["form"].errors["impact_started_at"]
    assert resolved.status_code == 400
    assert resolved.context["transition_form"].errors["impact_ended_at"]
    incident.refresh_from_db()
    assert incident.impact_ended_at is None
    assert client.get(f"/incidents/{incident.key}/").status_code == 200


def test_a_recent_impact_start_is_still_accepted(api_for, support, service, product):
    started = (timezone.now() - timedelta(hours=1)).isoformat()

    response = post_json(
        api_for(support), "/api/incidents/", incident_payload(impact_started_at=started)
    )

    assert response.status_code == 201


# 18. Deleting a product incidents use --------------------------------------------------


def test_deleting_a_product_incidents_use_is_refused_like_a_service(
    api_for, admin_user, incident, product, service
):
    client = api_for(admin_user)

    product_answer = client.delete(f"/api/products/{product.slug}/")
    service_answer = client.delete(f"/api/services/{service.slug}/")

    assert product_answer.status_code == 409
    assert product_answer.json() == service_answer.json()
    assert service_answer.status_code == 409
    assert list(incident.affected_products.all()) == [product]


def test_deleting_an_unused_product_still_works(api_for, admin_user, product):
    response = api_for(admin_user).delete(f"/api/products/{product.slug}/")

    assert response.status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


@examples
@given(when=st.one_of(ancient, far_future))
def test_every_time_the_workspace_takes_is_checked_like_the_impact_times(
    api_for, manager, incident, when
):
    claimed = api_for(manager).post(f"/api/incidents/{incident.key}/claim/")
    assert claimed.status_code in (200, 201)
    text = when.isoformat()
    base = f"/api/incidents/{incident.key}"
    answers = {
        "occurred_at": post_json(
            api_for(manager),
            f"{base}/timeline/",
            {"kind": "observation", "text": "Errors", "occurred_at": text},
        ),
        "started_at": post_json(
            api_for(manager), f"{base}/assessments/", {"affected": "all", "started_at": text}
        ),
    }

    for field, response in answers.items():
        assert response.status_code == 400, (field, response.content)
        assert field in response.json(), response.content
    assert api_for(manager).get(f"{base}/timeline/").json()[-1]["text"] != "Errors"
