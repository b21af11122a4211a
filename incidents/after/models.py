"""After the impact ends (HANDBOOK §10): cleanup tasks and the review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident


class CleanupTaskQuerySet(models.QuerySet["CleanupTask"]):
    def open(self) -> CleanupTaskQuerySet:
        return self.filter(done_at__isnull=True)


class CleanupTask(models.Model):
    """Work left after the impact ended (HANDBOOK §10), linked to an issue elsewhere."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="cleanup_tasks", verbose_name=_("incident")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="cleanup_tasks",
        null=True,
        blank=True,
        verbose_name=_("owner"),
    )
    due = models.DateField(null=True, blank=True, verbose_name=_("due"))
    link = models.URLField(
        _("issue link"), blank=True, help_text=_("The issue that tracks the work.")
    )
    done_at = models.DateTimeField(null=True, blank=True, verbose_name=_("done at"))
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("done by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    objects = CleanupTaskQuerySet.as_manager()

    class Meta:
        app_label = "incidents"
        ordering = [models.F("due").asc(nulls_last=True), "created_at", "id"]
        indexes = [models.Index(fields=["owner", "done_at"], name="cleanup_by_owner")]
        verbose_name = _("cleanup task")
        verbose_name_plural = _("cleanup tasks")

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due is not None and self.due < timezone.localdate()


class Review(models.Model):
    """The post-incident review: a Markdown draft generated from the incident, edited by
    people; completing it moves the incident to reviewed."""

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="review", verbose_name=_("incident")
    )
    body = models.TextField(help_text=_("Markdown."), verbose_name=_("body"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        app_label = "incidents"
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"Review of {self.incident_id}"
