"""API shapes: plain JSON a script can write by hand (slugs and usernames, not ids)."""

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents import entry_texts
from incidents.follow_ups import NextStep
from incidents.forms import incident_managers, role_candidates
from incidents.models import (
    HUMAN_KINDS,
    Incident,
    Product,
    Role,
    RoleAssignment,
    Service,
    Severity,
    Status,
    Team,
    TimelineEntry,
)


class IncidentOut(serializers.ModelSerializer):
    faulty_service: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    affected_products: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, slug_field="slug", read_only=True
    )
    assignee: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    ttd_seconds = serializers.SerializerMethodField()
    ttr_seconds = serializers.SerializerMethodField()
    # Support cases labelled with the key: annotated (``with_case_count``), never a query.
    case_count = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "key",
            "summary",
            "description",
            "severity",
            "status",
            "faulty_service",
            "affected_products",
            "assignee",
            "restricted",
            "chat_room",
            "video_url",
            "status_doc_url",
            "impact_started_at",
            "detected_at",
            "impact_ended_at",
            "ttd_seconds",
            "ttr_seconds",
            "case_count",
            "created_by",
            "created_at",
            "updated_at",
            "url",
        ]
        read_only_fields = fields

    def get_ttd_seconds(self, incident: Incident) -> int | None:
        return int(incident.ttd.total_seconds()) if incident.ttd is not None else None

    def get_ttr_seconds(self, incident: Incident) -> int | None:
        return int(incident.ttr.total_seconds()) if incident.ttr is not None else None

    def get_url(self, incident: Incident) -> str:
        return self.context["request"].build_absolute_uri(incident.get_absolute_url())


class IncidentCreateIn(serializers.Serializer):
    summary = serializers.CharField(max_length=200)
    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    faulty_service: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all()
    )
    affected_products: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, slug_field="slug", queryset=Product.objects.all(), required=False
    )
    restricted = serializers.BooleanField(required=False, default=False)
    impact_started_at = serializers.DateTimeField(required=False, allow_null=True)
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    chat_room = serializers.CharField(max_length=80, required=False, allow_blank=True)
    video_url = serializers.URLField(required=False, allow_blank=True)
    status_doc_url = serializers.URLField(required=False, allow_blank=True)


class IncidentUpdateIn(IncidentCreateIn):
    impact_ended_at = serializers.DateTimeField(required=False, allow_null=True)
    assignee: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username",
        queryset=incident_managers(),
        required=False,
        allow_null=True,
    )


class TransitionIn(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices)
    impact_ended_at = serializers.DateTimeField(required=False, allow_null=True)


class NextStepOut(serializers.Serializer):
    """Something left to do after the change (``incidents.follow_ups.NextStep``)."""

    kind = serializers.CharField(help_text='What to do, for clients: "final_update".')
    text = serializers.CharField(help_text="What is still wrong and what to do, for people.")
    url = serializers.SerializerMethodField(help_text="The portal page where it is done.")
    action = serializers.CharField(help_text="The button's words in the portal.")

    def get_url(self, step: NextStep) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(step.url) if request else step.url


class IncidentTransitionOut(IncidentOut):
    """The incident after a status change, and what is left to do because of it (empty
    when nothing is): resolving leaves the public status page's final update."""

    next_steps = serializers.SerializerMethodField()

    class Meta(IncidentOut.Meta):
        fields = [*IncidentOut.Meta.fields, "next_steps"]

    @extend_schema_field(NextStepOut(many=True))
    def get_next_steps(self, incident: Incident) -> list[dict[str, Any]]:
        steps = self.context.get("next_steps", [])
        return list(NextStepOut(steps, many=True, context=self.context).data)


class EntryTextField(serializers.CharField):
    """An entry's text as people read it: a system entry in the request's language
    (``entry_texts``), people's words as written. ``kind`` and ``data`` stay machine values."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return entry_texts.render(value)


class TimelineEntryOut(serializers.ModelSerializer):
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    text = EntryTextField(source="*")

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "text", "author", "occurred_at", "recorded_at", "data"]
        read_only_fields = fields


class TimelineEntryIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in HUMAN_KINDS])
    text = serializers.CharField(max_length=10_000)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.SlugRelatedField(
        many=True,
        slug_field="username",
        queryset=get_user_model()._default_manager.all(),
        required=False,
    )

    class Meta:
        model = Team
        fields = ["name", "slug", "email", "members"]


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Service
        fields = ["name", "slug", "team"]


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["name", "slug", "description", "shown_on_status_page"]


class RoleAssignmentOut(serializers.ModelSerializer):
    person: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    assigned_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    ended_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # a field named label, not Field.label
    current = serializers.BooleanField(source="is_current", read_only=True)

    class Meta:
        model = RoleAssignment
        fields = [
            "id",
            "role",
            "custom_name",
            "label",
            "scope",
            "person",
            "current",
            "started_at",
            "ended_at",
            "assigned_by",
            "ended_by",
        ]
        read_only_fields = fields


class RoleAssignIn(serializers.Serializer):
    person: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", queryset=role_candidates()
    )
    role = serializers.ChoiceField(choices=Role.choices)
    custom_name = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    scope = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)


class RoleHandOverIn(serializers.Serializer):
    to: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", queryset=role_candidates()
    )
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
