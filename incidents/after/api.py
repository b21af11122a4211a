"""The workspace through the API: status document, timeline edits, cleanup tasks, the
review and fatigue. The same ``access`` checks and ``actions`` as the pages."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents import access
from incidents.after import access as after_access
from incidents.after import actions as after_actions
from incidents.after.models import Review
from incidents.after.serializers import CleanupTaskSerializer, DoneIn, ReviewIn, ReviewOut
from incidents.api import _created, _one, _valid, _writer
from incidents.models import Incident


class CleanupTasksApi(APIView):
    @extend_schema(responses=CleanupTaskSerializer(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        tasks = incident.cleanup_tasks.select_related("owner", "done_by")
        return Response(CleanupTaskSerializer(tasks, many=True).data)

    @extend_schema(request=CleanupTaskSerializer, responses={201: CleanupTaskSerializer})
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = _writer(request, key)
        task = after_actions.add_cleanup_task(
            incident, by=request.user, **_valid(CleanupTaskSerializer, request)
        )
        return _created(CleanupTaskSerializer, task)


class CleanupTaskDoneApi(APIView):
    @extend_schema(request=DoneIn, responses=CleanupTaskSerializer)
    def post(self, request: ApiRequest, key: str, pk: int) -> Response:
        incident = access.access_incident(request.user, key)
        task = _one(incident.cleanup_tasks.select_related("incident"), pk, "cleanup task")
        access.require(
            after_access.can_complete_task(request.user, task), "Only the owner or an IM."
        )
        task = after_actions.complete_cleanup_task(task, by=request.user, **_valid(DoneIn, request))
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
        return _created(ReviewOut, after_actions.start_review(incident, by=request.user))

    @extend_schema(request=ReviewIn, responses=ReviewOut)
    def patch(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(access.can_review(request.user, incident), "Only incident managers review.")
        review = after_actions.save_review(
            _review(incident), by=request.user, **_valid(ReviewIn, request)
        )
        return Response(ReviewOut(review).data)


class ReviewCompleteApi(APIView):
    @extend_schema(request=None, responses=ReviewOut)
    def post(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        access.require(access.can_review(request.user, incident), "Only incident managers review.")
        review = after_actions.complete_review(_review(incident), by=request.user)
        return Response(ReviewOut(review).data)
