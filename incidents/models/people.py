"""How the portal speaks to each person: their language and time zone.

Empty means "not chosen": the language then follows the browser (``Accept-Language``),
the time zone the browser's (the ``tz`` cookie) and then the portal's. Messages sent to
a person use their chosen language, since they have no browser to ask.
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(zone)r is not an IANA time zone, such as Europe/Paris or Asia/Seoul."),
            params={"zone": value},
        )


def language_field(help_text: StrOrPromise = "") -> models.CharField:
    """One of the portal's languages, or empty for "not chosen" (each use says what
    empty falls back to)."""
    return models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=help_text,
    )


class Preferences(models.Model):
    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="preferences",
        verbose_name=_("person"),
    )
    language = language_field(_("Empty: as your browser asks."))
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Empty: your browser's time zone, else the portal's."),
    )

    class Meta:
        app_label = "incidents"
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"{self.person}: {self.language or '-'} {self.time_zone or '-'}"
