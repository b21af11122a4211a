"""The workspace through the API: status document, timeline edits, cleanup tasks, the
review and fatigue. The same ``access`` checks and ``actions`` as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest

from . import access, actions, selectors
from .models import EntryKind, Incident, Review
from .serializers import (
    BreakIn,
    ChangeIn,
    CleanupTaskSerializer,
    DoneIn,
    EntryEditIn,
    ExperimentIn,
    ExperimentOut,
    IncidentChangeOut,
    ResponderLoadOut,
    ReviewIn,
    ReviewOut,
    TheoryDecisionIn,
    TheoryIn,
    TheoryOut,
    TimelineEntryOut,
    WorkstreamSerializer,
)


def _one(queryset: QuerySet[Any], pk: int, what: str) -> Any:
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise NotFound(f"No {what} {pk}.") from None


def _writer(request: ApiRequest, key: str) -> Incident:
    incident = access.access_incident(request.user, key)
    access.require(
        access.can_add_entry(request.user, incident), "You may not add to the status document."
    )
    return incident


def _valid(serializer_class: Any, request: ApiRequest, **kwargs: Any) -> dict[str, Any]:
    data = serializer_class(data=request.data, **kwargs)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _created(serializer_class: Any, instance: Model) -> Response:
    return Response(serializer_class(instance).data, status=status.HTTP_201_CREATED)


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
        change = actions.undo_change(change, by=request.user)
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
        theory = actions.decide_theory(theory, by=request.user, **_valid(TheoryDecisionIn, request))
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
        workstream = actions.save_workstream(incident, by=request.user, **data)
        return _created(WorkstreamSerializer, workstream)


class WorkstreamApi(APIView):
    @extend_schema(request=WorkstreamSerializer, responses=WorkstreamSerializer)
    def patch(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = _writer(request, key)
        workstream = _one(incident.workstreams.all(), pk, "workstream")
        data = _valid(WorkstreamSerializer, request, partial=True)
        workstream = actions.save_workstream(
            incident, by=request.user, workstream=workstream, **data
        )
        return Response(WorkstreamSerializer(workstream).data)


class TimelineEntryApi(APIView):
    """The author corrects an entry; the earlier version is kept."""

    @extend_schema(request=EntryEditIn, responses=TimelineEntryOut)
    def patch(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        entry = _one(incident.timeline.all(), pk, "timeline entry")
        access.require(access.can_edit_entry(request.user, entry), "Only the author edits.")
        entry = actions.edit_timeline_entry(entry, by=request.user, **_valid(EntryEditIn, request))
        return Response(TimelineEntryOut(entry).data)


class CleanupTasksApi(APIView):
    @extend_schema(responses=CleanupTaskSerializer(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        tasks = incident.cleanup_tasks.select_related("owner", "done_by")
        return Response(CleanupTaskSerializer(tasks, many=True).data)

    @extend_schema(request=CleanupTaskSerializer, responses={201: CleanupTaskSerializer})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = _writer(request, key)
        task = actions.add_cleanup_task(
            incident, by=request.user, **_valid(CleanupTaskSerializer, request)
        )
        return _created(CleanupTaskSerializer, task)


class CleanupTaskDoneApi(APIView):
    @extend_schema(request=DoneIn, responses=CleanupTaskSerializer)
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        task = _one(incident.cleanup_tasks.select_related("incident"), pk, "cleanup task")
        access.require(access.can_complete_task(request.user, task), "Only the owner or an IM.")
        task = actions.complete_cleanup_task(task, by=request.user, **_valid(DoneIn, request))
        return Response(CleanupTaskSerializer(task).data)


def _review(incident: Incident) -> Review:
    try:
        return incident.review
    except Review.DoesNotExist:
        raise NotFound(f"{incident.key} has no review yet: POST to start one.") from None


class ReviewApi(APIView):
    """GET the review; POST generates the draft; PATCH saves an edited body."""

    @extend_schema(responses=ReviewOut)
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        return Response(ReviewOut(_review(incident)).data)

    @extend_schema(request=None, responses={201: ReviewOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(access.can_review(request.user, incident), "Only incident managers review.")
        return _created(ReviewOut, actions.start_review(incident, by=request.user))

    @extend_schema(request=ReviewIn, responses=ReviewOut)
    def patch(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(access.can_review(request.user, incident), "Only incident managers review.")
        review = actions.save_review(
            _review(incident), by=request.user, **_valid(ReviewIn, request)
        )
        return Response(ReviewOut(review).data)


class ReviewCompleteApi(APIView):
    @extend_schema(request=None, responses=ReviewOut)
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(access.can_review(request.user, incident), "Only incident managers review.")
        review = actions.complete_review(_review(incident), by=request.user)
        return Response(ReviewOut(review).data)


class FatigueApi(APIView):
    @extend_schema(responses=ResponderLoadOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        loads = selectors.responder_fatigue(incident) if incident.is_open else []
        return Response(ResponderLoadOut(loads, many=True).data)


class BreakApi(APIView):
    @extend_schema(request=BreakIn, responses={201: TimelineEntryOut})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        data = _valid(BreakIn, request)
        access.require(
            data["person"].pk == request.user.pk or access.can_delegate(request.user, incident),
            "Only the incident manager sends someone else on a break.",
        )
        entry = actions.record_break(incident, by=request.user, **data)
        return _created(TimelineEntryOut, entry)
