"""The structured assessment of an incident (HANDBOOK §4), one row per revision."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident, Severity


class Affected(models.TextChoices):
    UNKNOWN = "", _("Not known yet")
    NONE = "none", _("None")
    SOME = "some", _("Some")
    ALL = "all", _("All")
    NUMBER = "number", _("A number")


class Assessment(models.Model):
    """The IM's answers to HANDBOOK §4's questions. Each save is a new revision; the
    newest is the current assessment, the older ones stay as they were."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="assessments", verbose_name=_("incident")
    )
    revision = models.PositiveIntegerField(verbose_name=_("revision"))
    internal_impact = models.TextField(
        _("impact on internal customers"), blank=True, help_text=_("Which teams or staff feel it?")
    )
    external_impact = models.TextField(
        _("impact on external customers"), blank=True, help_text=_("Which customers feel it?")
    )
    customer_experience = models.TextField(
        _("what customers experience"), blank=True, help_text=_("What do they see or fail to do?")
    )
    affected = models.CharField(
        _("customers affected"), max_length=10, choices=Affected.choices, blank=True
    )
    affected_count = models.PositiveIntegerField(
        _("how many"), null=True, blank=True, help_text=_("When you chose a number.")
    )
    started_at = models.DateTimeField(
        _("started"), null=True, blank=True, help_text=_("When did customers start to feel it?")
    )
    support_cases = models.PositiveIntegerField(_("support cases opened"), null=True, blank=True)
    social_media = models.BooleanField(_("talked about on social media"), default=False)
    security = models.BooleanField(_("security or privacy breach"), default=False)
    data_loss = models.BooleanField(_("customer data lost"), default=False)
    other_factors = models.TextField(_("other factors"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        app_label = "incidents"
        ordering = ["incident", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "revision"], name="assessment_unique_revision"
            ),
            models.CheckConstraint(
                condition=Q(affected__in=Affected.values), name="assessment_affected_valid"
            ),
            models.CheckConstraint(
                condition=~Q(affected="number") | Q(affected_count__isnull=False),
                name="assessment_number_has_count",
            ),
        ]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")

    def __str__(self) -> str:
        return f"Assessment {self.revision} of {self.incident_id}"

    @property
    def suggested_severity(self) -> int | None:
        """The severity matrix's row these answers match (HANDBOOK §4); a suggestion only."""
        if self.security or self.data_loss or self.affected == Affected.ALL:
            return Severity.CRITICAL
        if self.affected in (Affected.SOME, Affected.NUMBER):
            return Severity.MAJOR
        if self.affected == Affected.NONE or self.customer_experience or self.internal_impact:
            return Severity.MINOR
        return None
