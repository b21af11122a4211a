"""API shapes: plain JSON a script can write by hand (slugs and usernames, not ids)."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from incidents.forms import role_candidates
from incidents.models import (
    Experiment,
    IncidentChange,
    Theory,
    TheoryState,
)
from incidents.serializers import EntryTextField
from incidents.workspace.forms import ASSESSMENT_FIELD_NAMES
from incidents.workspace.models import Assessment, ServiceChange, ServiceChangeKind, Workstream


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
            "details",
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
    what = EntryTextField(source="entry")
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
    text = EntryTextField(source="entry")
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
