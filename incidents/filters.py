"""The incident filters, shared by the portal list and the API list."""

from datetime import date

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from incidents import periods
from incidents.models import OPEN_STATUSES, Incident, Product, Service, Severity, Status, Team

OPEN = "open"


class IncidentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=[(OPEN, _("Open (new or fixing)")), *Status.choices],
        method="filter_status",
        empty_label=_("Any status"),
    )
    severity = filters.ChoiceFilter(choices=Severity.choices, empty_label=_("Any severity"))
    service = filters.ModelChoiceFilter(
        field_name="faulty_service",
        queryset=Service.objects.all(),
        to_field_name="slug",
        empty_label=_("Any service"),
    )
    product = filters.ModelChoiceFilter(
        field_name="affected_products",
        queryset=Product.objects.all(),
        to_field_name="slug",
        empty_label=_("Any product"),
    )
    team = filters.ModelChoiceFilter(
        field_name="faulty_service__team",
        queryset=Team.objects.all(),
        to_field_name="slug",
        empty_label=_("Any team"),
    )
    q = filters.CharFilter(method="search", label=_("Search"))
    # The metrics page links here for the incidents missing their times in its period.
    missing = filters.ChoiceFilter(
        choices=[("times", _("Missing impact or detection times"))],
        method="filter_missing",
        empty_label=_("Times filled in or not"),
    )
    since = filters.DateFilter(method="filter_since", label=_("Impact started on or after"))
    until = filters.DateFilter(method="filter_until", label=_("Impact started on or before"))

    class Meta:
        model = Incident
        fields = [
            "status",
            "severity",
            "service",
            "product",
            "team",
            "q",
            "missing",
            "since",
            "until",
        ]

    def filter_status(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet:
        if value == OPEN:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.filter(status=value)

    def filter_missing(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet:
        return queryset.filter(periods.MISSING_TIMES) if value else queryset

    def filter_since(self, queryset: QuerySet[Incident], name: str, value: date) -> QuerySet:
        return periods.in_period(queryset, since=value)

    def filter_until(self, queryset: QuerySet[Incident], name: str, value: date) -> QuerySet:
        return periods.in_period(queryset, until=value)

    def search(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(key__iexact=value) | Q(summary__icontains=value) | Q(description__icontains=value)
        )
