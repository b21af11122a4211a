"""Changes of services reported by CI/CD (HANDBOOK §4), and their tokens."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from incidents.models import Service


class ServiceChangeKind(models.TextChoices):
    DEPLOY = "deploy", _("Deployment")
    CONFIG = "config", _("Configuration change")
    FEATURE_FLAG = "feature_flag", _("Feature flag")
    # Reported by a monitoring or deploy tool as a PagerDuty change event: it names no kind.
    CHANGE = "change", _("Change")


class ServiceChange(models.Model):
    """A deployment or change of a service, reported by CI/CD (HANDBOOK §4: does the
    impact start match a change?)."""

    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="changes", verbose_name=_("service")
    )
    kind = models.CharField(
        max_length=20,
        choices=ServiceChangeKind.choices,
        default=ServiceChangeKind.DEPLOY,
        verbose_name=_("kind"),
    )
    summary = models.CharField(max_length=300, verbose_name=_("summary"))
    # Who made it, as CI/CD names them (a login, a bot, an e-mail); not necessarily a user.
    author = models.CharField(_("who"), max_length=150, blank=True)
    happened_at = models.DateTimeField(_("when"))
    url = models.URLField(_("link"), blank=True, max_length=500)
    # CI/CD's own id (pipeline run, deploy number): a retried report is stored once.
    external_id = models.CharField(max_length=100, blank=True, verbose_name=_("external ID"))
    reported_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("reported at")
    )
    # What a change event carries besides: its links, images and custom details.
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    class Meta:
        app_label = "incidents"
        ordering = ["-happened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ServiceChangeKind.values), name="service_change_kind_valid"
            ),
            models.UniqueConstraint(
                fields=["service", "external_id"],
                condition=~Q(external_id=""),
                name="service_change_unique_external_id",
            ),
        ]
        indexes = [models.Index(fields=["service", "happened_at"], name="change_by_service_time")]
        verbose_name = _("service change")
        verbose_name_plural = _("service changes")

    def __str__(self) -> str:
        return f"{self.service} {self.get_kind_display().lower()}: {self.summary}"


class ChangeToken(models.Model):
    """A per-service secret CI/CD sends to report changes. Only its SHA-256 is stored;
    the token itself is shown once, when it is issued."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="change_tokens", verbose_name=_("service")
    )
    label = models.CharField(
        max_length=100, blank=True, help_text=_("Which pipeline uses it."), verbose_name=_("label")
    )
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("digest"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last used at")
    )

    class Meta:
        app_label = "incidents"
        ordering = ["service", "created_at"]
        verbose_name = _("change token")
        verbose_name_plural = _("change tokens")

    def __str__(self) -> str:
        return gettext("%(service)s token %(label)s") % {
            "service": self.service,
            "label": self.label or self.pk,
        }
