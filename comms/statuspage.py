"""How the Statuspage-compatible JSON (``/api/v2/*.json``) is served and described.

Status widgets and aggregators read these documents from other origins, often from a
browser: every answer allows any origin (the documents are public and never carry
credentials), answers a CORS preflight, HEAD, and an ``If-None-Match`` with 304, and may
be cached briefly. The serializers below only describe the documents in the OpenAPI
schema (the views build them in ``comms.public``), in the shape of Atlassian
Statuspage's public API, so tools written for Statuspage read Hotline unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import (  # type: ignore[attr-defined]  # stubs lack content_negotiation_class
    api_view,
    authentication_classes,
    content_negotiation_class,
    permission_classes,
    renderer_classes,
)
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer

from .models import ComponentStatus, PageStatus

# Long enough to spare the server a widget on every visitor's page, short enough that an
# outage shows within a minute; a revalidation with the ETag costs no body.
MAX_AGE_SECONDS = 30
PREFLIGHT_MAX_AGE_SECONDS = 24 * 3600
ALLOWED_METHODS = "GET, HEAD, OPTIONS"

View = Callable[..., HttpResponseBase]


class AlwaysJson(BaseContentNegotiation):
    """JSON whatever the client's Accept says: a widget's or a script's ``Accept: text/html``
    must not turn the document into a 406."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _cors(response: HttpResponseBase) -> HttpResponseBase:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "ETag"
    return response


def _preflight(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=200)
    response["Allow"] = ALLOWED_METHODS
    response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    requested = request.headers.get("Access-Control-Request-Headers", "")
    if requested:
        # Any header is harmless on a public, credential-free GET: allow what was asked.
        response["Access-Control-Allow-Headers"] = requested
    response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    _cors(response)
    return response


def statuspage_json(
    document: type[serializers.Serializer], *, summary: str
) -> Callable[[View], View]:
    """Serve a view returning a Statuspage document publicly: no login, any origin,
    preflight, HEAD, ETag/304 and Cache-Control; documented in the OpenAPI schema."""

    def decorate(view: View) -> View:
        documented = extend_schema(
            summary=summary, responses={200: document}, tags=["status page (Statuspage JSON)"]
        )(
            api_view(["GET", "HEAD"])(
                authentication_classes([])(
                    permission_classes([AllowAny])(
                        renderer_classes([JSONRenderer])(
                            content_negotiation_class(AlwaysJson)(view)
                        )
                    )
                )
            )
        )

        @functools.wraps(documented)
        def public(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "OPTIONS":
                return _preflight(request)
            # Machine values for every reader, whatever language the browser asks for: a
            # widget compares them, and one ETag serves all.
            with translation.override(settings.LANGUAGE_CODE):
                response = documented(request, *args, **kwargs)
            if response.status_code == 200:
                patch_cache_control(response, public=True, max_age=MAX_AGE_SECONDS)
                set_response_etag(response)
                conditional = get_conditional_response(
                    request, etag=response["ETag"], response=response
                )
                response = conditional or response
            return _cors(response)

        return login_not_required(public)

    return decorate


# The documents, for the schema ------------------------------------------------------

INDICATORS = ["none", "minor", "major", "critical", "maintenance"]
IMPACTS = ["none", "minor", "major", "critical"]


class StatuspagePageSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.URLField(help_text="The public status page, under the portal's SITE_URL.")
    time_zone = serializers.CharField()
    updated_at = serializers.DateTimeField()


class StatuspageStatusSerializer(serializers.Serializer):
    indicator = serializers.ChoiceField(choices=INDICATORS)
    description = serializers.CharField()


class StatuspageComponentSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The product's slug.")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=ComponentStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    position = serializers.IntegerField()
    description = serializers.CharField(allow_null=True)
    showcase = serializers.BooleanField()
    start_date = serializers.DateField(allow_null=True)
    group_id = serializers.CharField(allow_null=True)
    page_id = serializers.CharField()
    group = serializers.BooleanField()
    only_show_if_degraded = serializers.BooleanField()


class StatuspageAffectedComponentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    old_status = serializers.ChoiceField(
        choices=ComponentStatus.choices,
        allow_null=True,
        help_text="The component's status before the update; null for an update published "
        "before Hotline kept the history.",
    )
    new_status = serializers.ChoiceField(choices=ComponentStatus.choices, allow_null=True)


class StatuspageIncidentUpdateSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=PageStatus.choices)
    body = serializers.CharField(allow_blank=True)
    incident_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    display_at = serializers.DateTimeField()
    affected_components = StatuspageAffectedComponentSerializer(many=True)
    deliver_notifications = serializers.BooleanField()
    custom_tweet = serializers.CharField(allow_null=True)
    tweet_id = serializers.CharField(allow_null=True)


class StatuspageIncidentSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=PageStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    monitoring_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    impact = serializers.ChoiceField(choices=IMPACTS)
    shortlink = serializers.URLField()
    started_at = serializers.DateTimeField()
    page_id = serializers.CharField()
    incident_updates = StatuspageIncidentUpdateSerializer(many=True)
    components = StatuspageComponentSerializer(many=True)


class StatuspageStatusDocumentSerializer(serializers.Serializer):
    page = StatuspagePageSerializer()
    status = StatuspageStatusSerializer()


class StatuspageComponentsDocumentSerializer(serializers.Serializer):
    page = StatuspagePageSerializer()
    components = StatuspageComponentSerializer(many=True)


class StatuspageIncidentsDocumentSerializer(serializers.Serializer):
    page = StatuspagePageSerializer()
    incidents = StatuspageIncidentSerializer(many=True)


class StatuspageSummaryDocumentSerializer(serializers.Serializer):
    page = StatuspagePageSerializer()
    components = StatuspageComponentSerializer(many=True)
    incidents = StatuspageIncidentSerializer(many=True)
    scheduled_maintenances = serializers.ListField(child=serializers.DictField())
    status = StatuspageStatusSerializer()
