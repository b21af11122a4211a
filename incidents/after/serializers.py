"""API shapes: plain JSON a script can write by hand (slugs and usernames, not ids)."""

from rest_framework import serializers

from incidents.after.models import CleanupTask, Review
from incidents.forms import role_candidates


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
