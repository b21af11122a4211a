"""The support desk's API: upsert cases by reference, label them by issue key."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents import access
from incidents.support import actions as support_actions
from incidents.support.models import SupportCase


class CaseSerializer(serializers.ModelSerializer):
    # The key, not the id: what people read and type. Null when unlabelled.
    incident = serializers.SerializerMethodField()

    class Meta:
        model = SupportCase
        fields = [
            "reference",
            "customer_name",
            "organisation",
            "contact_email",
            "subject",
            "opened_at",
            "incident",
            "labelled_at",
            "followed_up_at",
        ]
        read_only_fields = ["incident", "labelled_at", "followed_up_at"]
        # The upsert finds the row by reference itself; the model's unique check
        # would refuse every update.
        extra_kwargs: dict[str, dict[str, object]] = {"reference": {"validators": []}}

    def get_incident(self, case: SupportCase) -> str | None:
        visible: set[int] = self.context.get("visible", set())
        if case.label is None:
            return None
        # A restricted incident the caller may not see is not named.
        return case.label.key if case.label_id in visible else "restricted"


class LabelIn(serializers.Serializer):
    references = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False, max_length=10_000
    )


class LabelOut(serializers.Serializer):
    incident = serializers.CharField(source="incident.key")
    labelled = serializers.ListField(child=serializers.CharField())
    moved = serializers.ListField(child=serializers.CharField())
    already = serializers.ListField(child=serializers.CharField())


def _visible(request: Request, cases: list[SupportCase]) -> set[int]:
    ids = {case.label_id for case in cases if case.label_id}
    return set(
        access.visible_incidents(request.user).filter(pk__in=ids).values_list("pk", flat=True)
    )


class CaseListUpsertApi(generics.ListAPIView):
    """GET lists cases, newest first. POST upserts one case or a list, by reference."""

    serializer_class = CaseSerializer

    def get_queryset(self) -> QuerySet[SupportCase]:
        if getattr(self, "swagger_fake_view", False):
            return SupportCase.objects.none()
        access.require(access.can_label(self.request.user), "You may not see support cases.")
        cases = SupportCase.objects.select_related("label").order_by("-opened_at", "-pk")
        if reference := self.request.query_params.get("reference"):
            cases = cases.filter(reference=reference)
        return cases

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        # Which labels the caller may see is asked for the page shown, not every case.
        page = self.paginate_queryset(self.get_queryset()) or []
        context = {"visible": _visible(request, page)}
        return self.get_paginated_response(CaseSerializer(page, many=True, context=context).data)

    @extend_schema(request=CaseSerializer(many=True), responses={200: CaseSerializer(many=True)})
    def post(self, request: ApiRequest) -> Response:
        access.require(access.can_label(request.user), "You may not change support cases.")
        many = isinstance(request.data, list)
        data = CaseSerializer(data=request.data, many=many)
        data.is_valid(raise_exception=True)
        rows = data.validated_data if many else [data.validated_data]
        cases, created_any = support_actions.upsert_cases(rows, by=request.user)
        out = CaseSerializer(cases, many=True, context={"visible": _visible(request, cases)}).data
        return Response(
            out if many else out[0], status=status.HTTP_201_CREATED if created_any else 200
        )


class IncidentCasesApi(APIView):
    """The incident's cases; POST labels cases with its key (all or nothing)."""

    @extend_schema(responses=CaseSerializer(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = access.access_incident(request.user, key)
        cases = list(incident.support_cases.select_related("label").order_by("-labelled_at"))
        return Response(CaseSerializer(cases, many=True, context={"visible": {incident.pk}}).data)

    @extend_schema(request=LabelIn, responses=LabelOut)
    def post(self, request: ApiRequest, key: str) -> Response:
        access.require(access.can_label(request.user), "You may not label support cases.")
        data = LabelIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = support_actions.label_cases(
            key=key, references=data.validated_data["references"], by=request.user
        )
        return Response(LabelOut(result).data)
