from rest_framework import serializers

from ..models import Maintenance, MaintenanceUpdate
from .actions import plannable_products


class MaintenanceUpdateOut(serializers.ModelSerializer):
    by = serializers.CharField(
        source="by.username", default=None, help_text="Null for the automatic start and end."
    )

    class Meta:
        model = MaintenanceUpdate
        fields = ["status", "body", "by", "created_at"]


class MaintenanceOut(serializers.ModelSerializer):
    products: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    created_by = serializers.CharField(source="created_by.username")
    updates = MaintenanceUpdateOut(many=True, read_only=True)
    public_id = serializers.CharField(help_text="Its id in the Statuspage JSON.")

    class Meta:
        model = Maintenance
        fields = [
            "id",
            "public_id",
            "title",
            "message",
            "products",
            "starts_at",
            "ends_at",
            "status",
            "created_by",
            "created_at",
            "updated_at",
            "started_at",
            "ended_at",
            "updates",
        ]


class MaintenanceIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    message = serializers.CharField()
    products = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        queryset=plannable_products(),
        allow_empty=False,
        help_text="Slugs of products shown on the public status page.",
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
