"""Where monitoring tools send (no login: the integration key authenticates): the
Alertmanager and generic webhooks under ``/integrations/``, and PagerDuty's Events API
v2 at its own paths (``/v2/enqueue``, ``/v2/change/enqueue``), so a tool that pages
PagerDuty only changes the host.

Plain ``APIView``s so the OpenAPI document describes them; they read the raw body
themselves (``parser_classes`` empty): each format checks its own JSON and answers in
the shape its tools expect, PagerDuty's ``status``/``message``/``errors`` included.

A key is a secret shown once: what is stored of a delivery has it redacted
(``formats.redact``), Alertmanager may send it as ``Authorization: Bearer`` instead of in
the URL, and the logs redact keys in paths (``logs.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config.input_guard import InputRefused, load_json

from . import actions
from .formats import Malformed, alertmanager, generic, pagerduty, redact
from .models import AlertOutcome, hash_key

# How PagerDuty names a refused event (its documented 400 body).
PD_INVALID = "invalid event"
PD_INVALID_MESSAGE = "Event object is invalid"
# PagerDuty's wording for a routing key that names no integration.
PD_UNKNOWN_KEY = "Invalid routing key"


def _body(request: HttpRequest) -> bytes:
    """The raw body; empty when a form parser has consumed it (multipart is read as a
    stream, by the input guard, before any view), which is no JSON either."""
    try:
        return request.body
    except RawPostDataException:
        return b""


def _decode(request: HttpRequest) -> tuple[Any, str | None]:
    """The JSON body, or why it is not one."""
    if len(_body(request)) > settings.ALERTS_MAX_BODY_BYTES:
        return None, _("The body is larger than %(limit)s bytes.") % {
            "limit": settings.ALERTS_MAX_BODY_BYTES
        }
    try:
        return load_json(_body(request)), None
    except InputRefused as refused:
        # A NUL (PostgreSQL stores none) or nesting too deep (Python's decoder recurses).
        return None, str(refused)
    except (ValueError, UnicodeDecodeError) as error:
        return None, _("The body is not valid JSON: %(error)s.") % {"error": error}


def bearer_key(request: HttpRequest) -> str:
    """The key of ``Authorization: Bearer <key>`` (Alertmanager's http_config
    ``authorization``), or blank."""
    scheme, _space, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


# Documented bodies ---------------------------------------------------------------------


class ReceiverAccepted(serializers.Serializer):
    status = serializers.CharField(help_text='"accepted", or "ignored" while paused.')
    dedup_key = serializers.CharField(help_text="What a later resolve names.")
    message = serializers.CharField(required=False, help_text="Why it was ignored.")


class PagerDutyAccepted(serializers.Serializer):
    status = serializers.CharField(help_text='"success"')
    message = serializers.CharField()
    dedup_key = serializers.CharField()


class PagerDutyChangeAccepted(serializers.Serializer):
    status = serializers.CharField(help_text='"success"')
    message = serializers.CharField()


class PagerDutyLink(serializers.Serializer):
    href = serializers.URLField()
    text = serializers.CharField(required=False)


class PagerDutyImage(serializers.Serializer):
    src = serializers.URLField()
    href = serializers.URLField(required=False)
    alt = serializers.CharField(required=False)


class PagerDutyPayload(serializers.Serializer):
    summary = serializers.CharField(max_length=pagerduty.MAX_PD_SUMMARY)
    # DRF takes declared fields off the class; mypy sees Field.source.
    source = serializers.CharField()  # type: ignore[assignment]
    severity = serializers.ChoiceField(choices=pagerduty.SEVERITIES)
    timestamp = serializers.DateTimeField(
        required=False, help_text="When the problem started: the incident's impact start."
    )
    component = serializers.CharField(required=False)
    group = serializers.CharField(required=False)
    # "class" is a Python keyword: the field is named through the serializer's fields.
    custom_details = serializers.DictField(required=False)


PagerDutyPayload._declared_fields["class"] = serializers.CharField(required=False)


class PagerDutyEventIn(serializers.Serializer):
    routing_key = serializers.CharField(help_text="The integration key.")
    event_action = serializers.ChoiceField(choices=["trigger", "acknowledge", "resolve"])
    dedup_key = serializers.CharField(required=False, max_length=255)
    payload = PagerDutyPayload(required=False, help_text="Required to trigger.")
    client = serializers.CharField(required=False)
    client_url = serializers.URLField(required=False)
    links = PagerDutyLink(many=True, required=False)
    images = PagerDutyImage(many=True, required=False)


class PagerDutyChangePayload(serializers.Serializer):
    summary = serializers.CharField(max_length=pagerduty.MAX_PD_SUMMARY)
    source = serializers.CharField(required=False)  # type: ignore[assignment]
    timestamp = serializers.DateTimeField(required=False, help_text="When it changed.")
    custom_details = serializers.DictField(required=False)


class PagerDutyChangeIn(serializers.Serializer):
    routing_key = serializers.CharField(help_text="The integration key.")
    payload = PagerDutyChangePayload()
    links = PagerDutyLink(many=True, required=False)
    images = PagerDutyImage(many=True, required=False)


# A NUL in the path, the query or a header is refused before the view, in the API's
# shape (config/input_guard.py).
_GUARD_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_MESSAGES = {"type": "array", "items": {"type": "string"}}
RECEIVER_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "errors": _MESSAGES},
    "required": ["error"],
}
PD_ERROR = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": [PD_INVALID]},
        "message": {"type": "string"},
        "errors": _MESSAGES,
    },
    "required": ["status", "message", "errors"],
}


def _bad_request(schema: dict[str, Any]) -> OpenApiResponse:
    return OpenApiResponse(
        response={"anyOf": [schema, _GUARD_ERROR]},
        description="The delivery is refused, with every reason found.",
    )


class _Intake(APIView):
    """An endpoint monitoring tools post to. The key authenticates, not a user; the
    body is read raw, by the format's parser; the answer is the format's own JSON.

    A POST goes straight to ``post``: DRF's request wrapper, content negotiation and
    (empty) authentication, permission and throttle checks were about an eighth of a
    duplicate's time on the server (profiled), for nothing these views use. Other
    methods keep DRF's answers (405, OPTIONS); the class keeps the OpenAPI document."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []
    parser_classes: list[type] = []

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            self.request, self.args, self.kwargs = request, args, kwargs  # type: ignore[assignment]  # a Django request: DRF's wrapper is what is skipped
            return self.post(request, *args, **kwargs)  # type: ignore[attr-defined]  # each subclass defines post
        return super().dispatch(request, *args, **kwargs)


