"""The personal on-call API: notification rules, test pages, shift swaps and the load
report, with the same access rules and actions as the portal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest

from ..access import administered_teams
from ..models import ContactMethod, Roster
from . import access, load, rules, swaps
from .forms import PeriodForm
from .models import MAX_DELAY_MINUTES, Chain, NotificationRule, ShiftSwap, TestPage
from .views import period


class RuleOut(serializers.ModelSerializer):
    method = serializers.IntegerField(source="method_id")
    kind = serializers.CharField(source="method.kind")
    target = serializers.CharField(source="method.target")

    class Meta:
        model = NotificationRule
        fields = ["id", "chain", "delay_minutes", "method", "kind", "target"]


class RuleIn(serializers.Serializer):
    chain = serializers.ChoiceField(choices=Chain.choices)
    method = serializers.IntegerField(help_text="The id of one of your contact methods.")
    delay_minutes = serializers.IntegerField(min_value=0, max_value=MAX_DELAY_MINUTES)

    def validate_method(self, value: int) -> ContactMethod:
        method = ContactMethod.objects.filter(pk=value, user=self.context["user"]).first()
        if method is None:
            raise serializers.ValidationError(_("Choose one of your own contact methods."))
        return method


class RuleListApi(APIView):
    @extend_schema(responses=RuleOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        """My notification rules, both chains, each in the order its steps fire."""
        access.require(access.can_read(request.user), _("Sign in to see your rules."))
        own = NotificationRule.objects.filter(user=request.user).select_related("method")
        return Response(RuleOut(own, many=True).data)

    @extend_schema(request=RuleIn, responses={201: RuleOut})
    def post(self, request: ApiRequest) -> Response:
        access.require(access.can_read(request.user), _("Sign in to set your rules."))
        data = RuleIn(data=request.data, context={"user": request.user})
        data.is_valid(raise_exception=True)
        rule = rules.add_rule(request.user, by=request.user, **data.validated_data)
        return Response(RuleOut(rule).data, status=status.HTTP_201_CREATED)


class RuleDeleteApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: ApiRequest, pk: int) -> Response:
        rules.remove_rule(access.own_rule(request.user, pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TestPageOut(serializers.ModelSerializer):
    class Meta:
        model = TestPage
        fields = ["id", "chain", "status", "created_at", "sent_at", "last_error", "results"]


class TestPageIn(serializers.Serializer):
    chain = serializers.ChoiceField(choices=Chain.choices)


class TestPageSendApi(APIView):
    @extend_schema(responses=TestPageOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        """My latest test pages, newest first."""
        access.require(access.can_read(request.user), _("Sign in to see your test pages."))
        latest = TestPage.objects.filter(user=request.user)[:20]
        return Response(TestPageOut(latest, many=True).data)

    @extend_schema(request=TestPageIn, responses={202: TestPageOut})
    def post(self, request: ApiRequest) -> Response:
        """Page me now on every step of a chain; poll the test page for the results."""
        access.require(access.can_read(request.user), _("Sign in to page yourself."))
        data = TestPageIn(data=request.data)
        data.is_valid(raise_exception=True)
        page = rules.send_test_page(request.user, by=request.user, **data.validated_data)
        return Response(TestPageOut(page).data, status=status.HTTP_202_ACCEPTED)


class TestPageDetailApi(APIView):
    @extend_schema(responses=TestPageOut)
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(TestPageOut(access.own_test_page(request.user, pk)).data)


class SwapOut(serializers.ModelSerializer):
    roster: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    offered_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    taken_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    override = serializers.IntegerField(source="override_id", allow_null=True)

    class Meta:
        model = ShiftSwap
        fields = [
            "id",
            "roster",
            "offered_by",
            "starts_at",
            "ends_at",
            "note",
            "state",
            "taken_by",
            "override",
            "created_at",
            "settled_at",
        ]


class SwapIn(serializers.Serializer):
    roster = serializers.SlugRelatedField(slug_field="slug", queryset=Roster.objects.all())
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("starts_at", "ends_at"):
            if not datetime(2000, 1, 1, tzinfo=attrs[name].tzinfo) <= attrs[name]:
                raise serializers.ValidationError({name: _("Choose a time after 2000.")})
        return attrs


class SwapListApi(APIView):
    @extend_schema(responses=SwapOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        """Shifts offered now and not over yet, soonest first."""
        access.require(access.can_read(request.user), _("Sign in to see swaps."))
        offered = swaps.open_swaps().select_related("roster", "offered_by", "taken_by")
        return Response(SwapOut(offered.order_by("starts_at"), many=True).data)

    @extend_schema(request=SwapIn, responses={201: SwapOut})
    def post(self, request: ApiRequest) -> Response:
        """Offer all or part of a shift you are on call for."""
        access.require(access.can_read(request.user), _("Sign in to offer a swap."))
        data = SwapIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        swap = swaps.offer_swap(values.pop("roster"), by=request.user, **values)
        return Response(SwapOut(swap).data, status=status.HTTP_201_CREATED)


class SwapTakeApi(APIView):
    @extend_schema(request=None, responses=SwapOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        """Take a teammate's offered shift: you cover it (an override)."""
        swap = swaps.take_swap(access.access_swap(request.user, pk), by=request.user)
        return Response(SwapOut(swap).data)


class SwapWithdrawApi(APIView):
    @extend_schema(request=None, responses=SwapOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        swap = swaps.withdraw_swap(access.access_swap(request.user, pk), by=request.user)
        return Response(SwapOut(swap).data)


class LoadRowOut(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.get_full_name")
    time_zone = serializers.CharField()
    pages = serializers.IntegerField()
    night_pages = serializers.IntegerField()
    hours_on_call = serializers.FloatField()
    incidents_managed = serializers.IntegerField()


class LoadOut(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    people = LoadRowOut(many=True)


class LoadReportApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="First day (YYYY-MM-DD)."),
            OpenApiParameter("until", str, description="Last day (YYYY-MM-DD), included."),
        ],
        responses=LoadOut,
    )
    def get(self, request: ApiRequest) -> Response:
        """Per person, for a period (the last 28 days by default): pages, pages at night
        in their zone, hours on call, incidents managed."""
        access.require(access.can_see_load(request.user), _("Only admins and team admins."))
        form = PeriodForm(request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors.get_json_data())
        start, end = period(form)
        rows = load.report(start, end, teams=administered_teams(request.user))
        return Response(LoadOut({"start": start, "end": end, "people": rows}).data)
