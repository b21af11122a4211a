"""API shapes: plain JSON a script can write by hand (slugs and usernames, not ids)."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .forms import ASSESSMENT_FIELD_NAMES, incident_managers, role_candidates
from .models import (
    HUMAN_KINDS,
    Assessment,
    CleanupTask,
    Experiment,
    Incident,
    IncidentChange,
    Product,
    Review,
    Role,
    RoleAssignment,
    Service,
    ServiceChange,
    ServiceChangeKind,
    Severity,
    Status,
    Team,
    Theory,
    TheoryState,
    TimelineEntry,
    Workstream,
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


class TimelineEntryOut(serializers.ModelSerializer):
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

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


class AssessmentOut(serializers.ModelSerializer):
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    suggested_severity = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Assessment
        fields = ["revision", *ASSESSMENT_FIELD_NAMES, "suggested_severity", "author", "created_at"]
        read_only_fields = fields


class AssessmentIn(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = list(ASSESSMENT_FIELD_NAMES)


class ServiceChangeIn(serializers.Serializer):
    """A change report from CI/CD; the token names the service."""

    service = serializers.SlugField(
        required=False, help_text="Optional check: must be the token's service."
    )
    summary = serializers.CharField(max_length=300)
    kind = serializers.ChoiceField(choices=ServiceChangeKind.choices, default="deploy")
    author = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    happened_at = serializers.DateTimeField(required=False, allow_null=True)
    url = serializers.URLField(max_length=500, required=False, default="", allow_blank=True)
    external_id = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )


class ServiceChangeOut(serializers.ModelSerializer):
    service: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = ServiceChange
        fields = [
            "id",
            "service",
            "kind",
            "summary",
            "author",
            "happened_at",
            "url",
            "external_id",
            "reported_at",
        ]
        read_only_fields = fields


class NearbyChangeOut(serializers.Serializer):
    change = ServiceChangeOut()
    offset_seconds = serializers.SerializerMethodField()
    suspected = serializers.BooleanField()
    rolled_back = serializers.BooleanField()

    def get_offset_seconds(self, row: Any) -> int:
        return int(row.offset.total_seconds())


class ChangeIn(serializers.Serializer):
    """A row of the status document's changes table, logged by a responder."""

    text = serializers.CharField(max_length=10_000)
    how = serializers.CharField(max_length=2_000, required=False, default="", allow_blank=True)
    why = serializers.CharField(max_length=2_000, required=False, default="", allow_blank=True)
    undo = serializers.CharField(max_length=2_000, required=False, default="", allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)


class IncidentChangeOut(serializers.ModelSerializer):
    what = serializers.CharField(source="entry.text", read_only=True)
    occurred_at = serializers.DateTimeField(source="entry.occurred_at", read_only=True)
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        source="entry.author", slug_field="username", read_only=True
    )
    undone_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = IncidentChange
        fields = [
            "id",
            "what",
            "occurred_at",
            "author",
            "how",
            "why",
            "undo",
            "undone_at",
            "undone_by",
            "rolls_back",
        ]
        read_only_fields = fields


class ExperimentOut(serializers.ModelSerializer):
    text = serializers.CharField(source="entry.text", read_only=True)
    occurred_at = serializers.DateTimeField(source="entry.occurred_at", read_only=True)
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        source="entry.author", slug_field="username", read_only=True
    )

    class Meta:
        model = Experiment
        fields = ["id", "theory", "text", "occurred_at", "author"]
        read_only_fields = fields


class TheoryOut(serializers.ModelSerializer):
    text = serializers.CharField(source="entry.text", read_only=True)
    occurred_at = serializers.DateTimeField(source="entry.occurred_at", read_only=True)
    author: serializers.SlugRelatedField = serializers.SlugRelatedField(
        source="entry.author", slug_field="username", read_only=True
    )
    decided_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    experiments = ExperimentOut(many=True, read_only=True)

    class Meta:
        model = Theory
        fields = [
            "id",
            "text",
            "state",
            "occurred_at",
            "author",
            "decided_at",
            "decided_by",
            "suspects",
            "experiments",
        ]
        read_only_fields = fields


class TheoryIn(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)


class TheoryDecisionIn(serializers.Serializer):
    state = serializers.ChoiceField(choices=TheoryState.choices)
    note = serializers.CharField(max_length=2_000, required=False, default="", allow_blank=True)


class ExperimentIn(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)
    theory = serializers.IntegerField(required=False, allow_null=True)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)


class WorkstreamSerializer(serializers.ModelSerializer):
    lead: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", queryset=role_candidates(), required=False, allow_null=True
    )

    class Meta:
        model = Workstream
        fields = ["id", "name", "goal", "lead", "state", "created_at"]
        read_only_fields = ["id", "created_at"]


class EntryEditIn(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)


class CleanupTaskSerializer(serializers.ModelSerializer):
    owner: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", queryset=role_candidates(), required=False, allow_null=True
    )
    done_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)

    class Meta:
        model = CleanupTask
        fields = ["id", "title", "owner", "due", "link", "done_at", "done_by", "overdue"]
        read_only_fields = ["id", "done_at", "done_by", "overdue"]


class DoneIn(serializers.Serializer):
    done = serializers.BooleanField(default=True)


class ReviewOut(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    updated_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Review
        fields = ["body", "created_by", "created_at", "updated_by", "updated_at", "completed_at"]
        read_only_fields = fields


class ReviewIn(serializers.Serializer):
    body = serializers.CharField()


class BreakIn(serializers.Serializer):
    person: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model()._default_manager.all()
    )
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class ResponderLoadOut(serializers.Serializer):
    person = serializers.CharField(source="person.username")
    roles = serializers.ListField(child=serializers.CharField())
    on_incident_since = serializers.DateTimeField()
    rested_at = serializers.DateTimeField(allow_null=True)
    awake_seconds = serializers.SerializerMethodField()
    pages_24h = serializers.IntegerField(allow_null=True)
    level = serializers.CharField()
    next_up = serializers.CharField(source="next_up.username", allow_null=True, default=None)

    def get_awake_seconds(self, load: Any) -> int:
        return int(load.awake_for.total_seconds())
