"""The workspace through the API: status document, timeline edits, cleanup tasks, the
review and fatigue. The same ``access`` checks and ``actions`` as the pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, permissions, status
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents import access, actions
from incidents.api import _created, _one, _valid, _writer
from incidents.models import EntryKind
from incidents.serializers import TimelineEntryOut
from incidents.workspace import actions as workspace_actions
from incidents.workspace import selectors as workspace_selectors
from incidents.workspace.models import ChangeToken, ServiceChange
from incidents.workspace.serializers import (
    AssessmentIn,
    AssessmentOut,
    BreakIn,
    ChangeIn,
    EntryEditIn,
    ExperimentIn,
    ExperimentOut,
    IncidentChangeOut,
    NearbyChangeOut,
    ResponderLoadOut,
    ServiceChangeIn,
    ServiceChangeOut,
    TheoryDecisionIn,
    TheoryIn,
    TheoryOut,
    WorkstreamSerializer,
)


class IncidentChangesApi(APIView):
    """The status document's changes table."""

    @extend_schema(responses=IncidentChangeOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        rows = incident.changes.select_related("entry__author", "undone_by")
        return Response(IncidentChangeOut(rows, many=True).data)

    @extend_schema(request=ChangeIn, responses={201: IncidentChangeOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = _writer(request, key)
        entry = actions.add_timeline_entry(
            incident, kind=EntryKind.CHANGE, by=request.user, **_valid(ChangeIn, request)
        )
        return _created(IncidentChangeOut, entry.change)


class IncidentChangeUndoApi(APIView):
    @extend_schema(request=None, responses=IncidentChangeOut)
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = _writer(request, key)
        change = _one(incident.changes.all(), pk, "change")
        change = workspace_actions.undo_change(change, by=request.user)
        return Response(IncidentChangeOut(change).data)


class TheoriesApi(APIView):
    @extend_schema(responses=TheoryOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        theories = incident.theories.select_related("entry__author", "decided_by").prefetch_related(
            "experiments__entry__author"
        )
        return Response(TheoryOut(theories, many=True).data)

    @extend_schema(request=TheoryIn, responses={201: TheoryOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = _writer(request, key)
        entry = actions.add_timeline_entry(
            incident, kind=EntryKind.THEORY, by=request.user, **_valid(TheoryIn, request)
        )
        return _created(TheoryOut, entry.theory)


class TheoryDecideApi(APIView):
    @extend_schema(request=TheoryDecisionIn, responses=TheoryOut)
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = _writer(request, key)
        theory = _one(incident.theories.all(), pk, "theory")
        theory = workspace_actions.decide_theory(
            theory, by=request.user, **_valid(TheoryDecisionIn, request)
        )
        return Response(TheoryOut(theory).data)


class ExperimentsApi(APIView):
    @extend_schema(request=ExperimentIn, responses={201: ExperimentOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = _writer(request, key)
        data = _valid(ExperimentIn, request)
        theory_id = data.pop("theory", None)
        theory = incident.theories.filter(pk=theory_id).first() if theory_id else None
        if theory_id and theory is None:
            raise actions.ActionRefused(
                "Link an experiment to a theory of this incident.", field="theory"
            )
        entry = actions.add_timeline_entry(
            incident, kind=EntryKind.EXPERIMENT, by=request.user, theory=theory, **data
        )
        return _created(ExperimentOut, entry.experiment)


class WorkstreamsApi(APIView):
    @extend_schema(responses=WorkstreamSerializer(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        workstreams = incident.workstreams.select_related("lead")
        return Response(WorkstreamSerializer(workstreams, many=True).data)

    @extend_schema(request=WorkstreamSerializer, responses={201: WorkstreamSerializer})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = _writer(request, key)
        data = _valid(WorkstreamSerializer, request)
        workstream = workspace_actions.save_workstream(incident, by=request.user, **data)
        return _created(WorkstreamSerializer, workstream)


class WorkstreamApi(APIView):
    @extend_schema(request=WorkstreamSerializer, responses=WorkstreamSerializer)
    def patch(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = _writer(request, key)
        workstream = _one(incident.workstreams.all(), pk, "workstream")
        data = _valid(WorkstreamSerializer, request, partial=True)
        workstream = workspace_actions.save_workstream(
            incident, by=request.user, workstream=workstream, **data
        )
        return Response(WorkstreamSerializer(workstream).data)


class TimelineEntryApi(APIView):
    """The author corrects an entry; the earlier version is kept."""

    @extend_schema(request=EntryEditIn, responses=TimelineEntryOut)
    def patch(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        entry = _one(incident.timeline.all(), pk, "timeline entry")
        access.require(access.can_edit_entry(request.user, entry), _("Only the author edits."))
        entry = workspace_actions.edit_timeline_entry(
            entry, by=request.user, **_valid(EntryEditIn, request)
        )
        return Response(TimelineEntryOut(entry).data)


class FatigueApi(APIView):
    @extend_schema(responses=ResponderLoadOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        loads = workspace_selectors.responder_fatigue(incident) if incident.is_open else []
        return Response(ResponderLoadOut(loads, many=True).data)


class BreakApi(APIView):
    @extend_schema(request=BreakIn, responses={201: TimelineEntryOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        data = _valid(BreakIn, request)
        access.require(
            data["person"].pk == request.user.pk or access.can_delegate(request.user, incident),
            _("Only the incident manager sends someone else on a break."),
        )
        entry = workspace_actions.record_break(incident, by=request.user, **data)
        return _created(TimelineEntryOut, entry)


class IncidentAssessmentsApi(APIView):
    """Every revision of the assessment, newest first; POST adds a revision."""

    @extend_schema(responses=AssessmentOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        revisions = incident.assessments.select_related("author")
        return Response(AssessmentOut(revisions, many=True).data)

    @extend_schema(request=AssessmentIn, responses={201: AssessmentOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_assess(request.user, incident),
            _("Only the incident manager assesses the incident."),
        )
        data = AssessmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        assessment = workspace_actions.save_assessment(
            incident, by=request.user, **data.validated_data
        )
        return Response(AssessmentOut(assessment).data, status=status.HTTP_201_CREATED)


class ChangeTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>`` with a service's change token (no user)."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ChangeToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise AuthenticationFailed("Send Authorization: Bearer <token>.")
        token = workspace_actions.change_token_for(header[1].decode(errors="replace"))
        if token is None:
            raise AuthenticationFailed("Unknown change token.")
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="changes"'


class HasChangeToken(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ChangeToken)


class ServiceChangeReportApi(APIView):
    """CI/CD reports a deployment, config change or feature flag of its service."""

    authentication_classes = [ChangeTokenAuthentication]
    permission_classes = [HasChangeToken]

    @extend_schema(
        request=ServiceChangeIn, responses={201: ServiceChangeOut, 200: ServiceChangeOut}
    )
    def post(self, request: Request) -> Response:
        token = request.auth
        assert isinstance(token, ChangeToken)  # HasChangeToken let only these through
        data = ServiceChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        slug = fields.pop("service", None)
        if slug is not None and slug != token.service.slug:
            raise PermissionDenied(f"This token reports changes of {token.service.slug} only.")
        change, created = workspace_actions.report_service_change(token.service, **fields)
        return Response(
            ServiceChangeOut(change).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class IncidentNearbyChangesApi(APIView):
    """Reported changes around the impact start, closest first."""

    @extend_schema(responses=NearbyChangeOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        rows = workspace_selectors.changes_near_impact(incident)
        return Response(NearbyChangeOut(rows, many=True).data)


def _service_change(pk: int) -> ServiceChange:
    try:
        return ServiceChange.objects.select_related("service").get(pk=pk)
    except ServiceChange.DoesNotExist:
        raise NotFound(f"No reported change {pk}.") from None


class ServiceChangeSuspectApi(APIView):
    @extend_schema(request=None, responses={201: TimelineEntryOut})
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_add_entry(request.user, incident), _("You may not add to the timeline.")
        )
        entry = workspace_actions.suspect_service_change(
            incident, _service_change(pk), by=request.user
        )
        return Response(TimelineEntryOut(entry).data, status=status.HTTP_201_CREATED)


class ServiceChangeRollbackApi(APIView):
    @extend_schema(request=None, responses={201: TimelineEntryOut})
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(
            access.can_add_entry(request.user, incident), _("You may not add to the timeline.")
        )
        entry = workspace_actions.roll_back_service_change(
            incident, _service_change(pk), by=request.user
        )
        return Response(TimelineEntryOut(entry).data, status=status.HTTP_201_CREATED)
