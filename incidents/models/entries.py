"""The status document (HANDBOOK §3, §9): edits, changes, workstreams, theories."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident, TimelineEntry


class TimelineEdit(models.Model):
    """What an entry said before its author edited it: nothing on the record is lost."""

    entry = models.ForeignKey(
        TimelineEntry, on_delete=models.CASCADE, related_name="edits", verbose_name=_("entry")
    )
    text = models.TextField(verbose_name=_("text"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("edited by"),
    )
    edited_at = models.DateTimeField(default=timezone.now, verbose_name=_("edited at"))

    class Meta:
        ordering = ["entry", "edited_at", "id"]
        verbose_name = _("timeline edit")
        verbose_name_plural = _("timeline edits")

    def __str__(self) -> str:
        return f"Edit of entry {self.entry_id} at {self.edited_at:%Y-%m-%d %H:%M}"


class IncidentChange(models.Model):
    """A row of the status document's changes table (HANDBOOK §3): the timeline entry
    says who changed what, when; this adds how, why, how to undo it and whether it was."""

    entry = models.OneToOneField(
        TimelineEntry, on_delete=models.CASCADE, related_name="change", verbose_name=_("entry")
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="changes", verbose_name=_("incident")
    )
    how = models.TextField(
        blank=True, help_text=_("The command, console or pull request."), verbose_name=_("how")
    )
    why = models.TextField(
        blank=True, help_text=_("The theory or decision behind it."), verbose_name=_("why")
    )
    undo = models.TextField(_("how to undo it"), blank=True)
    undone_at = models.DateTimeField(null=True, blank=True, verbose_name=_("undone at"))
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("undone by"),
    )
    # Set when this change rolls back a deployment CI/CD reported.
    rolls_back = models.ForeignKey(
        "ServiceChange",
        on_delete=models.PROTECT,
        related_name="rollbacks",
        null=True,
        blank=True,
        verbose_name=_("rolls back"),
    )

    class Meta:
        ordering = ["entry__occurred_at", "id"]
        verbose_name = _("incident change")
        verbose_name_plural = _("incident changes")

    def __str__(self) -> str:
        return f"Change {self.pk} on {self.incident_id}"


class TheoryState(models.TextChoices):
    OPEN = "open", _("Open")
    CONFIRMED = "confirmed", _("Confirmed")
    DISPROVED = "disproved", _("Disproved")


class Theory(models.Model):
    """A theory of the §9 loop; its words are its timeline entry, its verdict is here."""

    entry = models.OneToOneField(
        TimelineEntry, on_delete=models.CASCADE, related_name="theory", verbose_name=_("entry")
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="theories", verbose_name=_("incident")
    )
    state = models.CharField(
        max_length=10,
        choices=TheoryState.choices,
        default=TheoryState.OPEN,
        verbose_name=_("state"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("decided by"),
    )
    # Set when the theory is "this reported change caused it".
    suspects = models.ForeignKey(
        "ServiceChange",
        on_delete=models.PROTECT,
        related_name="suspicions",
        null=True,
        blank=True,
        verbose_name=_("suspects"),
    )

    class Meta:
        ordering = ["entry__occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=TheoryState.values), name="theory_state_valid"
            ),
        ]
        verbose_name = _("theory")
        verbose_name_plural = _("theories")

    def __str__(self) -> str:
        return f"Theory {self.pk} ({self.state})"


class Experiment(models.Model):
    """An experiment of the §9 loop, linked to the theory it tests."""

    entry = models.OneToOneField(
        TimelineEntry, on_delete=models.CASCADE, related_name="experiment", verbose_name=_("entry")
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="experiments", verbose_name=_("incident")
    )
    theory = models.ForeignKey(
        Theory,
        on_delete=models.SET_NULL,
        related_name="experiments",
        null=True,
        blank=True,
        verbose_name=_("theory"),
    )

    class Meta:
        ordering = ["entry__occurred_at", "id"]
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")

    def __str__(self) -> str:
        return f"Experiment {self.pk}"
