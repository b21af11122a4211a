"""The status document (HANDBOOK §3, §9): edits, changes, workstreams, theories."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident


class WorkstreamState(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")


class Workstream(models.Model):
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="workstreams", verbose_name=_("incident")
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    goal = models.TextField(
        blank=True,
        help_text=_("What this workstream is trying to achieve."),
        verbose_name=_("goal"),
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("lead"),
    )
    state = models.CharField(
        max_length=10,
        choices=WorkstreamState.choices,
        default=WorkstreamState.ACTIVE,
        verbose_name=_("state"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        app_label = "incidents"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=WorkstreamState.values), name="workstream_state_valid"
            ),
            models.UniqueConstraint(fields=["incident", "name"], name="workstream_unique_name"),
        ]
        verbose_name = _("workstream")
        verbose_name_plural = _("workstreams")

    def __str__(self) -> str:
        return self.name
