"""The integration form of the admin page: it parses input; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.models import Product, Service, Severity


class IntegrationForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="E.g. the tool and environment: Prometheus prod."
    )
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    default_severity = forms.TypedChoiceField(
        choices=Severity.choices,
        coerce=int,
        initial=Severity.MINOR,
        help_text="For alerts that name no severity the mapping knows.",
    )
    affected_products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.order_by("name"), required=False
    )

    def __init__(self, *args: Any, services: list[Service], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(  # type: ignore[attr-defined]
            pk__in=[service.pk for service in services]
        ).order_by("name")
