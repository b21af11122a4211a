"""The on-call REST API: the same access rules and actions as the portal.

Everyone signed in reads rosters, overrides and who is on call; team admins and global
admins write (``access.access_roster(write=True)``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http import ApiRequest
from incidents import access as incident_access

from . import access, actions, feeds, selectors
from .models import Override, Page, Roster, Rotation, ShiftUnit, validate_time_zone
from .views import NO_SUCH_PAGE


class SlotOut(serializers.Serializer):
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    override = serializers.BooleanField()


class OverrideOut(serializers.ModelSerializer):
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Override
        fields = ["id", "user", "starts_at", "ends_at", "reason"]


class OverrideIn(serializers.Serializer):
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True)
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class RotationOut(serializers.Serializer):
    effective_from = serializers.DateTimeField()
    participants = serializers.SerializerMethodField()
    shift_length = serializers.IntegerField()
    shift_unit = serializers.CharField()
    first_handoff = serializers.SerializerMethodField()
    time_zone = serializers.CharField()

    def get_participants(self, rotation: Rotation) -> list[str]:
        return [user.username for user in selectors.schedule.members(rotation)]

    def get_first_handoff(self, rotation: Rotation) -> str:
        return selectors.schedule.first_handoff_local(rotation).isoformat()


class RosterOut(serializers.ModelSerializer):
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    participants = serializers.SerializerMethodField()
    rotations = serializers.SerializerMethodField()
    on_call_now = serializers.SerializerMethodField()
    on_call_next = serializers.SerializerMethodField()
    feed_url = serializers.SerializerMethodField()

    class Meta:
        model = Roster
        fields = [
            "slug",
            "name",
            "team",
            "shift_length",
            "shift_unit",
            "handoff_time",
            "start_date",
            "time_zone",
            "participants",
            "rotations",
            "on_call_now",
            "on_call_next",
            "feed_url",
            "archived_at",
        ]

    def _row(self, roster: Roster) -> selectors.RosterNow:
        rows: dict[int, selectors.RosterNow] = self.context.setdefault("rows", {})
        if roster.pk not in rows:
            rows[roster.pk] = selectors.now_and_next(roster, self.context["now"])
        return rows[roster.pk]

    def get_participants(self, roster: Roster) -> list[str]:
        """The rotation as last saved (it may take effect later: see ``rotations``)."""
        return [user.username for user in selectors.newest_members(roster)]

    @extend_schema_field(RotationOut(many=True))
    def get_rotations(self, roster: Roster) -> list[dict[str, Any]]:
        """The rotation's versions in force now and later, oldest first."""
        now = self.context["now"]
        versions = selectors.schedule.rotations(roster)
        ahead = [
            rotation
            for rotation, following in zip(versions, [*versions[1:], None], strict=True)
            if following is None or following.effective_from > now
        ]
        return list(RotationOut(ahead, many=True).data)

    def get_on_call_now(self, roster: Roster) -> dict[str, Any] | None:
        slot = self._row(roster).now
        return SlotOut(slot).data if slot else None

    def get_on_call_next(self, roster: Roster) -> dict[str, Any] | None:
        slot = self._row(roster).next
        return SlotOut(slot).data if slot else None

    def get_feed_url(self, roster: Roster) -> str:
        return self.context["request"].build_absolute_uri(feeds.roster_feed_path(roster))


class EffectiveIn(serializers.Serializer):
    """When a rotation change takes effect; ``validated_data["effective"]`` is what
    ``actions.change_rotation`` takes. Shifts already worked never change."""

    effective = serializers.ChoiceField(
        choices=[actions.NEXT_HANDOFF, actions.NOW, "at"],
        default=actions.NEXT_HANDOFF,
        help_text="next_handoff (default), now, or at (with effective_at).",
    )
    effective_at = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        when = attrs.pop("effective_at", None)
        if attrs["effective"] == "at":
            if when is None:
                raise serializers.ValidationError(
                    {"effective_at": _("Say when the change takes effect.")}
                )
            attrs["effective"] = when
        return attrs


class RosterIn(EffectiveIn):
    name = serializers.CharField(max_length=100, required=False)
    shift_length = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    shift_unit = serializers.ChoiceField(choices=ShiftUnit.choices, required=False)
    handoff_time = serializers.TimeField(required=False)
    time_zone = serializers.CharField(validators=[validate_time_zone], required=False)


class ParticipantsIn(EffectiveIn):
    participants = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), many=True
    )


class AttemptOut(serializers.Serializer):
    channel = serializers.CharField()
    # A webhook's URL is a credential: its kind and host only, as on the incident page.
    target = serializers.CharField(source="shown_target")
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    result = serializers.CharField(source="shown_result")
    gave_up = serializers.BooleanField()


class ChannelOut(serializers.Serializer):
    """Where one channel of the page stands, as the incident page's on-call panel says."""

    channel = serializers.CharField()
    target = serializers.CharField()
    status = serializers.ChoiceField(choices=["delivered", "retrying", "failed", "stopped"])
    tries = serializers.IntegerField()
    last_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    why = serializers.CharField()


