"""HTML forms of the on-call pages: they parse input; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from .models import ContactKind, Roster, ShiftUnit, validate_time_zone

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class EffectiveForm(forms.Form):
    """When a rotation change takes effect: ``cleaned_data["effective"]`` is
    ``"next_handoff"``, ``"now"`` or a datetime, as ``actions.change_rotation`` takes it."""

    effective = forms.ChoiceField(
        choices=[
            ("next_handoff", _("At the next hand-off")),
            ("now", _("Now")),
            ("at", _("From a date and time")),
        ],
        initial="next_handoff",
        required=False,
        widget=forms.RadioSelect,
        label=_("Takes effect"),
        help_text=_("Shifts already worked never change."),
    )
    effective_at = forms.DateTimeField(widget=DATETIME_WIDGET, required=False, label=_("From"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("effective") or "next_handoff"
        when = data.pop("effective_at", None)
        if choice == "at":
            if when is None:
                self.add_error("effective_at", _("Choose when the change takes effect."))
            data["effective"] = when
        else:
            data["effective"] = choice
        return data


class RosterSettingsForm(EffectiveForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    shift_length = forms.IntegerField(label=_("Shift length"), min_value=1, max_value=1000)
    shift_unit = forms.ChoiceField(label=_("Shift unit"), choices=ShiftUnit.choices)
    handoff_time = forms.TimeField(
        label=_("Handoff time"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        validators=[validate_time_zone],
        help_text=_("IANA name, e.g. Europe/Paris."),
    )
    field_order = ["name", "shift_length", "shift_unit", "handoff_time", "time_zone"]


class ParticipantsForm(EffectiveForm):
    participants = forms.CharField(
        label=_("Participants"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("One username per line, in the order they take their shifts."),
    )
    field_order = ["participants"]

    def clean_participants(self) -> list[User]:
        names = [line.strip() for line in self.cleaned_data["participants"].splitlines()]
        names = [name for name in names if name]
        users = {user.username: user for user in User.objects.filter(username__in=names)}
        unknown = [name for name in names if name not in users]
        if unknown:
            raise forms.ValidationError(
                _("No such user: %(names)s.") % {"names": ", ".join(unknown)}
            )
        return [users[name] for name in names]


class OverrideForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        label=_("Who covers"),
    )
    starts_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("From"))
    ends_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("Until"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ContactMethodForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactKind.choices)
    target = forms.CharField(max_length=500, label=_("Address or URL"))
    secret = forms.CharField(
        label=_("Secret"),
        max_length=100,
        required=False,
        help_text=_("Signs generic webhooks (HMAC-SHA256)."),
    )


class ManualPageForm(forms.Form):
    roster = forms.ModelChoiceField(
        queryset=Roster.objects.active().order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label=_("(a person instead)"),
        label=_("On call for"),
    )
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        required=False,
        label=_("Or a person"),
    )
    message = forms.CharField(
        label=_("Message"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