# Alertmanager and generic JSON ---------------------------------------------------------


class _Receiver(_Intake):
    parser_module: Any

    def post(self, request: HttpRequest, key: str = "") -> JsonResponse:
        """Store the delivery and answer 202; the worker applies it moments later."""
        from_header = not key
        key = key or bearer_key(request)
        if not key:
            return _unauthorized(_("Send the key in the URL or as Authorization: Bearer."))
        key_hash = hash_key(key)
        raw = redact(_body(request), key)
        body, problem = _decode(request)
        try:
            if problem is not None:
                raise Malformed([problem])
            events = self.parser_module.parse(body)
        except Malformed as malformed:
            if actions.reject(key_hash, self.parser_module.NAME, raw, malformed.errors) is None:
                return _unknown_key(from_header)
            return JsonResponse(
                {"error": _("Malformed payload."), "errors": malformed.errors}, status=400
            )
        stored = actions.receive(key_hash, self.parser_module.NAME, raw, events)
        if stored is None:
            return _unknown_key(from_header)
        answer = {"status": "accepted", "dedup_key": events[0].dedup_key}
        if stored == AlertOutcome.IGNORED:
            answer.update(status="ignored", message=_("The integration is paused."))
        return JsonResponse(answer, status=202)


def _unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="hotline"'
    return response


def _unknown_key(from_header: bool) -> JsonResponse:
    if from_header:
        return _unauthorized(_("No integration has this key."))
    # The same answer for a wrong key in the URL as for a page that does not exist.
    return JsonResponse({"error": _("Not found.")}, status=404)


def _receiver_schema(name: str, *, in_path: bool, example: dict[str, Any]) -> Any:
    responses: dict[int, Any] = {
        202: OpenApiResponse(ReceiverAccepted, description="Stored; applied moments later."),
        400: _bad_request(RECEIVER_ERROR),
    }
    parameters = []
    if in_path:
        responses[404] = OpenApiResponse(RECEIVER_ERROR, description="No integration has the key.")
    else:
        parameters.append(
            OpenApiParameter(
                "Authorization",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="Bearer <integration key> (Alertmanager's http_config authorization).",
            )
        )
        responses[401] = OpenApiResponse(
            RECEIVER_ERROR, description="No key, or no integration has the key."
        )
    return extend_schema(
        operation_id=f"integrations_{name}{'' if in_path else '_bearer'}_receive",
        tags=["integrations"],
        summary=f"Receive a {name} delivery" + ("" if in_path else " (the key as a Bearer token)"),
        request={"application/json": OpenApiTypes.OBJECT},
        responses=responses,
        parameters=parameters,
        examples=[OpenApiExample(name, value=example, request_only=True)],
    )


_ALERTMANAGER_EXAMPLE = {
    "version": "4",
    "groupKey": '{}:{alertname="HighErrorRate"}',
    "status": "firing",
    "receiver": "hotline",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "severity": "critical"},
    "commonAnnotations": {"summary": "High request error rate on checkout"},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "severity": "critical"},
            "annotations": {"summary": "High request error rate on checkout"},
            "startsAt": "2026-03-02T09:55:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up",
        }
    ],
}
_GENERIC_EXAMPLE = {"title": "Checkout error rate above 5%", "severity": "critical"}


