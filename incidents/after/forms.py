"""HTML forms: they parse input; the actions decide whether the change is allowed."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.forms import _OwnIds, _person, role_candidates


class CleanupTaskForm(_OwnIds, forms.Form):
    id_prefix = "cleanup"
    title = forms.CharField(
        label=_("Title"), max_length=200, help_text=_("What needs doing after the incident.")
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=role_candidates(), required=False, empty_label=_("No owner yet")
    )
    due = forms.DateField(
        label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    link = forms.URLField(
        required=False,
        assume_scheme="https",
        label=_("Issue link"),
        help_text=_("Where it is tracked."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = role_candidates()  # type: ignore[attr-defined]
        self.fields["owner"].label_from_instance = _person  # type: ignore[attr-defined]


class ReviewForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 30}), label=_("Review (Markdown)"))
