"""The person's own page: the language and time zone the portal speaks to them in, and
the language switch in the navigation."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from config.http import PortalRequest, redirect_back
from incidents.actions.people import set_language, set_preferences
from incidents.models import Preferences
from incidents.models.people import validate_time_zone


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=[("", gettext_lazy("As my browser asks")), *settings.LANGUAGES],
        required=False,
    )
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        required=False,
        validators=[validate_time_zone],
        help_text=gettext_lazy(
            "An IANA name such as Asia/Seoul or Europe/Paris. Empty: your browser's zone."
        ),
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)


def _current(person_preferences: Preferences | None) -> dict[str, str]:
    return {
        "language": person_preferences.language if person_preferences else "",
        "time_zone": person_preferences.time_zone if person_preferences else "",
    }


@require_http_methods(["GET", "POST"])
def preferences(request: PortalRequest) -> HttpResponse:
    current = getattr(request.user, "preferences", None)
    form = PreferencesForm(request.POST or None, initial=_current(current))
    if request.method == "POST":
        if form.is_valid():
            set_preferences(request.user, **form.cleaned_data)
            translation.activate(form.cleaned_data["language"] or request.LANGUAGE_CODE)
            messages.success(request, _("Your preferences are saved."))
            return redirect("preferences")
        return render(request, "preferences.html", _context(form), status=400)
    return render(request, "preferences.html", _context(form))


def _context(form: PreferencesForm) -> dict[str, object]:
    return {
        "form": form,
        "zones": sorted(zoneinfo.available_timezones()),
        "now": timezone.now(),
        "current_zone": timezone.get_current_timezone_name(),
    }


@require_POST
def language_switch(request: PortalRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose one of the offered languages."), status=400)
    set_language(request.user, form.cleaned_data["language"])
    return redirect_back(request, reverse("home"))
