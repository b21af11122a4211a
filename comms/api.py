"""The communications API: the same access rules and actions as the portal."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents import access as incident_access
from incidents.models import Product

from . import access, actions, content, selectors
from .models import Communication, Component, DistributionList, StatusPageIncident
from .serializers import (
    CommunicationOut,
    CommunicationUpdateIn,
    ComponentIn,
    ComponentOut,
    DistributionListSerializer,
    DraftIn,
    ReviewIn,
    StatusPageIncidentOut,
    SubscribeIn,
)


def _out(communication: Communication, code: int = 200) -> Response:
    communication = Communication.objects.select_related(
        "incident", "author", "reviewer", "review_requested_from", "published_by"
    ).get(pk=communication.pk)
    return Response(CommunicationOut(communication).data, status=code)


class CommunicationListCreateApi(APIView):
    @extend_schema(responses=CommunicationOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = incident_access.access_incident(request.user, key)
        rows = selectors.incident_communications(incident).select_related("incident")
        return Response(CommunicationOut(rows, many=True).data)

    @extend_schema(request=DraftIn, responses={201: CommunicationOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = incident_access.access_incident(request.user, key)
        access.require(access.can_draft(request.user, incident), gettext("You may not draft."))
        data = DraftIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        communication = actions.draft_communication(
            incident,
            audience=fields.pop("audience"),
            kind=fields.pop("kind"),
            by=request.user,
            **fields,
        )
        return _out(communication, status.HTTP_201_CREATED)


class CommunicationDetailApi(APIView):
    @extend_schema(responses=CommunicationOut)
    def get(self, request: ApiRequest, pk: int) -> Response:
        return _out(access.access_communication(request.user, pk))

    @extend_schema(request=CommunicationUpdateIn, responses=CommunicationOut)
    def patch(self, request: ApiRequest, pk: int) -> Response:
        communication = access.access_communication(request.user, pk)
        access.require(
            access.can_draft(request.user, communication.incident), gettext("You may not edit.")
        )
        data = CommunicationUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return _out(
            actions.update_communication(communication, by=request.user, **data.validated_data)
        )


class CommunicationReviewApi(APIView):
    @extend_schema(request=ReviewIn, responses=CommunicationOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        communication = access.access_communication(request.user, pk)
        access.require(
            access.can_draft(request.user, communication.incident),
            gettext("You may not ask for reviews."),
        )
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        return _out(
            actions.request_review(
                communication, reviewer=data.validated_data["reviewer"], by=request.user
            )
        )


class CommunicationPublishApi(APIView):
    @extend_schema(request=None, responses=CommunicationOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        communication = access.access_communication(request.user, pk)
        access.require(
            access.can_publish(request.user, communication.incident),
            gettext("Only incident managers and communications managers publish."),
        )
        published = actions.publish_communication(communication, by=request.user)
        response = _out(published)
        response.data["warnings"] = content.warnings(published)
        return response


class StatusPageIncidentListApi(generics.ListAPIView):
    serializer_class = StatusPageIncidentOut

    def get_queryset(self) -> QuerySet[StatusPageIncident]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return StatusPageIncident.objects.none()
        visible = incident_access.visible_incidents(self.request.user)
        return (
            StatusPageIncident.objects.filter(incident__in=visible.values("pk"))
            .select_related("incident")
            .prefetch_related("products")
            .order_by("-created_at", "-id")
        )


class ComponentListApi(APIView):
    @extend_schema(responses=ComponentOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        return Response(ComponentOut(selectors.public_components(), many=True).data)


class ComponentStatusApi(APIView):
    @extend_schema(request=ComponentIn, responses=ComponentOut)
    def post(self, request: ApiRequest, slug: str) -> Response:
        access.require(
            request.user.has_perm("incidents.publish_communication"),
            gettext("Only incident managers and communications managers set component status."),
        )
        product = get_object_or_404(Product, slug=slug)
        data = ComponentIn(data=request.data)
        data.is_valid(raise_exception=True)
        component = actions.set_component_status(
            product, status=data.validated_data["status"], by=request.user
        )
        return Response(
            ComponentOut(Component.objects.select_related("product").get(pk=component.pk)).data
        )


class SubscribeThrottle(SimpleRateThrottle):
    """Per client address, in the shared cache: the same limit as the public form."""

    scope = "comms-subscribe"

    def get_rate(self) -> str:
        from django.conf import settings

        return f"{settings.COMMS_SUBSCRIBE_RATE}/hour"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SubscribeApi(APIView):
    """Public: customers subscribe to the status page; a confirmation mail follows."""

    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [SubscribeThrottle]

    @extend_schema(request=SubscribeIn, responses={202: None})
    def post(self, request: Request) -> Response:
        data = SubscribeIn(data=request.data)
        data.is_valid(raise_exception=True)
        actions.subscribe(
            data.validated_data["email"],
            products=data.validated_data.get("products", []),
            language=data.validated_data.get("language", ""),
        )
        return Response(
            {"detail": gettext("Check your inbox to confirm the subscription.")},
            status=status.HTTP_202_ACCEPTED,
        )


class DistributionListApi(generics.ListCreateAPIView):
    serializer_class = DistributionListSerializer
    queryset = DistributionList.objects.prefetch_related("teams")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(
            access.can_view_internal_page(request.user), gettext("You may not see lists.")
        )
        return super().list(request, *args, **kwargs)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(access.can_manage_lists(request.user), gettext("You may not manage lists."))
        return super().create(request, *args, **kwargs)


class DistributionListDetailApi(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = DistributionListSerializer
    queryset = DistributionList.objects.prefetch_related("teams")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(
            access.can_view_internal_page(request.user), gettext("You may not see lists.")
        )
        return super().retrieve(request, *args, **kwargs)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(access.can_manage_lists(request.user), gettext("You may not manage lists."))
        return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access.require(access.can_manage_lists(request.user), gettext("You may not manage lists."))
        return super().destroy(request, *args, **kwargs)
