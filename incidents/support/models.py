"""Support cases and their labels (HANDBOOK §1): which incident a customer's case is
about, who said so and when, and every move of that label."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident


class SupportCase(models.Model):
    # The ticket number in the support desk; the desk upserts cases by it.
    reference = models.CharField(max_length=100, unique=True, verbose_name=_("reference"))
    customer_name = models.CharField(max_length=200, blank=True, verbose_name=_("customer name"))
    organisation = models.CharField(max_length=200, blank=True, verbose_name=_("organisation"))
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    subject = models.CharField(max_length=300, blank=True, verbose_name=_("subject"))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    label = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        related_name="support_cases",
        null=True,
        blank=True,
        help_text=_("The incident this case is about."),
        verbose_name=_("label"),
    )
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("labelled by"),
    )
    labelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("labelled at"))
    # Set when the customer was told their incident is resolved; cleared by a move, so
    # the incident the case moved to follows up too.
    followed_up_at = models.DateTimeField(_("followed up"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        app_label = "incidents"
        ordering = ["-opened_at", "-id"]
        indexes = [
            # The follow-up reads "cases of this incident not followed up yet".
            models.Index(fields=["label", "followed_up_at"], name="case_label_follow_up"),
            # The case list, newest first, a page at a time (also within a filter).
            models.Index(fields=["opened_at", "id"], name="case_opened"),
        ]
        verbose_name = _("support case")
        verbose_name_plural = _("support cases")

    def __str__(self) -> str:
        return self.reference


class LabelChange(models.Model):
    """One label put on, moved or taken off a case; never edited.

    Only ``case`` is checked by the database. The change that writes a row locks the
    case and, in the same transaction, writes an entry on the timeline of each incident
    the row names, by the same person: the database checks those entries' incident and
    author, so checking the row's three again cost about a fifth of labelling a
    thousand cases on PostgreSQL (deferred to the commit, row by row). Deleting an
    incident or a person through Django still sets them to NULL here or refuses
    (``on_delete``)."""

    case = models.ForeignKey(
        SupportCase, on_delete=models.CASCADE, related_name="label_history", verbose_name=_("case")
    )
    from_incident = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("from incident"),
    )
    to_incident = models.ForeignKey(
        Incident,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("to incident"),
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="+",
        null=True,
        verbose_name=_("by"),
    )
    at = models.DateTimeField(default=timezone.now, verbose_name=_("at"))

    class Meta:
        app_label = "incidents"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["case", "at"], name="label_change_by_case")]
        verbose_name = _("label change")
        verbose_name_plural = _("label changes")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_incident_id} → {self.to_incident_id}"


# The metrics' figures and change log are models of this app; they live beside the code
# that keeps them.
from incidents.support.figures import FiguresChange, IncidentFigures  # noqa: E402

__all__ = ["FiguresChange", "IncidentFigures", "LabelChange", "SupportCase"]