@extend_schema_view(
    post=_receiver_schema("alertmanager", in_path=True, example=_ALERTMANAGER_EXAMPLE)
)
class AlertmanagerReceiverApi(_Receiver):
    parser_module = alertmanager


@extend_schema_view(
    post=_receiver_schema("alertmanager", in_path=False, example=_ALERTMANAGER_EXAMPLE)
)
class AlertmanagerBearerReceiverApi(AlertmanagerReceiverApi):
    pass


@extend_schema_view(post=_receiver_schema("generic", in_path=True, example=_GENERIC_EXAMPLE))
class GenericReceiverApi(_Receiver):
    parser_module = generic


@extend_schema_view(post=_receiver_schema("generic", in_path=False, example=_GENERIC_EXAMPLE))
class GenericBearerReceiverApi(GenericReceiverApi):
    pass


# PagerDuty Events API v2 ---------------------------------------------------------------


def _pd_invalid(errors: list[str]) -> JsonResponse:
    return JsonResponse(
        {"status": PD_INVALID, "message": PD_INVALID_MESSAGE, "errors": errors}, status=400
    )


def _pagerduty_intake(
    request: HttpRequest,
    parse: Callable[[Any], Any],
    apply: Callable[[str, str, Any], JsonResponse | None],
) -> JsonResponse:
    """What both PagerDuty endpoints do before their own step: decode, find the routing
    key, keep the body with the key redacted, parse (a malformed event is logged against
    its integration). ``apply`` answers ``None`` for a key no integration has, which is
    refused as PagerDuty refuses it."""
    body, problem = _decode(request)
    if problem is not None:
        return _pd_invalid([problem])
    key = pagerduty.routing_key(body)
    if not key:
        return _pd_invalid(["'routing_key' is missing or blank"])
    raw = redact(_body(request), key)
    try:
        parsed = parse(body)
    except Malformed as malformed:
        if actions.reject(hash_key(key), pagerduty.NAME, raw, malformed.errors) is None:
            return _pd_invalid([PD_UNKNOWN_KEY])
        return _pd_invalid(malformed.errors)
    answer = apply(hash_key(key), raw, parsed)
    return answer if answer is not None else _pd_invalid([PD_UNKNOWN_KEY])


class PagerDutyEnqueueApi(_Intake):
    @extend_schema(
        operation_id="pagerduty_enqueue",
        tags=["integrations"],
        summary="Send a PagerDuty Events API v2 event (trigger, acknowledge, resolve)",
        description="Answered as PagerDuty answers: 202 with the dedup key, or 400 "
        '"invalid event" with every error (an unknown routing key too). A trigger after '
        "its group was resolved opens a new alert group and incident.",
        request=PagerDutyEventIn,
        responses={
            202: OpenApiResponse(PagerDutyAccepted, description="Queued."),
            400: _bad_request(PD_ERROR),
        },
    )
    def post(self, request: HttpRequest) -> JsonResponse:
        def queue(hashed_key: str, raw: str, events: list[Any]) -> JsonResponse | None:
            if actions.receive(hashed_key, pagerduty.NAME, raw, events) is None:
                return None
            # PagerDuty too answers before it processes: "processed" is its word for queued.
            return JsonResponse(
                {
                    "status": "success",
                    "message": "Event processed",
                    "dedup_key": events[0].dedup_key,
                },
                status=202,
            )

        return _pagerduty_intake(request, pagerduty.parse, queue)


class PagerDutyChangeApi(_Intake):
    @extend_schema(
        operation_id="pagerduty_change_enqueue",
        tags=["integrations"],
        summary="Send a PagerDuty change event",
        description="Recorded as a change of the integration's service, shown near the impact "
        "start of its incidents like the changes CI/CD reports.",
        request=PagerDutyChangeIn,
        responses={
            202: OpenApiResponse(PagerDutyChangeAccepted, description="Recorded."),
            400: _bad_request(PD_ERROR),
        },
    )
    def post(self, request: HttpRequest) -> JsonResponse:
        def record(hashed_key: str, raw: str, change: Any) -> JsonResponse | None:
            if actions.record_change(hashed_key, raw, change) is None:
                return None
            return JsonResponse(
                {"status": "success", "message": "Change event processed"}, status=202
            )

        return _pagerduty_intake(request, pagerduty.parse_change, record)


# PagerDuty's clients post to the path without a slash; some proxies and hand-written
# clients add one. One operation in the schema, two paths served.
@extend_schema_view(post=extend_schema(exclude=True))
class PagerDutyEnqueueSlashApi(PagerDutyEnqueueApi):
    pass


@extend_schema_view(post=extend_schema(exclude=True))
class PagerDutyChangeSlashApi(PagerDutyChangeApi):
    pass
