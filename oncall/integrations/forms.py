"""The integration form of the admin page: it parses input; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.models import Product, Service, Severity

from ..forms import DATETIME_WIDGET
from .models import MAX_STORM_THRESHOLD, MAX_STORM_WINDOW, Integration


class IntegrationForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label=_("Name"),
        help_text=_("E.g. the tool and environment: Prometheus prod."),
    )
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Service"))
    default_severity = forms.TypedChoiceField(
        choices=Severity.choices,
        coerce=int,
        initial=Severity.MINOR,
        label=_("Default severity"),
        help_text=_("For alerts that name no severity the mapping knows."),
    )
    affected_products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.order_by("name"), required=False, label=_("Affected products")
    )

    def __init__(self, *args: Any, services: list[Service], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(  # type: ignore[attr-defined]
            pk__in=[service.pk for service in services]
        ).order_by("name")


class StormForm(forms.Form):
    """When new alert groups fold into one alert storm incident; blank or 0: never."""

    storm_threshold = forms.IntegerField(
        min_value=0,
        max_value=MAX_STORM_THRESHOLD,
        required=False,
        label=_("Fold when more new alert groups than"),
        help_text=_("0 or blank turns folding off."),
    )
    storm_window = forms.IntegerField(
        min_value=1, max_value=MAX_STORM_WINDOW, label=_("Within (minutes)")
    )

    def clean_storm_threshold(self) -> int:
        return self.cleaned_data.get("storm_threshold") or 0


class HeartbeatForm(forms.Form):
    interval_minutes = forms.IntegerField(
        min_value=1,
        max_value=31 * 24 * 60,
        label=_("Ping expected every (minutes)"),
        help_text=_("How often your job or monitor calls the URL."),
    )
    grace_minutes = forms.IntegerField(
        min_value=0,
        max_value=24 * 60,
        initial=5,
        label=_("Grace (minutes)"),
        help_text=_("How late a ping may be before it counts as missed and opens an alert."),
    )


class MaintenanceForm(forms.Form):
    """``target`` is "service:<id>" (all its integrations) or "integration:<id>";
    ``cleaned_data`` has ``service`` and ``integration`` as the action takes them."""

    target = forms.ChoiceField(
        label=_("For"), help_text=_("A whole service (all its integrations), or one integration.")
    )
    starts_at = forms.DateTimeField(
        widget=DATETIME_WIDGET,
        required=False,
        label=_("From"),
        help_text=_("Leave empty to start now."),
    )
    ends_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Until"))
    reason = forms.CharField(
        max_length=300,
        label=_("Reason"),
        help_text=_("Shown beside the alerts received meanwhile."),
    )

    def __init__(self, *args: Any, services: list[Service], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.services = {service.pk: service for service in services}
        self.integrations = {
            integration.pk: integration
            for integration in Integration.objects.filter(service__in=services)
            .select_related("service")
            .order_by("service__name", "name")
        }
        choices: list[tuple[str, Any]] = [("", "---------")]
        for service in services:
            options = [
                (f"service:{service.pk}", _("%(name)s: all integrations") % {"name": service.name})
            ]
            options += [
                (f"integration:{integration.pk}", f"{service.name}: {integration.name}")
                for integration in self.integrations.values()
                if integration.service_id == service.pk
            ]
            choices.append((service.name, options))
        self.fields["target"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, _sep, pk = cleaned.pop("target", "").partition(":")
        cleaned["service"] = self.services.get(int(pk)) if kind == "service" else None
        cleaned["integration"] = self.integrations.get(int(pk)) if kind == "integration" else None
        return cleaned
