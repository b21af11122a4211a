"""The team set-up API: the same access rules and actions as the portal's team pages."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from comms import destinations
from comms.models import ChatFormat, ChatWebhook, DistributionList, Webhook, WebhookEvent
from comms.transports.webhook import standard_secret
from config.http import ApiRequest
from incidents.models import Team

from .. import access as oncall_access
from ..api import RosterOut, _roster_out
from ..models import Roster, ShiftUnit, StepKind, validate_time_zone
from ..selectors import rosters_for_schedule
from . import access, actions, selectors

ACTIVE_USERS = User.objects.filter(is_active=True)


class TeamOut(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)
    admins = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()
    rosters = serializers.SerializerMethodField()

    def get_admins(self, team: Team) -> list[str]:
        return sorted(row.user.username for row in team.oncall_admins.all())

    def get_members(self, team: Team) -> list[str]:
        return sorted(user.username for user in team.members.all())

    def get_rosters(self, team: Team) -> list[str]:
        """Slugs of the team's active rosters; the first answers the team's incidents."""
        return [
            roster.slug
            for roster in sorted(team.rosters.all(), key=lambda roster: roster.pk)
            if not roster.is_archived
        ]


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(
        max_length=100, required=False, help_text="From the name when left out."
    )
    email = serializers.EmailField(required=False, allow_blank=True)


class TeamUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)


class AdminsIn(serializers.Serializer):
    admins = serializers.SlugRelatedField(slug_field="username", queryset=ACTIVE_USERS, many=True)


class MembersIn(serializers.Serializer):
    members = serializers.SlugRelatedField(slug_field="username", queryset=ACTIVE_USERS, many=True)


class RosterCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    participants = serializers.SlugRelatedField(
        slug_field="username", queryset=ACTIVE_USERS, many=True, required=False, default=list
    )
    shift_length = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    shift_unit = serializers.ChoiceField(choices=ShiftUnit.choices, default=ShiftUnit.WEEKS)
    handoff_time = serializers.TimeField(default=time(9, 0))
    start_date = serializers.DateField(required=False, allow_null=True, default=None)
    time_zone = serializers.CharField(max_length=64, validators=[validate_time_zone], default="UTC")


class ChatOut(serializers.Serializer):
    """The team's chat destination; its URL is a credential, so only its host."""

    configured = serializers.BooleanField()
    host = serializers.CharField(allow_blank=True)
    format = serializers.ChoiceField(choices=ChatFormat.choices, allow_null=True)
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        allow_blank=True,
        help_text="The language of its messages; empty: the portal's.",
    )


class ChatIn(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    format = serializers.ChoiceField(choices=ChatFormat.choices, default=ChatFormat.SLACK)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, allow_blank=True, default="")


