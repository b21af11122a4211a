"""``/api/integrations/``: what the admin page does, for admins (global or team). The
key appears in the response of creation and rotation only; it is stored hashed."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents.models import Product, Service, Severity

from . import access, actions, selectors
from .models import MAX_STORM_THRESHOLD, MAX_STORM_WINDOW, Integration


class SeverityMapField(serializers.DictField):
    child = serializers.ChoiceField(choices=[1, 2, 3])


class IntegrationOut(serializers.ModelSerializer):
    service: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    affected_products: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, many=True
    )
    urls = serializers.SerializerMethodField()
    key = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "service",
            "default_severity",
            "severity_map",
            "affected_products",
            "paused",
            "storm_threshold",
            "storm_window",
            "key_hint",
            "key",
            "urls",
            "created_at",
            "key_rotated_at",
        ]

    def get_key(self, integration: Integration) -> str | None:
        return self.context.get("key")

    def get_urls(self, integration: Integration) -> dict[str, str]:
        return selectors.receiving_urls(
            self.context["request"], integration, self.context.get("key")
        )


class IntegrationIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    default_severity = serializers.ChoiceField(choices=Severity.choices, default=3)
    affected_products = serializers.SlugRelatedField(
        slug_field="slug", queryset=Product.objects.all(), many=True, required=False, default=list
    )
    severity_map = SeverityMapField(required=False)


class IntegrationChangeIn(serializers.Serializer):
    """Any of: pause or resume; when new alert groups fold into an alert storm incident
    (more than ``storm_threshold`` in ``storm_window`` minutes; threshold 0: never)."""

    paused = serializers.BooleanField(required=False)
    storm_threshold = serializers.IntegerField(
        min_value=0, max_value=MAX_STORM_THRESHOLD, required=False
    )
    storm_window = serializers.IntegerField(min_value=1, max_value=MAX_STORM_WINDOW, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Send paused, storm_threshold or storm_window."))
        return attrs


def _out(request: ApiRequest, integration: Integration, key: str | None = None) -> dict[str, Any]:
    return IntegrationOut(integration, context={"request": request, "key": key}).data


class IntegrationListApi(APIView):
    @extend_schema(responses=IntegrationOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        integrations = selectors.integrations_for(request.user)
        context = {"request": request}
        return Response(IntegrationOut(integrations, many=True, context=context).data)

    @extend_schema(request=IntegrationIn, responses={201: IntegrationOut})
    def post(self, request: ApiRequest) -> Response:
        data = IntegrationIn(data=request.data)
        data.is_valid(raise_exception=True)
        service = data.validated_data["service"]
        access.require(
            access.can_admin_service(request.user, service),
            _("Only admins of the service's team add its integrations."),
        )
        integration, key = actions.create_integration(by=request.user, **data.validated_data)
        return Response(_out(request, integration, key), status=status.HTTP_201_CREATED)


class IntegrationDetailApi(APIView):
    @extend_schema(responses=IntegrationOut)
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(_out(request, access.access_integration(request.user, pk)))

    @extend_schema(request=IntegrationChangeIn, responses=IntegrationOut)
    def patch(self, request: ApiRequest, pk: int) -> Response:
        integration = access.access_integration(request.user, pk)
        data = IntegrationChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        change = data.validated_data
        if "paused" in change:
            actions.set_paused(integration, paused=change["paused"], by=request.user)
        if "storm_threshold" in change or "storm_window" in change:
            actions.set_storm_threshold(
                integration,
                threshold=change.get("storm_threshold", integration.storm_threshold),
                window=change.get("storm_window", integration.storm_window),
            )
        return Response(_out(request, integration))


class IntegrationRotateApi(APIView):
    @extend_schema(request=None, responses=IntegrationOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        integration = access.access_integration(request.user, pk)
        key = actions.rotate_key(integration, by=request.user)
        return Response(_out(request, integration, key))
