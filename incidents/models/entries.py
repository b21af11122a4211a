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

    entry = models.ForeignKey(TimelineEntry, on_delete=models.CASCADE, related_name="edits")
    text = models.TextField()
    occurred_at = models.DateTimeField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["entry", "edited_at", "id"]

    def __str__(self) -> str:
        return f"Edit of entry {self.entry_id} at {self.edited_at:%Y-%m-%d %H:%M}"


class IncidentChange(models.Model):
    """A row of the status document's changes table (HANDBOOK §3): the timeline entry
    says who changed what, when; this adds how, why, how to undo it and whether it was."""

    entry = models.OneToOneField(TimelineEntry, on_delete=models.CASCADE, related_name="change")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="changes")
    how = models.TextField(blank=True, help_text=_("The command, console or pull request."))
    why = models.TextField(blank=True, help_text=_("The theory or decision behind it."))
    undo = models.TextField(_("how to undo it"), blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Set when this change rolls back a deployment CI/CD reported.
    rolls_back = models.ForeignKey(
        "ServiceChange",
        on_delete=models.PROTECT,
        related_name="rollbacks",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["entry__occurred_at", "id"]

    def __str__(self) -> str:
        return f"Change {self.pk} on {self.incident_id}"


class TheoryState(models.TextChoices):
    OPEN = "open", _("Open")
    CONFIRMED = "confirmed", _("Confirmed")
    DISPROVED = "disproved", _("Disproved")


class Theory(models.Model):
    """A theory of the §9 loop; its words are its timeline entry, its verdict is here."""

    entry = models.OneToOneField(TimelineEntry, on_delete=models.CASCADE, related_name="theory")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="theories")
    state = models.CharField(max_length=10, choices=TheoryState.choices, default=TheoryState.OPEN)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Set when the theory is "this reported change caused it".
    suspects = models.ForeignKey(
        "ServiceChange",
        on_delete=models.PROTECT,
        related_name="suspicions",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["entry__occurred_at", "id"]
        verbose_name_plural = "theories"
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=TheoryState.values), name="theory_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Theory {self.pk} ({self.state})"


class Experiment(models.Model):
    """An experiment of the §9 loop, linked to the theory it tests."""

    entry = models.OneToOneField(TimelineEntry, on_delete=models.CASCADE, related_name="experiment")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="experiments")
    theory = models.ForeignKey(
        Theory, on_delete=models.SET_NULL, related_name="experiments", null=True, blank=True
    )

    class Meta:
        ordering = ["entry__occurred_at", "id"]

    def __str__(self) -> str:
        return f"Experiment {self.pk}"
