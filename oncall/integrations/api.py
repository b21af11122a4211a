"""``/api/integrations/``: what the admin page does, for admins (global or team). The
key appears in the response of creation and rotation only; it is stored hashed."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents.models import Product, Service, Severity

from . import access, actions, selectors
from .models import Integration


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


class PausedIn(serializers.Serializer):
    paused = serializers.BooleanField()


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
            "Only admins of the service's team add its integrations.",
        )
        integration, key = actions.create_integration(by=request.user, **data.validated_data)
        return Response(_out(request, integration, key), status=status.HTTP_201_CREATED)


class IntegrationDetailApi(APIView):
    @extend_schema(responses=IntegrationOut)
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(_out(request, access.access_integration(request.user, pk)))

    @extend_schema(request=PausedIn, responses=IntegrationOut)
    def patch(self, request: ApiRequest, pk: int) -> Response:
        integration = access.access_integration(request.user, pk)
        data = PausedIn(data=request.data)
        data.is_valid(raise_exception=True)
        actions.set_paused(integration, paused=data.validated_data["paused"], by=request.user)
        return Response(_out(request, integration))


class IntegrationRotateApi(APIView):
    @extend_schema(request=None, responses=IntegrationOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        integration = access.access_integration(request.user, pk)
        key = actions.rotate_key(integration, by=request.user)
        return Response(_out(request, integration, key))
