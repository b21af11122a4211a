"""The API keeps its description: the schema is valid OpenAPI and every answer conforms.

schemathesis generates requests for every operation from the schema itself and sends them
in-process to the Django application (no server), signed in as the demo admin with a
token, on the demo data; each answer must not be a 5xx, must have a documented status
and must match the documented body.
"""

import functools
import io
import itertools
import re

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections, transaction
from django.db.models import Count
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from incidents.models import Incident

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@functools.cache
def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_is_valid_openapi():
    validate(_schema())


def test_every_operation_documents_its_errors():
    """One error shape across the API, documented globally rather than view by view."""
    missing = []
    for path, operations in _schema()["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            expected = {"400"}
            if method in {"post", "put", "patch"}:
                expected |= {"409", "415"}
            if method == "delete":
                expected.add("409")
            if operation.get("security") != [{}]:
                expected |= {"401", "403"}
            if "{" in path:
                expected.add("404")
            if expected - codes:
                missing.append(f"{method.upper()} {path}: {sorted(expected - codes)}")
    assert missing == []


def test_error_bodies_are_one_shared_shape():
    schema = _schema()
    assert schema["components"]["schemas"]["Error"]["properties"] == {"detail": {"type": "string"}}
    claim = schema["paths"]["/api/incidents/{key}/claim/"]["post"]["responses"]
    assert claim["409"]["content"]["application/json"]["schema"] == {
        "anyOf": [
            {"$ref": "#/components/schemas/Error"},
            {"$ref": "#/components/schemas/ValidationError"},
        ]
    }
    detail = schema["paths"]["/api/teams/{slug}/"]["get"]["responses"]
    assert detail["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("IncidentOut", "assignee"),
        ("TimelineEntryOut", "author"),
        ("RoleAssignmentOut", "ended_by"),
        ("TheoryOut", "decided_by"),
        ("CommunicationOut", "reviewer"),
        ("RosterOut", "team"),
        ("PageOut", "user"),
    ],
)
def test_fields_answered_null_are_documented_nullable(component, field):
    assert _schema()["components"]["schemas"][component]["properties"][field]["nullable"]


def test_blank_urls_and_wall_clock_times_are_documented_as_answered():
    schemas = _schema()["components"]["schemas"]
    video_url = schemas["IncidentOut"]["properties"]["video_url"]
    assert {"type": "string", "maxLength": 0} in video_url["oneOf"]
    handoff_time = schemas["RosterOut"]["properties"]["handoff_time"]
    assert "format" not in handoff_time
    assert re.match(handoff_time["pattern"], "00:00:00")


def test_case_upsert_documents_one_case_or_a_list_not_a_page():
    responses = _schema()["paths"]["/api/cases/"]["post"]["responses"]
    for code in ("200", "201"):
        schema = responses[code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/CaseOrCasesOut"}


# Every operation is sent generated requests: POST /api/changes/ takes a CI/CD change
# token, not a user's, so it answers the admin 401 (checked against its documented
# shape); its successes are tested in tests/incidents/workspace.
api = schemathesis.openapi.from_dict(_schema())


class _Application(WSGIHandler):
    """The WSGI application as the test client runs it: the request signals do not close
    the test's connection (it is inside the test's transaction)."""

    def __call__(self, environ, start_response):
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            return super().__call__(environ, start_response)
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, loaded once for the module inside a transaction rolled back at its
    end; every test's own transaction is a savepoint inside it."""
    with django_db_blocker.unblock(), override_settings(DEMO_DATA=True):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            for command in ("load_demo", "load_demo_oncall", "load_demo_integrations"):
                call_command(command, stdout=io.StringIO())
            token = Token.objects.create(user=get_user_model().objects.get(username="admin"))
            yield token.key
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def application():
    return _Application()


# Where the real value of a path's parameter is listed: the list the path is under. The
# generated values of a path parameter almost always answer 404, so every other example
# takes real ones, and the answers of found objects are checked too.
COLLECTIONS = {
    "/api/comms/communications/{id}/": "/api/comms/incidents/{key}/communications/",
    "/api/comms/components/{slug}/": "/api/products/",  # a component is a product's
    "/api/comms/distribution-lists/{id}/": "/api/comms/distribution-lists/",
    "/api/incidents/{key}/nearby-changes/{id}/": "/api/incidents/{key}/nearby-changes/",
    "/api/integrations/{id}/": "/api/integrations/",
    "/api/oncall/pages/{id}/": "/api/oncall/incidents/{key}/pages/",
    "/api/oncall/rosters/{slug}/": "/api/oncall/rosters/",
    "/api/oncall/rosters/{slug}/overrides/{id}/": "/api/oncall/rosters/{slug}/overrides/",
    "/api/products/{slug}/": "/api/products/",
    "/api/services/{slug}/": "/api/services/",
    "/api/teams/{slug}/": "/api/teams/",
}
_examples = itertools.count()


def _busiest_incident() -> str:
    incidents = Incident.objects.annotate(
        entries=Count("timeline", distinct=True) + Count("roles", distinct=True)
    )
    return incidents.order_by("-entries", "pk").values_list("key", flat=True)[0]


def _real_parameters(path: str, token: str) -> dict[str, object]:
    """Real values for the path's parameters, from the lists the path is under."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    values: dict[str, object] = {"key": _busiest_incident()}
    for name in re.findall(r"{(\w+)}", path):
        if name in values:
            continue
        prefix = path[: path.index("{" + name + "}") + len(name) + 3]
        listed = COLLECTIONS.get(prefix, prefix.removesuffix("{" + name + "}/"))
        answer = client.get(listed.format(**values)).json()
        items = answer["results"] if isinstance(answer, dict) else answer
        if not items:
            return {}
        item = items[0].get("change", items[0])  # a nearby change wraps the change
        values[name] = item[name]
    return {name: values[name] for name in re.findall(r"{(\w+)}", path)}


@pytest.mark.django_db
@api.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_answers_conform_to_the_schema(case, demo, application):
    if case.path_parameters and next(_examples) % 2 == 0:
        case.path_parameters.update(_real_parameters(case.operation.path, demo))
    case.call_and_validate(
        app=application, headers={"Authorization": f"Token {demo}"}, checks=CHECKS
    )
