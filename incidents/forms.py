"""HTML forms: they parse input; the actions decide whether the change is allowed."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet

from .models import HUMAN_KINDS, EntryKind, Incident, Service, Severity, Status

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
        service.empty_label = "Choose the faulty service"  # type: ignore[attr-defined]
        service.queryset = Service.objects.all()  # type: ignore[attr-defined]
        if "impact_started_at" in self.fields:
            self.fields[
                "impact_started_at"
            ].help_text = "When customers started to feel it, if you know. Your local time."
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = incident_managers()  # type: ignore[attr-defined]
            self.fields["assignee"].label_from_instance = _person  # type: ignore[attr-defined]
            self.fields["assignee"].empty_label = "Nobody (unassigned)"  # type: ignore[attr-defined]


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
    to = forms.ChoiceField(choices=Status.choices)
    impact_ended_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, label="Impact ended"
    )


class SeverityForm(forms.Form):
    severity = forms.TypedChoiceField(choices=Severity.choices, coerce=int)
    reason = forms.CharField(required=False, max_length=500)


class TimelineEntryForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind.value, kind.label) for kind in HUMAN_KINDS], initial=EntryKind.NOTE
    )
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000)
    occurred_at = forms.DateTimeField(
        required=False,
        widget=DATETIME_WIDGET,
        label="When",
        help_text="Leave empty for now; set it to backdate what happened earlier.",
    )
