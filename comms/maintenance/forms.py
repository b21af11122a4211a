from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import Maintenance
from .actions import plannable_products

WHEN = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MaintenanceForm(forms.Form):
    """Parses what a person typed; every rule about windows lives in the actions."""

    title = forms.CharField(label=_("Title"), max_length=200)
    message = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What customers should expect: shown on the status page and mailed."),
    )
    products = forms.ModelMultipleChoiceField(
        label=_("Products"),
        queryset=plannable_products(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Under maintenance on the status page while the window runs."),
    )
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=WHEN, help_text=_("In your time zone.")
    )
    ends_at = forms.DateTimeField(label=_("Ends at"), widget=WHEN)

    @classmethod
    def of(cls, maintenance: Maintenance) -> "MaintenanceForm":
        return cls(
            initial={
                "title": maintenance.title,
                "message": maintenance.message,
                "products": list(maintenance.products.all()),
                "starts_at": maintenance.starts_at,
                "ends_at": maintenance.ends_at,
            }
        )
