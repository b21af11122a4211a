"""The incident filters, shared by the portal list and the API list."""

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from .models import OPEN_STATUSES, Incident, Product, Service, Severity, Status, Team

OPEN = "open"


class IncidentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=[(OPEN, "Open (new or fixing)"), *Status.choices],
        method="filter_status",
        empty_label="Any status",
    )
    severity = filters.ChoiceFilter(choices=Severity.choices, empty_label="Any severity")
    service = filters.ModelChoiceFilter(
        field_name="faulty_service",
        queryset=Service.objects.all(),
        to_field_name="slug",
        empty_label="Any service",
    )
    product = filters.ModelChoiceFilter(
        field_name="affected_products",
        queryset=Product.objects.all(),
        to_field_name="slug",
        empty_label="Any product",
    )
    team = filters.ModelChoiceFilter(
        field_name="faulty_service__team",
        queryset=Team.objects.all(),
        to_field_name="slug",
        empty_label="Any team",
    )
    q = filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Incident
        fields = ["status", "severity", "service", "product", "team", "q"]

    def filter_status(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet:
        if value == OPEN:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.filter(status=value)

    def search(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(key__iexact=value) | Q(summary__icontains=value) | Q(description__icontains=value)
        )
