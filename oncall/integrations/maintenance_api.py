"""``/api/integrations/maintenance/``: maintenance windows, planned and ended by the
admins of the service they cover (team admins, global admins), as in the portal."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents.models import Service

from . import access, maintenance
from .maintenance_models import MaintenanceWindow, WindowStatus
from .models import Integration

LIST_LIMIT = 200


class MaintenanceWindowOut(serializers.ModelSerializer):
    service: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    integration: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    status = serializers.ChoiceField(choices=WindowStatus.choices, read_only=True)
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    ended_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "service",
            "integration",
            "starts_at",
            "ends_at",
            "reason",
            "status",
            "cancelled",
            "created_by",
            "created_at",
            "ended_by",
            "ended_at",
        ]


class MaintenanceWindowIn(serializers.Serializer):
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    integration = serializers.PrimaryKeyRelatedField(
        queryset=Integration.objects.select_related("service__team"),
        required=False,
        allow_null=True,
    )
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=300)


class MaintenanceListApi(APIView):
    @extend_schema(responses=MaintenanceWindowOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        windows = maintenance.windows_for(request.user)[:LIST_LIMIT]
        return Response(MaintenanceWindowOut(windows, many=True).data)

    @extend_schema(request=MaintenanceWindowIn, responses={201: MaintenanceWindowOut})
    def post(self, request: ApiRequest) -> Response:
        data = MaintenanceWindowIn(data=request.data)
        data.is_valid(raise_exception=True)
        service = data.validated_data.get("service")
        integration = data.validated_data.get("integration")
        target = integration.service if integration is not None else service
        if target is not None:
            access.require(
                access.can_admin_service(request.user, target),
                _("Only admins of the service's team plan its maintenance."),
            )
        window = maintenance.plan_maintenance(by=request.user, **data.validated_data)
        return Response(MaintenanceWindowOut(window).data, status=status.HTTP_201_CREATED)


class MaintenanceDetailApi(APIView):
    @extend_schema(responses=MaintenanceWindowOut)
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(MaintenanceWindowOut(access.access_window(request.user, pk)).data)


class MaintenanceEndApi(APIView):
    @extend_schema(request=None, responses=MaintenanceWindowOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        window = access.access_window(request.user, pk)
        return Response(
            MaintenanceWindowOut(maintenance.end_maintenance(window, by=request.user)).data
        )
