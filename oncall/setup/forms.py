"""HTML forms of the team set-up pages: they parse input; the actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comms.models import ChatFormat

from ..forms import DATETIME_WIDGET
from ..models import Roster, ShiftUnit, StepKind, validate_time_zone
from . import actions, selectors


class UsernamesField(forms.CharField):
    """Usernames, one per line, as active users in the order given."""

    widget = forms.Textarea(attrs={"rows": 4})

    def clean(self, value: Any) -> list[User]:
        text = super().clean(value) or ""
        names = [line.strip() for line in text.splitlines() if line.strip()]
        users = {
            user.username: user for user in User.objects.filter(username__in=names, is_active=True)
        }
        unknown = [name for name in names if name not in users]
        if unknown:
            raise forms.ValidationError(
                _("No such user: %(names)s.") % {"names": ", ".join(unknown)}
            )
        if len(set(names)) != len(names):
            raise forms.ValidationError(_("Name each person once."))
        return [users[name] for name in names]


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    email = forms.EmailField(
        label=_("Contact e-mail"),
        required=False,
        help_text=_("Severity-3 incidents of the team's services are e-mailed here."),
    )


class PeopleForm(forms.Form):
    people = UsernamesField(
        label=_("People"), required=False, help_text=_("One username per line.")
    )


class RosterCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    participants = UsernamesField(
        label=_("Participants"),
        required=False,
        help_text=_("One username per line, in the order they take their shifts."),
    )
    shift_length = forms.IntegerField(
        label=_("Shift length"), min_value=1, max_value=1000, initial=1
    )
    shift_unit = forms.ChoiceField(
        label=_("Shift unit"), choices=ShiftUnit.choices, initial=ShiftUnit.WEEKS
    )
    handoff_time = forms.TimeField(
        label=_("Hand-off time"), initial="09:00", widget=forms.TimeInput(attrs={"type": "time"})
    )
    start_date = forms.DateField(
        label=_("First shift on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Today when left empty."),
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        initial="UTC",
        validators=[validate_time_zone],
        help_text=_("IANA name, e.g. Europe/Paris."),
    )


class ChatWebhookForm(forms.Form):
    url = forms.CharField(
        label=_("Chat webhook URL"),
        max_length=500,
        help_text=_("Incoming-webhook address of the team's channel; kept secret, shown by host."),
    )
    format = forms.ChoiceField(label=_("Format"), choices=ChatFormat.choices)


class PolicyForm(forms.Form):
    repeat = forms.IntegerField(
        label=_("Repeat"),
        min_value=0,
        max_value=actions.MAX_REPEAT,
        initial=0,
        help_text=_("How many more times the steps run before the IMOC is paged."),
    )


class StepForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Then"), choices=[("", "—"), *StepKind.choices], required=False
    )
    wait_minutes = forms.IntegerField(
        label=_("Wait (minutes)"), min_value=1, max_value=actions.MAX_WAIT_MINUTES, required=False
    )
    roster = forms.ModelChoiceField(
        label=_("Roster"),
        queryset=Roster.objects.active().order_by("name"),
        to_field_name="slug",
        required=False,
    )
    user = forms.ModelChoiceField(
        label=_("Person"),
        queryset=User.objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") and not data.get("wait_minutes"):
            self.add_error("wait_minutes", _("Say how long to wait before this step."))
        return data

    def step(self) -> actions.StepIn | None:
        """The step asked for; None for a row left empty or marked for removal."""
        data = self.cleaned_data
        if not data.get("kind") or data.get("DELETE"):
            return None
        return actions.StepIn(
            kind=data["kind"],
            wait_minutes=data["wait_minutes"],
            roster=data.get("roster"),
            user=data.get("user"),
        )


# ``can_order``: each row's "Order" number moves it; rows without one keep their place.
StepFormSet = forms.formset_factory(
    StepForm, extra=2, can_delete=True, can_order=True, max_num=actions.MAX_STEPS
)


class PreviewForm(forms.Form):
    at = forms.DateTimeField(
        label=_("Incident opened at"),
        required=False,
        widget=DATETIME_WIDGET,
        help_text=_("Now when left empty."),
    )

    def clean_at(self) -> Any:
        at = self.cleaned_data.get("at")
        problem = selectors.preview_time_problem(at, timezone.now()) if at else None
        if problem:
            raise forms.ValidationError(problem)
        return at
