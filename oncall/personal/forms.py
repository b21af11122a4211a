"""Forms of the personal on-call pages: they parse input; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..forms import DATETIME_WIDGET
from ..models import ContactMethod, Roster
from .models import MAX_DELAY_MINUTES, Chain


class RuleForm(forms.Form):
    chain = forms.ChoiceField(choices=Chain.choices, label=_("Chain"))
    method = forms.ModelChoiceField(
        queryset=ContactMethod.objects.none(), label=_("Contact method")
    )
    delay_minutes = forms.IntegerField(
        min_value=0,
        max_value=MAX_DELAY_MINUTES,
        initial=0,
        label=_("After (minutes)"),
        help_text=_("Minutes after the page, if nobody acknowledged it by then."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = ContactMethod.objects.filter(user=user)  # type: ignore[attr-defined]


class TestPageForm(forms.Form):
    chain = forms.ChoiceField(choices=Chain.choices, label=_("Chain"), initial=Chain.MAJOR)


class SwapForm(forms.Form):
    roster = forms.ModelChoiceField(
        queryset=Roster.objects.order_by("name"), to_field_name="slug", label=_("Roster")
    )
    starts_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("From"))
    ends_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Until"))
    note = forms.CharField(max_length=200, required=False, label=_("Note"))


class PeriodForm(forms.Form):
    since = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False,
        label=pgettext_lazy("the end of a period", "To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end of the period comes before its start."))
        if since and until and (until - since).days > 366:
            self.add_error("until", _("Choose a period of at most a year."))
        return data
