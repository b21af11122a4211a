"""The OpenAPI document names its server (``SITE_URL``) and describes ``/healthz``, and is
still valid OpenAPI for openapi-spec-validator."""

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from config.api_schema import document_healthz_and_servers


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_document_is_valid_and_names_the_site_as_its_server(settings):
    settings.SITE_URL = "https://hotline.example.com"
    document = schema()

    validate(document)
    assert document["servers"] == [
        {"url": "https://hotline.example.com", "description": "This Hotline portal."}
    ]


def test_the_validator_refuses_a_broken_document():
    """The check above can fail: a server without its url is not OpenAPI."""
    document = schema()
    document["servers"] = [{"description": "no url"}]
    with pytest.raises(OpenAPIValidationError):
        validate(document)


def test_healthz_is_documented_without_sign_in():
    operation = schema()["paths"]["/healthz"]["get"]

    assert operation["security"] == [{}]
    assert set(operation["responses"]) == {"200", "400", "503"}
    assert "Retry-After" in operation["responses"]["503"]["headers"]


def body_validator(document: dict, code: str) -> OAS30Validator:
    response = document["paths"]["/healthz"]["get"]["responses"][code]
    body = response["content"]["application/json"]["schema"]
    # Refs resolve against the root: give the body schema the document's components.
    return OAS30Validator({**body, "components": document["components"]})


@pytest.mark.django_db
def test_healthz_answers_as_documented():
    document = schema()
    response = Client().get("/healthz")

    validator = body_validator(document, str(response.status_code))
    assert list(validator.iter_errors(response.json())) == []
    assert not validator.is_valid({"status": "ok", "failing": [], "checks": {}})


def test_the_hook_keeps_other_paths():
    document = document_healthz_and_servers(
        {"paths": {"/api/x/": {}}, "components": {"schemas": {}}}, None, None, True
    )
    assert set(document["paths"]) == {"/api/x/", "/healthz"}
