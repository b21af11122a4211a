"""``/api/integrations/<id>/heartbeat/``: read, set or turn off an integration's
heartbeat, for the integration's admins (as the portal)."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest

from . import access, heartbeats, selectors
from .heartbeat_models import Heartbeat, HeartbeatState


class HeartbeatOut(serializers.Serializer):
    interval_minutes = serializers.IntegerField()
    grace_minutes = serializers.IntegerField()
    state = serializers.ChoiceField(choices=HeartbeatState.choices)
    last_ping_at = serializers.DateTimeField(allow_null=True)
    next_expected_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, heartbeat: Heartbeat) -> str:
        """The URL to ping; the key part is a placeholder (the key is stored hashed)."""
        urls = selectors.receiving_urls(self.context["request"], heartbeat.integration, None)
        return urls["heartbeat"]


class HeartbeatIn(serializers.Serializer):
    interval_minutes = serializers.IntegerField(min_value=1, max_value=31 * 24 * 60)
    grace_minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, default=5)


class IntegrationHeartbeatApi(APIView):
    @extend_schema(responses={200: HeartbeatOut})
    def get(self, request: ApiRequest, pk: int) -> Response:
        integration = access.access_integration(request.user, pk)
        heartbeat = Heartbeat.objects.filter(integration=integration).first()
        if heartbeat is None:
            return Response(
                {"detail": _("This integration has no heartbeat.")},
                status=status.HTTP_404_NOT_FOUND,
            )
        heartbeat.integration = integration
        return Response(HeartbeatOut(heartbeat, context={"request": request}).data)

    @extend_schema(request=HeartbeatIn, responses={200: HeartbeatOut})
    def put(self, request: ApiRequest, pk: int) -> Response:
        integration = access.access_integration(request.user, pk)
        data = HeartbeatIn(data=request.data)
        data.is_valid(raise_exception=True)
        heartbeat = heartbeats.set_heartbeat(
            integration,
            by=request.user,
            interval=timedelta(minutes=data.validated_data["interval_minutes"]),
            grace=timedelta(minutes=data.validated_data["grace_minutes"]),
        )
        heartbeat.integration = integration
        return Response(HeartbeatOut(heartbeat, context={"request": request}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: ApiRequest, pk: int) -> Response:
        integration = access.access_integration(request.user, pk)
        heartbeats.remove_heartbeat(integration, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
