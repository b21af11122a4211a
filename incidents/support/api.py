"""The support desk's API: upsert cases by reference, label them by issue key."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
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
    move = serializers.BooleanField(
        default=False,
        help_text="Move cases labelled with another incident. Without it such cases "
        "answer 409 and nothing is labelled.",
    )


class ElsewhereOut(serializers.Serializer):
    reference = serializers.CharField()
    incident = serializers.SerializerMethodField(
        help_text='The incident\'s key, or "restricted" for one you may not see.'
    )

    def get_incident(self, item: support_actions.Elsewhere) -> str:
        return item.key or "restricted"


class LabelOut(serializers.Serializer):
    incident = serializers.CharField(source="incident.key")
    labelled = serializers.ListField(child=serializers.CharField())
    moved = serializers.ListField(child=serializers.CharField())
    already = serializers.ListField(child=serializers.CharField())
    moved_from = ElsewhereOut(
        many=True, help_text="Each moved case and the incident it was moved from."
    )


class MoveNeededOut(serializers.Serializer):
    detail = serializers.CharField()
    needs_move = ElsewhereOut(
        many=True,
        help_text='Cases labelled with another incident: send again with "move": true.',
    )


def _visible(request: Request, cases: list[SupportCase]) -> set[int]:
    ids = {case.label_id for case in cases if case.label_id}
    return set(
        access.visible_incidents(request.user).filter(pk__in=ids).values_list("pk", flat=True)
    )


def _one_or_many(name: str) -> PolymorphicProxySerializer:
    """One case, answered with one; or a list, answered with a list (not a page)."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=[CaseSerializer, CaseSerializer(many=True)],
        resource_type_field_name=None,
        many=False,
    )


class CaseListUpsertApi(generics.ListAPIView):
    """GET lists cases, newest first. POST upserts one case or a list, by reference."""

    serializer_class = CaseSerializer

    def get_queryset(self) -> QuerySet[SupportCase]:
        if getattr(self, "swagger_fake_view", False):
            return SupportCase.objects.none()
        access.require(access.can_label(self.request.user), _("You may not see support cases."))
        cases = SupportCase.objects.select_related("label").order_by("-opened_at", "-pk")
        if reference := self.request.query_params.get("reference"):
            cases = cases.filter(reference=support_actions.normalize_reference(reference))
        return cases

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        # Which labels the caller may see is asked for the page shown, not every case.
        page = self.paginate_queryset(self.get_queryset()) or []
        context = {"visible": _visible(request, page)}
        return self.get_paginated_response(CaseSerializer(page, many=True, context=context).data)

    @extend_schema(
        request=_one_or_many("CaseOrCases"),
        responses={
            200: OpenApiResponse(
                _one_or_many("CaseOrCasesOut"), description="Only updates: the cases as sent."
            ),
            201: OpenApiResponse(
                _one_or_many("CaseOrCasesOut"), description="At least one case was created."
            ),
        },
    )
    def post(self, request: ApiRequest) -> Response:
        access.require(access.can_label(request.user), _("You may not change support cases."))
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

    @extend_schema(
        request=LabelIn,
        responses={
            200: LabelOut,
            400: OpenApiResponse(description="Unknown references or key; nothing labelled."),
            409: OpenApiResponse(
                MoveNeededOut,
                description="Some cases are labelled with another incident and "
                '"move" was not true: nothing was labelled. Send the same request with '
                '"move": true to move them (the answer says from where).',
                examples=[
                    OpenApiExample(
                        "Labelled elsewhere",
                        value={
                            "detail": "Already labelled with another incident: SD-1 "
                            "(HOT-7). Confirm the move with move: true.",
                            "needs_move": [{"reference": "SD-1", "incident": "HOT-7"}],
                        },
                    )
                ],
            ),
        },
    )
    def post(self, request: ApiRequest, key: str) -> Response:
        """Label cases with the incident, all or nothing. References match in any case
        (sd-1 is SD-1). A case labelled with another incident moves only with
        ``"move": true``; without it the answer is 409 naming each such case."""
        access.require(access.can_label(request.user), _("You may not label support cases."))
        data = LabelIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = support_actions.label_cases(
                key=key,
                references=data.validated_data["references"],
                by=request.user,
                move=data.validated_data["move"],
                unconfirmed="refuse",
            )
        except support_actions.MoveNotConfirmed as refusal:
            body = {"detail": refusal.message, "needs_move": refusal.held}
            return Response(MoveNeededOut(body).data, status=status.HTTP_409_CONFLICT)
        return Response(LabelOut(result).data)
