from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from incidents.models import Product

from .actions import EDITABLE_FIELDS
from .models import Audience, Communication, Kind, Webhook, WebhookEvent


class DraftForm(forms.Form):
    audience = forms.ChoiceField(label=_("Audience"), choices=Audience.choices)
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)


class CommunicationForm(forms.ModelForm):
    class Meta:
        model = Communication
        fields = EDITABLE_FIELDS
        # Labels here rather than verbose names on the model: the same words, translated,
        # without a migration that only renames.
        labels = {
            "summary": _("Summary"),
            "current_status": _("Current status"),
            "next_steps": _("Next steps"),
            "customer_impact": _("Customer impact"),
            "internal_customers_affected": _("Internal customers affected"),
            "external_customers_affected": _("External customers affected"),
            "root_cause": _("Root cause"),
            "eta": _("ETA"),
            "next_update": _("Next update"),
            "next_update_at": _("Next update at"),
            "page_status": _("Status-page status"),
            "component_status": _("Products' status"),
        }
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "current_status": forms.Textarea(attrs={"rows": 4}),
            "next_steps": forms.Textarea(attrs={"rows": 4}),
            "customer_impact": forms.Textarea(attrs={"rows": 2}),
            "root_cause": forms.Textarea(attrs={"rows": 2}),
            "next_update_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }


def reviewers() -> QuerySet[User]:
    """People who may publish: they are the ones whose second opinion lets it go out."""
    perm = Q(groups__permissions__codename="publish_communication") | Q(
        user_permissions__codename="publish_communication"
    )
    return User.objects.filter(perm | Q(is_superuser=True), is_active=True).distinct()


class ReviewForm(forms.Form):
    reviewer = forms.ModelChoiceField(label=_("Reviewer"), queryset=User.objects.none())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["reviewer"].queryset = reviewers()  # type: ignore[attr-defined]


class SubscribeForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.filter(shown_on_status_page=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Products"),
        help_text=_("Leave empty to hear about every product."),
    )
    # Initially the page's language (``comms.public``), which the visitor reads already;
    # a sign-up without it (a script, an old form) gets that language too.
    language = forms.ChoiceField(
        label=_("Language of the e-mails"), choices=settings.LANGUAGES, required=False
    )


class WebhookForm(forms.ModelForm):
    """An outgoing webhook: the events are chosen from the ones Hotline sends, so a
    misspelt name can never wait silently for an event that does not exist."""

    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        label=_("Events"),
        help_text=_("The events it receives; docs/webhooks.md shows each payload."),
        error_messages={"required": _("Choose at least one event.")},
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "secret", "active"]