class WebhookOut(serializers.Serializer):
    """One of the team's signed webhooks; its URL may hold a credential, so its host."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    host = serializers.SerializerMethodField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))
    active = serializers.BooleanField()

    def get_host(self, webhook: Webhook) -> str:
        return destinations.shown_url(webhook.url)


class WebhookCreatedOut(WebhookOut):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret as Standard Webhooks verifiers take it; shown only "
        "in this answer."
    )

    def get_secret(self, webhook: Webhook) -> str:
        return standard_secret(webhook.secret)


class WebhookIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False
    )
    active = serializers.BooleanField(default=True)


class DistributionListOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    addresses = serializers.ListField(child=serializers.EmailField(), source="address_list")
    is_default = serializers.BooleanField(
        help_text="Receives every internal incident communication (set by global admins)."
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        allow_blank=True,
        help_text="The language of its mail (its teams' members get theirs); empty: the portal's.",
    )


class DistributionListIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    addresses = serializers.ListField(child=serializers.CharField(max_length=254), max_length=500)
    # Left out of a change: the list keeps its language.
    language = serializers.ChoiceField(choices=settings.LANGUAGES, allow_blank=True, required=False)


class StepOut(serializers.Serializer):
    position = serializers.IntegerField()
    wait_minutes = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=StepKind.choices, source="target_kind")
    roster = serializers.CharField(source="roster.slug", allow_null=True, default=None)
    user = serializers.CharField(source="user.username", allow_null=True, default=None)


class PolicyOut(serializers.Serializer):
    team = serializers.CharField()
    repeat = serializers.IntegerField()
    steps = StepOut(many=True)


class StepIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=StepKind.choices)
    wait_minutes = serializers.IntegerField(min_value=1, max_value=actions.MAX_WAIT_MINUTES)
    roster = serializers.SlugRelatedField(
        slug_field="slug", queryset=Roster.objects.all(), required=False, allow_null=True
    )
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=ACTIVE_USERS, required=False, allow_null=True
    )


class PolicyIn(serializers.Serializer):
    repeat = serializers.IntegerField(min_value=0, max_value=actions.MAX_REPEAT)
    steps = serializers.ListField(child=StepIn(), max_length=actions.MAX_STEPS)


class PreviewOut(serializers.Serializer):
    at = serializers.DateTimeField()
    what = serializers.CharField()
    who = serializers.SerializerMethodField(help_text="Usernames; empty when nobody.")

    def get_who(self, row: selectors.PreviewRow) -> list[str]:
        return [user.username for user in row.who]


class PreviewQuery(serializers.Serializer):
    at = serializers.DateTimeField(required=False)

    def validate_at(self, value: Any) -> Any:
        problem = selectors.preview_time_problem(value, timezone.now())
        if problem:
            raise serializers.ValidationError(problem)
        return value


def _team_out(team: Team) -> Response:
    return Response(TeamOut(selectors.teams().get(pk=team.pk)).data)


def _policy_out(team: Team) -> Response:
    policy, steps = selectors.policy_steps(team)
    body = {"team": team.slug, "repeat": policy.repeat if policy else 0, "steps": steps}
    return Response(PolicyOut(body).data)


class TeamListApi(APIView):
    @extend_schema(responses=TeamOut(many=True))
    def get(self, request: ApiRequest) -> Response:
        access.require(access.can_read(request.user), _("Sign in to see teams."))
        return Response(TeamOut(selectors.teams(), many=True).data)

    @extend_schema(request=TeamIn, responses={201: TeamOut})
    def post(self, request: ApiRequest) -> Response:
        """Create a team (global admins)."""
        access.require(access.can_create_team(request.user), _("Only global admins create teams."))
        data = TeamIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = actions.create_team(by=request.user, **data.validated_data)
        return Response(
            TeamOut(selectors.teams().get(pk=team.pk)).data, status=status.HTTP_201_CREATED
        )


class TeamDetailApi(APIView):
    @extend_schema(responses=TeamOut)
    def get(self, request: ApiRequest, slug: str) -> Response:
        return _team_out(access.access_team(request.user, slug))

    @extend_schema(request=TeamUpdateIn, responses=TeamOut)
    def patch(self, request: ApiRequest, slug: str) -> Response:
        """Rename the team or change its contact e-mail (team admins)."""
        team = access.access_team(request.user, slug, write=True)
        data = TeamUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        actions.update_team(team, by=request.user, **data.validated_data)
        return _team_out(team)


class TeamAdminsApi(APIView):
    @extend_schema(request=AdminsIn, responses=TeamOut)
    def put(self, request: ApiRequest, slug: str) -> Response:
        """The team's admins become exactly these people (global admins)."""
        team = access.access_team(request.user, slug)
        access.require(
            access.can_name_admins(request.user), _("Only global admins name team admins.")
        )
        data = AdminsIn(data=request.data)
        data.is_valid(raise_exception=True)
        actions.set_team_admins(team, users=data.validated_data["admins"], by=request.user)
        return _team_out(team)


class TeamMembersApi(APIView):
    @extend_schema(request=MembersIn, responses=TeamOut)
    def put(self, request: ApiRequest, slug: str) -> Response:
        """The team's members become exactly these people (team admins)."""
        team = access.access_team(request.user, slug, write=True)
        data = MembersIn(data=request.data)
        data.is_valid(raise_exception=True)
        actions.set_team_members(team, users=data.validated_data["members"], by=request.user)
        return _team_out(team)


