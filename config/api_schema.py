"""The API's description of its errors, added to every operation in one place.

Every error the API answers has one of two bodies (config/api_errors.py, DRF's exception
handler, config/input_guard.py):

- ``Error``: ``{"detail": "..."}``: 401, 403, 404, 405, 409, 415, 429 and a 400 that
  blames no field (a body that is not JSON, a NUL outside a form field, too deep JSON);
- ``ValidationError``: ``{"<field>": ["..."]}`` (``non_field_errors`` for the whole
  body; a nested serializer's errors nest the same way): a 400 blaming fields, and a
  409 of an action refused over a field.

The AutoSchema adds, unless the view documents the code itself: 400 to every operation
(a body, a query parameter, or a NUL anywhere in the request may be refused), 401 and
403 to authenticated operations, 404 to operations on a path with parameters or a
paginated list (an unknown page), 409 to state-changing operations, 415 to those taking
a body and 429 to throttled ones. A code a view documents without a body gets the
shared body.
"""

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.fields import empty
from rest_framework.permissions import AllowAny

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error that blames no field in particular.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_MESSAGES = {
    "type": "array",
    "items": {
        # A nested list's errors are one object per item (empty for a valid item).
        "anyOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]
    },
}
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": 'The fields at fault, each with its messages: {"<field>": ["..."]}; '
    '"non_field_errors" for the input as a whole; a nested object\'s errors nest.',
    "additionalProperties": {
        "anyOf": [_MESSAGES, {"type": "object", "additionalProperties": True}]
    },
}
DESCRIPTIONS = {
    "400": "The input is refused: the fields at fault, or a detail.",
    "401": "Not signed in: no valid token or session.",
    "403": "Signed in but not allowed to do this.",
    "404": "Not found, or not visible to you.",
    "409": "Refused in the current state (someone was first, or it is still in use).",
    "415": "The body's media type is not one this operation reads.",
    "429": "Too many requests: try again later.",
}
# HH:MM[:SS[.ffffff]], as DRF reads and writes a TimeField.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            documented = responses.get(code)
            if documented is None:
                responses[code] = {
                    "content": self._error_content(code),
                    "description": DESCRIPTIONS[code],
                }
            elif not documented.get("content"):
                documented["content"] = self._error_content(code)
        return responses

    def _error_codes(self) -> list[str]:
        # Any request may be refused (a NUL in the path, the query or a header is, by
        # config/input_guard.py), besides the refusals of a body or of query parameters.
        codes = ["400"]
        if self._is_authenticated():
            codes += ["401", "403"]
        if "{" in self.path or (self._get_paginator() is not None and self._is_list_view()):
            codes.append("404")
        if self.method in WRITE_METHODS:
            codes.append("409")
        if self.method in WRITE_METHODS - {"DELETE"}:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        """What a field answers, where spectacular documents less: null from a field
        that may answer it (``_answers_null``), and ``""`` from a read-only field of a
        model field that may be blank (DRF drops ``allow_blank`` from read-only fields,
        so only the format, a uri or an e-mail, was documented there; the empty string
        is added as spectacular does for input)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "response" and not schema.get("nullable") and _answers_null(field):
            if "$ref" in schema:
                schema = {"allOf": [{"$ref": schema.pop("$ref")}], **schema}
            schema["nullable"] = True
        if (
            field.read_only
            and schema.get("type") == "string"
            and "format" in schema
            and _model_field_is_blank(field)
        ):
            outer = {"readOnly", "writeOnly", "nullable", "deprecated", "description", "title"}
            inner = {key: schema.pop(key) for key in list(schema) if key not in outer}
            schema["oneOf"] = [inner, {"type": "string", "maxLength": 0}]
        return schema

    def _is_authenticated(self) -> bool:
        permissions = self.view.get_permissions()
        return not (permissions and all(isinstance(p, AllowAny) for p in permissions))

    def _error_content(self, code: str) -> dict[str, Any]:
        error = self._component("Error", ERROR_SCHEMA)
        if code in ("400", "409"):
            validation = self._component("ValidationError", VALIDATION_ERROR_SCHEMA)
            schema: dict[str, Any] = {"anyOf": [error, validation]}
        else:
            schema = error
        return {"application/json": {"schema": schema}}

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return component.ref


def _answers_null(field: Any) -> bool:
    """Whether a field may answer null though it does not allow null as input: its
    default is None (DRF answers it when the source path breaks), or a model field on
    its source path is nullable (a dotted source through an optional foreign key)."""
    if getattr(field, "default", empty) is None:
        return True
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    source = getattr(field, "source", "")
    if model is None or not source or source == "*":
        return False
    for name in source.split("."):
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a property or method, not a model field
            return False
        if not model_field.concrete or model_field.many_to_many:
            return False  # a reverse relation or a list: never null
        if model_field.null:
            return True
        model = model_field.related_model
        if model is None:
            return False
    return False


def _model_field_is_blank(field: Any) -> bool:
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    source = getattr(field, "source", "")
    if model is None or not source or "." in source or source == "*":
        return False
    try:
        return bool(model._meta.get_field(source).blank)
    except FieldDoesNotExist:  # a property or method, not a model field
        return False


class TimeFieldExtension(OpenApiSerializerFieldExtension):
    """A wall-clock time (``"09:00:00"``), no offset: its time zone is another field's.
    JSON Schema's ``format: time`` requires an offset, so it is documented by pattern."""

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if schema.get("format") == "time":
            del schema["format"]
            schema["pattern"] = TIME_PATTERN
            schema.setdefault("example", "09:00:00")
        return schema


# /healthz is a plain Django view (it answers before DRF's authentication and outage
# handling could), so spectacular does not see it: its operation is written here.
_CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "ms": {"type": "number", "description": "How long the check took."},
        "error": {"type": "string", "description": "Why the check failed."},
    },
    "required": ["ok"],
}
HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "failing": {
            "type": "array",
            "items": {"type": "string", "enum": ["database", "cache", "broker"]},
        },
        "checks": {
            "type": "object",
            "properties": {
                name: {"$ref": "#/components/schemas/HealthCheck"}
                for name in ("database", "cache", "broker")
            },
            "required": ["database", "cache", "broker"],
        },
        "worker_heartbeat": {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "When a Celery worker last ran beat's heartbeat task.",
        },
    },
    "required": ["status", "failing", "checks", "worker_heartbeat"],
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def document_healthz_and_servers(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: the portal's address as the server (``SITE_URL``, read when
    the schema is generated) and the ``/healthz`` operation."""
    from django.conf import settings

    result["servers"] = [{"url": settings.SITE_URL, "description": "This Hotline portal."}]
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["HealthCheck"] = _CHECK_SCHEMA
    schemas["Health"] = HEALTH_SCHEMA
    health = {"$ref": "#/components/schemas/Health"}
    result.setdefault("paths", {})["/healthz"] = {
        "get": {
            "operationId": "healthz",
            "summary": "Whether the database, the cache and the broker answer",
            "description": "For load balancers and monitors; no sign-in. Each dependency "
            "is checked on its own: a 503 names every failing one.",
            "tags": ["health"],
            "security": [{}],
            "responses": {
                "200": {"description": "Everything answers.", "content": _json(health)},
                "503": {
                    "description": "A dependency is failing (named in ``failing``).",
                    "headers": {
                        "Retry-After": {
                            "schema": {"type": "integer"},
                            "description": "Seconds to wait before asking again.",
                        }
                    },
                    "content": _json(health),
                },
                "400": {
                    "description": "A NUL byte in the query or a header is refused.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
            },
        }
    }
    return result
