"""HTML forms: they parse input; the actions decide whether the change is allowed."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from incidents.models import (
    HUMAN_KINDS,
    EntryKind,
    Incident,
    Role,
    Service,
    Severity,
    Status,
)

# To the second: a widget that dropped seconds would make an untouched time look edited.
DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
)


def _form_field(field: models.Field, **kwargs: Any) -> forms.Field:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    form_field = field.formfield(**kwargs)
    assert form_field is not None, f"{field.name} is not editable"
    return form_field


def incident_managers() -> QuerySet:
    """People who may run an incident: everyone with the claim permission."""
    return (
        get_user_model()._default_manager.with_perm("incidents.claim_incident").order_by("username")
    )


def _person(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class IncidentForm(forms.Form):
    """The incident fields of HANDBOOK §1, with the model's help texts.

    A plain form over the model's fields, not a ModelForm: the actions check the rules
    between fields and name the field at fault, where model validation would report a
    violated constraint without one.
    """

    field_names = [
        "summary",
        "description",
        "severity",
        "faulty_service",
        "affected_products",
        "impact_started_at",
        "restricted",
    ]
    widgets: dict[str, type[forms.Widget] | forms.Widget] = {
        "severity": forms.RadioSelect,
        "description": forms.Textarea(attrs={"rows": 4}),
        "affected_products": forms.CheckboxSelectMultiple,
        "impact_started_at": DATETIME_WIDGET,
        "detected_at": DATETIME_WIDGET,
        "impact_ended_at": DATETIME_WIDGET,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(
            forms.fields_for_model(
                Incident,
                fields=self.field_names,
                widgets=self.widgets,
                formfield_callback=_form_field,
            )
        )
        self.fields["affected_products"].required = False
        service = self.fields["faulty_service"]
        service.empty_label = _("Choose the faulty service")  # type: ignore[attr-defined]
        service.queryset = Service.objects.all()  # type: ignore[attr-defined]
        if "impact_started_at" in self.fields:
            self.fields["impact_started_at"].help_text = _(
                "When customers started to feel it, if you know. Your local time."
            )
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = incident_managers()  # type: ignore[attr-defined]
            self.fields["assignee"].label_from_instance = _person  # type: ignore[attr-defined]
            self.fields["assignee"].empty_label = _("Nobody (unassigned)")  # type: ignore[attr-defined]


class IncidentEditForm(IncidentForm):
    field_names = [
        "summary",
        "description",
        "severity",
        "faulty_service",
        "affected_products",
        "assignee",
        "chat_room",
        "video_url",
        "status_doc_url",
        "impact_started_at",
        "detected_at",
        "impact_ended_at",
        "restricted",
    ]

    def __init__(self, *args: Any, instance: Incident, **kwargs: Any) -> None:
        initial = forms.model_to_dict(instance, fields=self.field_names)
        super().__init__(*args, initial=initial, **kwargs)


class TransitionForm(forms.Form):
    to = forms.ChoiceField(
        label=pgettext_lazy("the status an incident moves to", "To"), choices=Status.choices
    )
    impact_ended_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, label=_("Impact ended")
    )


class SeverityForm(forms.Form):
    severity = forms.TypedChoiceField(label=_("Severity"), choices=Severity.choices, coerce=int)
    reason = forms.CharField(label=_("Why"), required=False, max_length=500)


class TimelineEntryForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(kind.value, kind.label) for kind in HUMAN_KINDS],
        initial=EntryKind.NOTE,
    )
    text = forms.CharField(
        label=_("What happened?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000
    )
    occurred_at = forms.DateTimeField(
        required=False,
        widget=DATETIME_WIDGET,
        label=_("When"),
        help_text=_("Leave empty for now; set it to backdate what happened earlier."),
    )


def role_candidates() -> QuerySet:
    """People who may hold a role: responders and incident managers."""
    return get_user_model()._default_manager.with_perm("incidents.take_role").order_by("username")


class RoleAssignForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=role_candidates(), empty_label=_("Choose a person"), label=_("Person")
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.TECH_LEAD)
    custom_name = forms.CharField(
        required=False, max_length=60, label=_("Role name"), help_text=_("For a custom role.")
    )
    scope = forms.CharField(
        required=False,
        max_length=120,
        label=_("Responsible for"),
        help_text=_("Optional: the workstream or audience, e.g. “database failover”."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Evaluated per form, so people added since start-up are offered.
        self.fields["person"].queryset = role_candidates()  # type: ignore[attr-defined]
        self.fields["person"].label_from_instance = _person  # type: ignore[attr-defined]


class RoleHandOverForm(forms.Form):
    to = forms.ModelChoiceField(
        queryset=role_candidates(), empty_label=_("Hand over to…"), label=_("Hand over to")
    )
    note = forms.CharField(
        required=False,
        max_length=500,
        label=_("Note"),
        help_text=_("What the next holder needs to know."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = role_candidates()  # type: ignore[attr-defined]
        self.fields["to"].label_from_instance = _person  # type: ignore[attr-defined]


class _OwnIds:
    """Several forms share one page (the status document): each gets its own element
    ids, so labels point at the right field; field names stay as the actions expect."""

    id_prefix = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
