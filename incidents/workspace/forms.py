"""HTML forms: they parse input; the actions decide whether the change is allowed."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.forms import DATETIME_WIDGET, _form_field, _OwnIds, _person, role_candidates
from incidents.models import (
    Incident,
    Theory,
    TheoryState,
)
from incidents.workspace.models import Assessment, WorkstreamState

# The answers of HANDBOOK §4, in the order the IM is asked them.
ASSESSMENT_FIELD_NAMES = (
    "customer_experience",
    "external_impact",
    "internal_impact",
    "affected",
    "affected_count",
    "started_at",
    "support_cases",
    "social_media",
    "security",
    "data_loss",
    "other_factors",
)


class AssessmentForm(forms.Form):
    """Parses the answers; ``actions.save_assessment`` checks them and keeps revisions."""

    widgets: dict[str, type[forms.Widget] | forms.Widget] = {
        "internal_impact": forms.Textarea(attrs={"rows": 2}),
        "external_impact": forms.Textarea(attrs={"rows": 2}),
        "customer_experience": forms.Textarea(attrs={"rows": 2}),
        "other_factors": forms.Textarea(attrs={"rows": 2}),
        "affected": forms.RadioSelect,
        "started_at": DATETIME_WIDGET,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(
            forms.fields_for_model(
                Assessment,
                fields=ASSESSMENT_FIELD_NAMES,
                widgets=self.widgets,
                formfield_callback=_form_field,
            )
        )


class ChangeForm(_OwnIds, forms.Form):
    """A row of the changes table: who and when come from the signed-in person and "When"."""

    id_prefix = "change"

    text = forms.CharField(
        label=_("What changed"), widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000
    )
    how = forms.CharField(
        label=_("How"),
        required=False,
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The command, console or pull request."),
    )
    why = forms.CharField(
        label=_("Why"), required=False, max_length=2_000, help_text=_("The theory or decision.")
    )
    undo = forms.CharField(
        required=False,
        max_length=2_000,
        label=_("How to undo it"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    occurred_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, label=_("When"), help_text=_("Empty for now.")
    )


class TheoryForm(_OwnIds, forms.Form):
    id_prefix = "theory"
    text = forms.CharField(
        label=_("Theory"), widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000
    )
    occurred_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, label=_("When"), help_text=_("Empty for now.")
    )


class ExperimentForm(_OwnIds, forms.Form):
    id_prefix = "experiment"
    text = forms.CharField(
        label=_("Experiment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        help_text=_("What you will try, and what result proves or disproves the theory."),
    )
    theory = forms.ModelChoiceField(
        label=_("Theory"),
        queryset=Theory.objects.none(),
        required=False,
        empty_label=_("No theory (exploring)"),
    )
    occurred_at = forms.DateTimeField(
        required=False, widget=DATETIME_WIDGET, label=_("When"), help_text=_("Empty for now.")
    )

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        theory = self.fields["theory"]
        theory.queryset = incident.theories.select_related("entry")  # type: ignore[attr-defined]
        theory.label_from_instance = lambda theory: theory.entry.text[:80]  # type: ignore[attr-defined]


class TheoryDecisionForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=TheoryState.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=2_000)


class WorkstreamForm(_OwnIds, forms.Form):
    id_prefix = "workstream"
    name = forms.CharField(label=_("Name"), max_length=120)
    goal = forms.CharField(
        label=_("Goal"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    lead = forms.ModelChoiceField(
        label=_("Lead"), queryset=role_candidates(), required=False, empty_label=_("No lead yet")
    )
    state = forms.ChoiceField(
        label=_("State"), choices=WorkstreamState.choices, initial=WorkstreamState.ACTIVE
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = role_candidates()  # type: ignore[attr-defined]
        self.fields["lead"].label_from_instance = _person  # type: ignore[attr-defined]


class EntryEditForm(forms.Form):
    text = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000
    )
    occurred_at = forms.DateTimeField(widget=DATETIME_WIDGET, label=_("When"))
