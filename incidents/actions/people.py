"""A person's own settings: the language and time zone the portal and its messages use."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from incidents.models import Preferences


@transaction.atomic
def set_preferences(person: User, *, language: str, time_zone: str) -> Preferences:
    preferences, _ = Preferences.objects.update_or_create(
        person=person, defaults={"language": language, "time_zone": time_zone}
    )
    return preferences


@transaction.atomic
def set_language(person: User, language: str) -> Preferences:
    preferences, _ = Preferences.objects.update_or_create(
        person=person, defaults={"language": language}
    )
    return preferences
