"""Maintenance windows: while one covers a service or an integration, its alerts are
recorded in alert groups marked with the window, and open no incident, so nobody is
paged (as PagerDuty's maintenance windows do)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Service

from .models import Integration

__all__ = ["MaintenanceWindow", "WindowStatus"]


class WindowStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    OVER = "over", _("Over")
    ENDED_EARLY = "ended_early", _("Ended early")
    CANCELLED = "cancelled", _("Cancelled")


class MaintenanceWindowQuerySet(models.QuerySet["MaintenanceWindow"]):
    def covering(self, integration: Integration) -> MaintenanceWindowQuerySet:
        """The windows of the integration itself or of its service."""
        return self.filter(Q(integration_id=integration.pk) | Q(service_id=integration.service_id))

    def active_at(self, at: datetime) -> MaintenanceWindowQuerySet:
        return self.filter(cancelled=False, starts_at__lte=at, ends_at__gt=at)

    def current_or_planned(self, now: datetime) -> MaintenanceWindowQuerySet:
        return self.filter(cancelled=False, ends_at__gt=now)


class MaintenanceWindow(models.Model):
    # Exactly one of the two: a whole service (all its integrations) or one integration.
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="maintenance_windows",
        verbose_name=_("service"),
    )
    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="maintenance_windows",
        verbose_name=_("integration"),
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    # Ending early moves this to the moment it was ended.
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    reason = models.CharField(max_length=300, verbose_name=_("reason"))
    cancelled = models.BooleanField(default=False, verbose_name=_("cancelled"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    # Who cancelled it or ended it early, and when; blank when it ran its course.
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("ended by"),
    )
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))

    objects = MaintenanceWindowQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(service__isnull=False, integration__isnull=True)
                    | Q(service__isnull=True, integration__isnull=False)
                ),
                name="maintenance_service_xor_integration",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="maintenance_ends_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["service", "ends_at"], name="maintenance_service_end"),
            models.Index(fields=["integration", "ends_at"], name="maintenance_integration_end"),
        ]
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")

    def __str__(self) -> str:
        return f"{self.target_name}: {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"

    @property
    def target_name(self) -> str:
        if self.integration_id is not None:
            return str(self.integration)
        return self.service.name if self.service else ""

    def covers(self, at: datetime) -> bool:
        return not self.cancelled and self.starts_at <= at < self.ends_at

    def status_at(self, now: datetime) -> WindowStatus:
        if self.cancelled:
            return WindowStatus.CANCELLED
        if now < self.starts_at:
            return WindowStatus.PLANNED
        if now < self.ends_at:
            return WindowStatus.IN_PROGRESS
        return WindowStatus.ENDED_EARLY if self.ended_at is not None else WindowStatus.OVER

    @property
    def status(self) -> WindowStatus:
        return self.status_at(timezone.now())
