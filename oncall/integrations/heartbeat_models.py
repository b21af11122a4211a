"""Heartbeats: an integration that expects a ping every ``interval``. The deadline lives
in the database (``next_expected_at``), read by the beat's sweep (DESIGN rule 3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Integration

__all__ = ["Heartbeat", "HeartbeatState"]


class HeartbeatState(models.TextChoices):
    # No ping yet: the first deadline counts from when the heartbeat was set up, so a
    # job that never starts is caught too.
    WAITING = "waiting", _("Waiting for the first ping")
    UP = "up", _("Up")
    MISSED = "missed", _("Missed")


class Heartbeat(models.Model):
    integration = models.OneToOneField(
        Integration,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="heartbeat",
        verbose_name=_("integration"),
    )
    interval = models.DurationField(
        help_text=_("How often the job or monitor pings."), verbose_name=_("interval")
    )
    grace = models.DurationField(
        help_text=_("How late a ping may be before it counts as missed."), verbose_name=_("grace")
    )
    state = models.CharField(
        max_length=10,
        choices=HeartbeatState.choices,
        default=HeartbeatState.WAITING,
        verbose_name=_("state"),
    )
    last_ping_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last ping at"))
    # The last ping (or the set-up) plus the interval; missed once grace has passed too.
    next_expected_at = models.DateTimeField(verbose_name=_("next expected at"))
    missed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("missed at"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(interval__gt=timedelta(0)), name="heartbeat_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(grace__gte=timedelta(0)), name="heartbeat_grace_not_negative"
            ),
        ]
        indexes = [
            # What the sweep reads: the deadlines of heartbeats not already missed.
            models.Index(
                fields=["next_expected_at"],
                condition=~Q(state="missed"),
                name="heartbeat_due",
            )
        ]
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.integration}: every {self.interval}"

    @property
    def deadline(self) -> datetime:
        return self.next_expected_at + self.grace

    @property
    def interval_minutes(self) -> int:
        return int(self.interval.total_seconds() // 60)

    @property
    def grace_minutes(self) -> int:
        return int(self.grace.total_seconds() // 60)
