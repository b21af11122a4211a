"""The maintenance API: the same access rules and actions as the portal."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest

from .. import access
from ..models import Maintenance
from . import actions, selectors
from .serializers import MaintenanceIn, MaintenanceOut


def _get(request: ApiRequest, pk: int) -> Maintenance:
    access.require(
        access.can_view_maintenances(request.user), gettext("You may not see maintenances.")
    )
    try:
        return selectors.maintenance(pk)
    except ObjectDoesNotExist:
        raise Http404(gettext("No such maintenance.")) from None


def _planner(request: ApiRequest) -> None:
    access.require(
        access.can_plan_maintenance(request.user),
        gettext("Only people who publish to the status page plan maintenances."),
    )


def _out(maintenance: Maintenance, code: int = status.HTTP_200_OK) -> Response:
    return Response(MaintenanceOut(selectors.maintenance(maintenance.pk)).data, status=code)


class MaintenanceListCreateApi(generics.ListAPIView):
    """Scheduled maintenances of the public status page, the latest start first."""

    serializer_class = MaintenanceOut

    def get_queryset(self) -> QuerySet[Maintenance]:
        return selectors.all_maintenances()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(
            access.can_view_maintenances(request.user), gettext("You may not see maintenances.")
        )
        return super().list(request, *args, **kwargs)

    @extend_schema(request=MaintenanceIn, responses={201: MaintenanceOut})
    def post(self, request: ApiRequest) -> Response:
        _planner(request)
        data = MaintenanceIn(data=request.data)
        data.is_valid(raise_exception=True)
        maintenance = actions.plan_maintenance(by=request.user, **data.validated_data)
        return _out(maintenance, status.HTTP_201_CREATED)


class MaintenanceDetailApi(APIView):
    @extend_schema(responses=MaintenanceOut)
    def get(self, request: ApiRequest, pk: int) -> Response:
        return _out(_get(request, pk))

    @extend_schema(
        request=MaintenanceIn(partial=True),
        responses=MaintenanceOut,
        description="Change an upcoming maintenance; of a running one, all but the start.",
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        maintenance = _get(request, pk)
        _planner(request)
        data = MaintenanceIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return _out(actions.update_maintenance(maintenance, by=request.user, **data.validated_data))


class MaintenanceCancelApi(APIView):
    @extend_schema(
        request=None,
        responses=MaintenanceOut,
        description="An upcoming maintenance will not start; a running one ends now.",
    )
    def post(self, request: ApiRequest, pk: int) -> Response:
        maintenance = _get(request, pk)
        _planner(request)
        return _out(actions.cancel_maintenance(maintenance, by=request.user))