class PageOut(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.key")
    user: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    acknowledged_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    attempts = AttemptOut(many=True, read_only=True)
    channels = serializers.SerializerMethodField()

    class Meta:
        model = Page
        fields = [
            "id",
            "incident",
            "user",
            "address",
            "reason",
            "message",
            "state",
            "idempotency_key",
            "created_at",
            "sent_at",
            "acknowledged_at",
            "acknowledged_by",
            "attempts",
            "channels",
        ]

    @extend_schema_field(ChannelOut(many=True))
    def get_channels(self, page: Page) -> list[dict[str, object]]:
        return ChannelOut(selectors.channel_states(page), many=True).data  # type: ignore[return-value]  # ReturnList is a list of dicts


class GapOut(serializers.Serializer):
    roster = serializers.CharField(source="roster.slug")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


def _roster_out(request: ApiRequest, rosters: Any, *, many: bool = False) -> Response:
    context = {"request": request, "now": timezone.now()}
    return Response(RosterOut(rosters, many=many, context=context).data)


class RosterListApi(APIView):
    @extend_schema(responses=RosterOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        access.require(access.can_read(request.user), _("Sign in to see rosters."))
        rosters = selectors.rosters_for_schedule().filter(archived_at__isnull=True)
        return _roster_out(request, list(rosters), many=True)


class RosterDetailApi(APIView):
    @extend_schema(responses=RosterOut)
    def get(self, request: ApiRequest, slug: str) -> Response:
        roster = access.access_roster(request.user, slug)
        return _roster_out(request, selectors.rosters_for_schedule().get(pk=roster.pk))

    @extend_schema(request=RosterIn, responses=RosterOut)
    def patch(self, request: ApiRequest, slug: str) -> Response:
        roster = access.access_roster(request.user, slug, write=True)
        data = RosterIn(data=request.data)
        data.is_valid(raise_exception=True)
        actions.update_roster(roster, by=request.user, **data.validated_data)
        return _roster_out(request, selectors.rosters_for_schedule().get(pk=roster.pk))


class RosterParticipantsApi(APIView):
    @extend_schema(request=ParticipantsIn, responses=RosterOut)
    def put(self, request: ApiRequest, slug: str) -> Response:
        roster = access.access_roster(request.user, slug, write=True)
        data = ParticipantsIn(data=request.data)
        data.is_valid(raise_exception=True)
        actions.change_rotation(roster, by=request.user, **data.validated_data)
        return _roster_out(request, selectors.rosters_for_schedule().get(pk=roster.pk))


class RosterOverridesApi(APIView):
    @extend_schema(responses=OverrideOut(many=True))
    def get(self, request: ApiRequest, slug: str) -> Response:
        roster = access.access_roster(request.user, slug)
        overrides = roster.overrides.filter(ends_at__gt=timezone.now()).select_related("user")
        return Response(OverrideOut(overrides, many=True).data)

    @extend_schema(request=OverrideIn, responses={201: OverrideOut})
    def post(self, request: ApiRequest, slug: str) -> Response:
        roster = access.access_roster(request.user, slug, write=True)
        data = OverrideIn(data=request.data)
        data.is_valid(raise_exception=True)
        override = actions.add_override(roster, by=request.user, **data.validated_data)
        return Response(OverrideOut(override).data, status=status.HTTP_201_CREATED)


class OverrideDeleteApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: ApiRequest, slug: str, pk: int) -> Response:
        roster = access.access_roster(request.user, slug, write=True)
        actions.remove_override(get_object_or_404(Override, pk=pk, roster=roster), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OnCallNowApi(APIView):
    @extend_schema(responses=RosterOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        """Every roster with who is on call now and next (the IMOC first)."""
        access.require(access.can_read(request.user), _("Sign in to see rosters."))
        return _roster_out(request, [row.roster for row in selectors.board()], many=True)


class CoverageGapsApi(APIView):
    @extend_schema(responses=GapOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        """Stretches of the next 14 days when a paged roster has nobody on call."""
        access.require(access.can_read(request.user), _("Sign in to see rosters."))
        return Response(GapOut(selectors.coverage_gaps(), many=True).data)


class IncidentPagesApi(APIView):
    @extend_schema(responses=PageOut(many=True))
    def get(self, request: ApiRequest, key: str) -> Response:
        incident = incident_access.access_incident(request.user, key)
        pages = Page.objects.for_list().filter(incident=incident).select_related("incident")
        return Response(PageOut(pages, many=True).data)


class PageAcknowledgeApi(APIView):
    @extend_schema(request=None, responses=PageOut)
    def post(self, request: ApiRequest, pk: int) -> Response:
        # A page whose incident is unseen answers exactly like a page that does not exist.
        page = Page.objects.select_related("incident").filter(pk=pk).first()
        if page is None:
            raise Http404(NO_SUCH_PAGE)
        incident_access.access_incident(request.user, page.incident.key, not_found=NO_SUCH_PAGE)
        access.require(
            access.can_acknowledge(request.user, page), _("Only the person paged or an IM.")
        )
        page = actions.acknowledge_page(page, by=request.user)
        page = Page.objects.for_list().select_related("incident").get(pk=page.pk)
        return Response(PageOut(page).data)
