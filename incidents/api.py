"""The REST API. Same access rules and the same actions as the portal."""

from typing import Any

from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents import access, actions, follow_ups, selectors
from incidents.filters import IncidentFilter
from incidents.models import Incident, Product, RoleAssignment, Service, Team
from incidents.serializers import (
    IncidentCreateIn,
    IncidentOut,
    IncidentTransitionOut,
    IncidentUpdateIn,
    ProductSerializer,
    RoleAssignIn,
    RoleAssignmentOut,
    RoleHandOverIn,
    ServiceSerializer,
    TeamSerializer,
    TimelineEntryIn,
    TimelineEntryOut,
    TransitionIn,
)


def _incident_response(request: ApiRequest, incident: Incident, code: int = 200) -> Response:
    incident = Incident.objects.for_list().with_case_count().get(pk=incident.pk)
    return Response(IncidentOut(incident, context={"request": request}).data, status=code)


class IncidentListCreateApi(generics.ListAPIView):
    serializer_class = IncidentOut
    filterset_class = IncidentFilter

    def get_queryset(self) -> QuerySet[Incident]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Incident.objects.none()
        return access.visible_incidents(self.request.user).for_list().with_case_count()

    @extend_schema(request=IncidentCreateIn, responses={201: IncidentOut})
    def post(self, request: ApiRequest) -> Response:
        access.require(access.can_create(request.user), _("You may not log incidents."))
        data = IncidentCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        incident = actions.create_incident(by=request.user, **data.validated_data)
        return _incident_response(request, incident, status.HTTP_201_CREATED)


class IncidentDetailApi(APIView):
    @extend_schema(responses=IncidentOut)
    def get(self, request: ApiRequest, key: str) -> Response:
        return _incident_response(request, access.access_incident(request.user, key))

    @extend_schema(request=IncidentUpdateIn, responses=IncidentOut)
    def patch(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_edit(request.user, incident), _("You may not edit this incident.")
        )
        data = IncidentUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        incident = actions.update_incident(incident, by=request.user, **data.validated_data)
        return _incident_response(request, incident)


class IncidentClaimApi(APIView):
    @extend_schema(request=None, responses={200: IncidentOut, 409: None})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_manage(request.user, incident), _("Only incident managers claim.")
        )
        return _incident_response(request, actions.claim_incident(incident, by=request.user))


class IncidentTransitionApi(APIView):
    @extend_schema(request=TransitionIn, responses=IncidentTransitionOut)
    def post(self, request: ApiRequest, key: str) -> Response:
        """Change the status. The answer is the incident and its ``next_steps``: what is
        left to do after the change (resolving leaves the public page's final update)."""
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_manage(request.user, incident), _("Only incident managers change status.")
        )
        data = TransitionIn(data=request.data)
        data.is_valid(raise_exception=True)
        incident = actions.transition_incident(incident, by=request.user, **data.validated_data)
        steps = follow_ups.next_steps(incident, user=request.user)
        incident = Incident.objects.for_list().with_case_count().get(pk=incident.pk)
        context = {"request": request, "next_steps": steps}
        return Response(IncidentTransitionOut(incident, context=context).data)


class IncidentTimelineApi(APIView):
    @extend_schema(responses=TimelineEntryOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        entries = incident.timeline.select_related("author")
        return Response(TimelineEntryOut(entries, many=True).data)

    @extend_schema(request=TimelineEntryIn, responses={201: TimelineEntryOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_add_entry(request.user, incident), _("You may not add to the timeline.")
        )
        data = TimelineEntryIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = actions.add_timeline_entry(incident, by=request.user, **data.validated_data)
        return Response(TimelineEntryOut(entry).data, status=status.HTTP_201_CREATED)


class IncidentRolesApi(APIView):
    """Who holds or held which role; assign a role (the IM or an incident manager)."""

    @extend_schema(responses=RoleAssignmentOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        return Response(RoleAssignmentOut(selectors.role_history(incident), many=True).data)

    @extend_schema(request=RoleAssignIn, responses={201: RoleAssignmentOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_delegate(request.user, incident),
            _("Only the incident manager delegates roles."),
        )
        data = RoleAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        held = actions.assign_role(incident, by=request.user, **data.validated_data)
        return Response(RoleAssignmentOut(held).data, status=status.HTTP_201_CREATED)


def _role(incident: Incident, pk: int) -> RoleAssignment:
    try:
        return incident.roles.select_related("person", "incident").get(pk=pk)
    except RoleAssignment.DoesNotExist:
        raise NotFound(f"No role {pk} on {incident.key}.") from None


class RoleHandOverApi(APIView):
    @extend_schema(request=RoleHandOverIn, responses={201: RoleAssignmentOut, 409: None})
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        held = _role(incident, pk)
        access.require(
            access.can_delegate(request.user, incident),
            _("Only the incident manager hands roles over."),
        )
        data = RoleHandOverIn(data=request.data)
        data.is_valid(raise_exception=True)
        new = actions.hand_over_role(held, by=request.user, **data.validated_data)
        return Response(RoleAssignmentOut(new).data, status=status.HTTP_201_CREATED)


class RoleReleaseApi(APIView):
    @extend_schema(request=None, responses={200: RoleAssignmentOut, 409: None})
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        held = _role(incident, pk)
        access.require(access.can_release(request.user, held), _("You may not end this role."))
        return Response(RoleAssignmentOut(actions.release_role(held, by=request.user)).data)


class CataloguePermission(permissions.DjangoModelPermissions):
    """Everyone signed in reads the catalogue; admins (model permissions) write it."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class TeamApi(viewsets.ModelViewSet):
    queryset = Team.objects.prefetch_related("members")
    serializer_class = TeamSerializer
    permission_classes = [CataloguePermission]
    lookup_field = "slug"
    filterset_fields = ["slug"]


class ServiceApi(viewsets.ModelViewSet):
    queryset = Service.objects.select_related("team")
    serializer_class = ServiceSerializer
    permission_classes = [CataloguePermission]
    lookup_field = "slug"
    filterset_fields = ["slug"]


class ProductApi(viewsets.ModelViewSet):
    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    permission_classes = [CataloguePermission]
    lookup_field = "slug"
    filterset_fields = ["slug"]

    @transaction.atomic
    def perform_destroy(self, instance: Product) -> None:
        # Incidents name their products through a many-to-many, which deleting would
        # silently empty: refused like a service in use (ProtectedError, answered 409).
        product = Product.objects.select_for_update().get(pk=instance.pk)
        in_use = product.incidents.all()
        if in_use.exists():
            raise ProtectedError("Still in use by incidents.", set(in_use[:10]))
        product.delete()


def _one(queryset: QuerySet[Any], pk: int, what: str) -> Any:
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise NotFound(f"No {what} {pk}.") from None


def _writer(request: ApiRequest, key: str) -> Incident:
    incident = access.access_incident(request.user, key)
    access.require(
        access.can_add_entry(request.user, incident), _("You may not add to the status document.")
    )
    return incident


def _valid(serializer_class: Any, request: ApiRequest, **kwargs: Any) -> dict[str, Any]:
    data = serializer_class(data=request.data, **kwargs)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _created(serializer_class: Any, instance: Model) -> Response:
    return Response(serializer_class(instance).data, status=status.HTTP_201_CREATED)
