from django.conf import settings
from django.contrib.auth.models import User
from rest_framework import serializers

from incidents.models import Product, Team

from .actions import EDITABLE_FIELDS
from .models import (
    Audience,
    Communication,
    Component,
    ComponentStatus,
    DistributionList,
    Kind,
    StatusPageIncident,
)


class CommunicationOut(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.key")
    author = serializers.CharField(source="author.username")
    reviewer = serializers.CharField(source="reviewer.username", default=None)
    review_requested_from = serializers.CharField(
        source="review_requested_from.username", default=None
    )
    published_by = serializers.CharField(source="published_by.username", default=None)
    subject = serializers.CharField()

    class Meta:
        model = Communication
        fields = [
            "id",
            "incident",
            "audience",
            "kind",
            "state",
            "subject",
            *EDITABLE_FIELDS,
            "author",
            "review_requested_from",
            "reviewer",
            "published_by",
            "created_at",
            "published_at",
        ]


class CommunicationUpdateIn(serializers.ModelSerializer):
    class Meta:
        model = Communication
        fields: tuple[str, ...] = EDITABLE_FIELDS


class DraftIn(CommunicationUpdateIn):
    audience = serializers.ChoiceField(choices=Audience.choices)
    kind = serializers.ChoiceField(choices=Kind.choices)

    class Meta(CommunicationUpdateIn.Meta):
        fields = ("audience", "kind", *EDITABLE_FIELDS)
        extra_kwargs = {"summary": {"required": False}}


class ReviewIn(serializers.Serializer):
    reviewer = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True)
    )


class StatusPageIncidentOut(serializers.ModelSerializer):
    incident = serializers.CharField(source="incident.key")
    products: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )

    class Meta:
        model = StatusPageIncident
        fields = [
            "id",
            "incident",
            "audience",
            "name",
            "status",
            "products",
            "created_at",
            "updated_at",
            "resolved_at",
        ]


class ComponentOut(serializers.ModelSerializer):
    product: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    name = serializers.CharField(source="product.name")

    class Meta:
        model = Component
        fields = ["product", "name", "status", "updated_at"]


class ComponentIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=ComponentStatus.choices)


class SubscribeIn(serializers.Serializer):
    email = serializers.EmailField()
    products = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        required=False,
        queryset=Product.objects.filter(shown_on_status_page=True),
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        allow_blank=True,
        help_text="The language of its mail; empty: the status page's default.",
    )


class DistributionListSerializer(serializers.ModelSerializer):
    teams = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Team.objects.all(), required=False
    )

    class Meta:
        model = DistributionList
        fields = ["id", "name", "addresses", "teams", "is_default", "language"]