class TeamRostersApi(APIView):
    @extend_schema(responses=RosterOut(many=True))
    def get(self, request: ApiRequest, slug: str) -> Response:
        """The team's rosters, archived ones included (``archived_at``)."""
        team = access.access_team(request.user, slug)
        rosters = list(rosters_for_schedule().filter(team=team).order_by("pk"))
        return _roster_out(request, rosters, many=True)

    @extend_schema(request=RosterCreateIn, responses={201: RosterOut})
    def post(self, request: ApiRequest, slug: str) -> Response:
        """Create a roster of the team (team admins)."""
        team = access.access_team(request.user, slug, write=True)
        data = RosterCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        roster = actions.create_team_roster(team, by=request.user, **data.validated_data)
        answer = _roster_out(request, rosters_for_schedule().get(pk=roster.pk))
        answer.status_code = status.HTTP_201_CREATED
        return answer


def _chat_out(team: Team) -> Response:
    chat = ChatWebhook.objects.filter(team=team, active=True).first()
    body = {
        "configured": chat is not None,
        "host": destinations.shown_url(chat.url) if chat else "",
        "format": chat.format if chat else None,
        "language": chat.language if chat else "",
    }
    return Response(ChatOut(body).data)


class TeamChatWebhookApi(APIView):
    @extend_schema(responses=ChatOut)
    def get(self, request: ApiRequest, slug: str) -> Response:
        return _chat_out(access.access_team(request.user, slug))

    @extend_schema(request=ChatIn, responses=ChatOut)
    def put(self, request: ApiRequest, slug: str) -> Response:
        """Post the team's incidents to this chat webhook (team admins)."""
        team = access.access_team(request.user, slug, write=True)
        data = ChatIn(data=request.data)
        data.is_valid(raise_exception=True)
        destinations.set_team_chat_webhook(team, by=request.user, **data.validated_data)
        return _chat_out(team)

    @extend_schema(responses={204: None})
    def delete(self, request: ApiRequest, slug: str) -> Response:
        """Stop posting the team's incidents to chat (team admins)."""
        team = access.access_team(request.user, slug, write=True)
        destinations.remove_team_chat_webhook(team, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamWebhookListApi(APIView):
    @extend_schema(responses=WebhookOut(many=True))
    def get(self, request: ApiRequest, slug: str) -> Response:
        """The team's signed webhooks. Which team's they are decides who manages them,
        not what they receive: each gets its events for every incident."""
        team = access.access_team(request.user, slug)
        webhooks = Webhook.objects.filter(team=team).order_by("name", "pk")
        return Response(WebhookOut(webhooks, many=True).data)

    @extend_schema(request=WebhookIn, responses={201: WebhookCreatedOut})
    def post(self, request: ApiRequest, slug: str) -> Response:
        """Add a signed webhook (team admins); the answer shows its secret, once."""
        team = access.access_team(request.user, slug, write=True)
        data = WebhookIn(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = destinations.add_team_webhook(team, by=request.user, **data.validated_data)
        return Response(WebhookCreatedOut(webhook).data, status=status.HTTP_201_CREATED)


class TeamWebhookApi(APIView):
    @extend_schema(responses=WebhookOut)
    def get(self, request: ApiRequest, slug: str, pk: int) -> Response:
        return Response(WebhookOut(access.access_team_webhook(request.user, slug, pk)).data)

    @extend_schema(request=WebhookIn, responses=WebhookOut)
    def put(self, request: ApiRequest, slug: str, pk: int) -> Response:
        """Change the webhook (team admins); its secret stays."""
        webhook = access.access_team_webhook(request.user, slug, pk, write=True)
        data = WebhookIn(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = destinations.update_team_webhook(webhook, by=request.user, **data.validated_data)
        return Response(WebhookOut(webhook).data)

    @extend_schema(responses={204: None})
    def delete(self, request: ApiRequest, slug: str, pk: int) -> Response:
        """Stop sending to the webhook (team admins): deleted, or deactivated when it was
        sent something (its delivery record stays)."""
        webhook = access.access_team_webhook(request.user, slug, pk, write=True)
        destinations.remove_team_webhook(webhook, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamDistributionListListApi(APIView):
    @extend_schema(responses=DistributionListOut(many=True))
    def get(self, request: ApiRequest, slug: str) -> Response:
        """The distribution lists the team's admins manage."""
        team = access.access_team(request.user, slug)
        lists = DistributionList.objects.filter(team=team).order_by("name")
        return Response(DistributionListOut(lists, many=True).data)

    @extend_schema(request=DistributionListIn, responses={201: DistributionListOut})
    def post(self, request: ApiRequest, slug: str) -> Response:
        """Add a distribution list (team admins)."""
        team = access.access_team(request.user, slug, write=True)
        data = DistributionListIn(data=request.data)
        data.is_valid(raise_exception=True)
        distribution = destinations.add_team_distribution_list(
            team, by=request.user, **data.validated_data
        )
        return Response(DistributionListOut(distribution).data, status=status.HTTP_201_CREATED)


class TeamDistributionListApi(APIView):
    @extend_schema(responses=DistributionListOut)
    def get(self, request: ApiRequest, slug: str, pk: int) -> Response:
        distribution = access.access_team_distribution_list(request.user, slug, pk)
        return Response(DistributionListOut(distribution).data)

    @extend_schema(request=DistributionListIn, responses=DistributionListOut)
    def put(self, request: ApiRequest, slug: str, pk: int) -> Response:
        """Replace the list's name and addresses (team admins)."""
        distribution = access.access_team_distribution_list(request.user, slug, pk, write=True)
        data = DistributionListIn(data=request.data)
        data.is_valid(raise_exception=True)
        distribution = destinations.update_team_distribution_list(
            distribution, by=request.user, **data.validated_data
        )
        return Response(DistributionListOut(distribution).data)

    @extend_schema(responses={204: None})
    def delete(self, request: ApiRequest, slug: str, pk: int) -> Response:
        """Delete the list (team admins)."""
        distribution = access.access_team_distribution_list(request.user, slug, pk, write=True)
        destinations.remove_team_distribution_list(distribution, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RosterArchiveApi(APIView):
    @extend_schema(request=None, responses=RosterOut)
    def post(self, request: ApiRequest, slug: str) -> Response:
        """Archive the roster: it pages nobody and leaves the lists; its history stays."""
        roster = oncall_access.access_roster(request.user, slug, write=True)
        actions.archive_roster(roster, by=request.user)
        return _roster_out(request, rosters_for_schedule().get(pk=roster.pk))


class RosterRestoreApi(APIView):
    @extend_schema(request=None, responses=RosterOut)
    def post(self, request: ApiRequest, slug: str) -> Response:
        roster = oncall_access.access_roster(request.user, slug, write=True)
        actions.restore_roster(roster, by=request.user)
        return _roster_out(request, rosters_for_schedule().get(pk=roster.pk))


class EscalationPolicyApi(APIView):
    @extend_schema(responses=PolicyOut)
    def get(self, request: ApiRequest, slug: str) -> Response:
        return _policy_out(access.access_team(request.user, slug))

    @extend_schema(request=PolicyIn, responses=PolicyOut)
    def put(self, request: ApiRequest, slug: str) -> Response:
        """Replace the policy's steps, in order (team admins). Escalations already
        running keep the steps they started with."""
        team = access.access_team(request.user, slug, write=True)
        data = PolicyIn(data=request.data)
        data.is_valid(raise_exception=True)
        steps = [actions.StepIn(**step) for step in data.validated_data["steps"]]
        actions.save_escalation_policy(
            team, steps=steps, repeat=data.validated_data["repeat"], by=request.user
        )
        return _policy_out(team)


class EscalationPreviewApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "at", type=str, required=False, description="ISO 8601; now when absent."
            )
        ],
        responses=PreviewOut(many=True),
    )
    def get(self, request: ApiRequest, slug: str) -> Response:
        """Who gets paged, and when, for a major incident opened at ``at`` that nobody
        acknowledges."""
        team = access.access_team(request.user, slug)
        query = PreviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        at: Any = query.validated_data.get("at") or timezone.now()
        return Response(PreviewOut(selectors.preview(team, at), many=True).data)
