"""Roles on an incident (HANDBOOK §7): who held which role, when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident


class Role(models.TextChoices):
    INCIDENT_MANAGER = "incident_manager", _("Incident manager")
    TECH_LEAD = "tech_lead", _("Tech lead")
    COMMS_INTERNAL = "comms_internal", _("Communications manager (internal)")
    COMMS_EXTERNAL = "comms_external", _("Communications manager (external)")
    # A role the IM names for this incident (scribe, liaison to a vendor, ...).
    CUSTOM = "custom", _("Custom role")


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def current(self) -> RoleAssignmentQuerySet:
        return self.filter(ended_at__isnull=True)

    def in_order(self) -> RoleAssignmentQuerySet:
        """The chat topic's order: incident managers first, then the roles as listed."""
        rank = models.Case(
            *(models.When(role=role, then=index) for index, role in enumerate(Role.values)),
            output_field=models.IntegerField(),
        )
        return self.alias(rank=rank).order_by("rank", "custom_name", "started_at", "id")


class RoleAssignment(models.Model):
    """One person holding one role on one incident for a while; never deleted, so the
    incident keeps the history of who held what, when."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="roles", verbose_name=_("incident")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="incident_roles",
        verbose_name=_("person"),
    )
    role = models.CharField(max_length=20, choices=Role.choices, verbose_name=_("role"))
    custom_name = models.CharField(
        max_length=60,
        blank=True,
        help_text=_("The name of a custom role, e.g. Scribe."),
        verbose_name=_("custom name"),
    )
    # What this holder is responsible for, e.g. the workstream of one of several tech leads.
    scope = models.CharField(max_length=120, blank=True, verbose_name=_("scope"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("assigned by"),
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("ended by"),
    )

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="role_valid"),
            models.CheckConstraint(
                condition=(Q(role="custom") & ~Q(custom_name=""))
                | (~Q(role="custom") & Q(custom_name="")),
                name="role_custom_name_iff_custom",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="role_ends_after_start",
            ),
            # Nobody holds the same role twice at once; several people may hold it.
            models.UniqueConstraint(
                fields=["incident", "person", "role", "custom_name"],
                condition=Q(ended_at__isnull=True),
                name="role_held_once",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "ended_at"], name="role_by_person"),
        ]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")

    def __str__(self) -> str:
        return f"{self.label}: {self.person} on {self.incident_id}"

    @property
    def label(self) -> str:
        return self.custom_name if self.role == Role.CUSTOM else str(Role(self.role).label)

    @property
    def is_current(self) -> bool:
        return self.ended_at is None


class Involvement(models.Model):
    """Someone who takes part without a role: paged for the incident, owning one of its
    cleanup tasks. Like role holders, they may see the incident when it is restricted."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="involvements", verbose_name=_("incident")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("person"),
    )
    # Why, for people reading the admin: "paged", "owns a cleanup task".
    reason = models.CharField(max_length=40, verbose_name=_("reason"))
    since = models.DateTimeField(default=timezone.now, verbose_name=_("since"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "person"], name="involved_once"),
        ]
        verbose_name = _("involvement")
        verbose_name_plural = _("involvements")

    def __str__(self) -> str:
        return f"{self.person} on {self.incident_id} ({self.reason})"
