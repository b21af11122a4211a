"""The incident record and everything that happens to it; teams, services, products.

The workspace's models live in one module per part of the handbook, imported at the
end (they refer to the models defined here) and re-exported from here.
"""

# ruff: noqa: E402  (the modules at the end import the models defined here)
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

UNKNOWN_SERVICE_SLUG = "unknown"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    slug = models.SlugField(max_length=100, unique=True, verbose_name=_("slug"))
    email = models.EmailField(_("contact e-mail"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True, verbose_name=_("members")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    slug = models.SlugField(max_length=100, unique=True, verbose_name=_("slug"))
    # The built-in Unknown service has no team: its incidents go to the IMOC.
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="services",
        null=True,
        blank=True,
        verbose_name=_("team"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name

    @property
    def is_unknown(self) -> bool:
        return self.slug == UNKNOWN_SERVICE_SLUG


class Product(models.Model):
    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    slug = models.SlugField(max_length=100, unique=True, verbose_name=_("slug"))
    description = models.CharField(max_length=200, blank=True, verbose_name=_("description"))
    shown_on_status_page = models.BooleanField(default=True, verbose_name=_("shown on status page"))
    # The services the product runs on: their changes are suspects when it is affected.
    services = models.ManyToManyField(
        Service,
        related_name="products",
        blank=True,
        help_text=_("The services this product runs on."),
        verbose_name=_("services"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class KeyCounter(models.Model):
    """The last number handed out for a key prefix; locked while an incident is created."""

    prefix = models.CharField(max_length=10, primary_key=True, verbose_name=_("prefix"))
    last_number = models.PositiveIntegerField(default=0, verbose_name=_("last number"))

    class Meta:
        verbose_name = _("key counter")
        verbose_name_plural = _("key counters")

    def __str__(self) -> str:
        return f"{self.prefix}-{self.last_number}"


class Severity(models.IntegerChoices):
    CRITICAL = 1, _("1 - Critical")
    MAJOR = 2, _("2 - Major")
    MINOR = 3, _("3 - Minor")


class Status(models.TextChoices):
    NEW = "new", _("New")
    FIXING = "fixing", _("Fixing")
    RESOLVED = "resolved", _("Resolved")
    REVIEWED = "reviewed", _("Reviewed")


OPEN_STATUSES = (Status.NEW, Status.FIXING)
CLOSED_STATUSES = (Status.RESOLVED, Status.REVIEWED)
# The times a fixer should fill in: start and detection always, the end once resolved.
MISSING_TIMES = (
    Q(impact_started_at__isnull=True)
    | Q(detected_at__isnull=True)
    | Q(status__in=CLOSED_STATUSES, impact_ended_at__isnull=True)
)


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def visible_to(
        self, user: User | AnonymousUser, *, person: int | None = None
    ) -> IncidentQuerySet:
        """Incidents the user may see at all; restricted ones only when involved.
        ``person``: the id the query compares with in place of the user's (a statement
        compiled once for everyone with the user's permissions: ``access.VIEWER``).
        Compares people with ``person`` only, and reads nothing else of the user than
        ``access.visibility_shape`` holds: statements are shared under it."""
        if not user.is_authenticated or not user.has_perm("incidents.view_incident"):
            return self.none()
        if user.has_perm("incidents.view_restricted_incident"):
            return self
        person = user.pk if person is None else person
        # Anyone who has held a role or was involved otherwise (paged, owns a task) took
        # part, so keeps seeing what they worked on.
        held_a_role = Exists(
            RoleAssignment.objects.filter(incident=OuterRef("pk"), person_id=person)
        )
        involved = Exists(Involvement.objects.filter(incident=OuterRef("pk"), person_id=person))
        return self.filter(
            Q(restricted=False)
            | Q(created_by_id=person)
            | Q(assignee_id=person)
            | held_a_role
            | involved
        )

    def for_list(self) -> IncidentQuerySet:
        """What every incident row shows, in a constant number of queries."""
        return self.select_related(
            "faulty_service__team", "assignee", "created_by"
        ).prefetch_related("affected_products")

    def with_case_count(self) -> IncidentQuerySet:
        """Annotate ``case_count``: support cases labelled with the key. A subquery, not
        a join, so filters joining products never multiply it; ``COUNT(*)`` over the
        label index, which PostgreSQL answers from the index alone."""
        # The cases are the support subpackage's model: named by label, never imported.
        cases = (
            apps.get_model("incidents", "SupportCase")
            .objects.filter(label=OuterRef("pk"))
            .order_by()
            .values("label")
            .annotate(n=models.Count("*"))
            .values("n")
        )
        return self.annotate(
            case_count=Coalesce(Subquery(cases, output_field=models.IntegerField()), 0)
        )


class Incident(models.Model):
    prefix = models.CharField(max_length=10, editable=False, verbose_name=_("prefix"))
    number = models.PositiveIntegerField(editable=False, verbose_name=_("number"))
    key = models.CharField(max_length=24, unique=True, editable=False, verbose_name=_("key"))
    summary = models.CharField(_("summary"), max_length=200, help_text=_("What is the emergency?"))
    description = models.TextField(
        _("description"),
        help_text=_(
            "What is the impact on customers? Give contact details so responders can reach you."
        ),
    )
    severity = models.PositiveSmallIntegerField(
        _("severity"),
        choices=Severity.choices,
        help_text=_(
            "Choosing 2 or 1 means it must be fixed immediately, and pages the relevant people."
        ),
    )
    faulty_service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("faulty service"),
        help_text=_(
            "The service causing the incident. If unsure, the most likely one. "
            "If no idea at all, choose 'Unknown'."
        ),
    )
    affected_products = models.ManyToManyField(
        Product,
        related_name="incidents",
        verbose_name=_("affected products"),
        help_text=_("Which products does the incident affect? Select all that apply."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_incidents",
        null=True,
        blank=True,
        verbose_name=_("incident manager"),
        help_text=_("The incident manager (IM) currently running the response."),
    )
    chat_room = models.CharField(
        _("chat room"),
        max_length=80,
        blank=True,
        help_text=_("Named after the issue key unless you change it."),
    )
    video_url = models.URLField(_("video call"), blank=True)
    status_doc_url = models.URLField(_("status document"), blank=True)
    impact_started_at = models.DateTimeField(_("impact started"), null=True, blank=True)
    detected_at = models.DateTimeField(_("detected"), null=True, blank=True)
    impact_ended_at = models.DateTimeField(_("impact ended"), null=True, blank=True)
    restricted = models.BooleanField(
        _("restricted"),
        default=False,
        help_text=_(
            "Security or privacy incident: only the people involved and the security "
            "group can see it."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="created_incidents",
        verbose_name=_("created by"),
    )
    customer_follow_up = models.BooleanField(
        _("customer follow-up"),
        default=True,
        help_text=_("E-mail the customers of labelled support cases when it is resolved."),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["prefix", "number"], name="incident_unique_number"),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="incident_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="incident_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(detected_at__isnull=True)
                | Q(impact_started_at__isnull=True)
                | Q(detected_at__gte=models.F("impact_started_at")),
                name="incident_detected_after_start",
            ),
            models.CheckConstraint(
                condition=Q(impact_ended_at__isnull=True)
                | Q(impact_started_at__isnull=True)
                | Q(impact_ended_at__gte=models.F("impact_started_at")),
                name="incident_ended_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[Status.RESOLVED, Status.REVIEWED])
                | Q(impact_ended_at__isnull=False),
                name="incident_resolved_has_end",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "severity"], name="incident_status_severity"),
            # The dashboard's change marker is max(updated_at): one index probe.
            models.Index(fields=["updated_at"], name="incident_updated"),
            # The dashboard's "recently resolved": a range on the end within one status.
            models.Index(fields=["status", "impact_ended_at"], name="incident_status_ended"),
            # The metrics' period: impact start, else logging time (periods.PERIOD_AT).
            models.Index(Coalesce("impact_started_at", "created_at"), name="incident_period"),
            # The metrics read restricted incidents one by one (their roll-ups hold none).
            models.Index(
                Coalesce("impact_started_at", "created_at"),
                condition=Q(restricted=True),
                name="incident_restricted_period",
            ),
            # The metrics' incidents missing times (few): counted and listed newest first.
            models.Index(fields=["number"], condition=MISSING_TIMES, name="incident_missing_times"),
            # Every list (portal and API) is newest first: a page is an index walk, not a
            # sort of every incident (the unique constraint leads with the prefix).
            models.Index(fields=["number"], name="incident_number"),
            # The support board: open incidents in its order, its first rows an index walk.
            models.Index(
                fields=["severity", "created_at", "id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="incident_open_board",
            ),
        ]
        permissions = [
            ("claim_incident", "Can claim incidents and change their severity and status"),
            ("view_restricted_incident", "Can see restricted (security) incidents"),
            ("label_case", "Can label support cases with an issue key"),
            ("take_role", "Can take a role in an incident"),
            ("assign_role", "Can assign incident roles"),
            ("publish_communication", "Can publish incident communications"),
        ]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return f"{self.key} - {self.severity} - {self.summary}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.key])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def ttd(self) -> timedelta | None:
        """Time to detect: impact start to detection; None while either is unknown."""
        if self.impact_started_at is None or self.detected_at is None:
            return None
        return self.detected_at - self.impact_started_at

    @property
    def ttr(self) -> timedelta | None:
        """Time to recovery: impact start to impact end; None while either is unknown."""
        if self.impact_started_at is None or self.impact_ended_at is None:
            return None
        return self.impact_ended_at - self.impact_started_at


class EntryKind(models.TextChoices):
    # Written by people.
    NOTE = "note", _("Note")
    OBSERVATION = "observation", _("Observation")
    THEORY = "theory", _("Theory")
    EXPERIMENT = "experiment", _("Experiment")
    CHANGE = "change", _("Change")
    DECISION = "decision", _("Decision")
    ASSESSMENT = "assessment", _("Assessment")
    # Written by the system when the incident changes.
    CREATED = "created", _("Created")
    STATUS = "status", _("Status")
    SEVERITY = "severity", _("Severity")
    ASSIGNEE = "assignee", _("Incident manager")
    ROLE = "role", _("Role")
    WORKSTREAM = "workstream", _("Workstream")
    CLEANUP = "cleanup", _("Cleanup")
    BREAK = "break", _("Break")
    REVIEW = "review", _("Review")
    EDITED = "edited", _("Edited")
    # Written by other apps through actions.record_app_event.
    COMMS = "comms", _("Communication")
    PAGE = "page", _("Page")
    # Support cases labelled, moved or unlabelled; customer follow-up switched.
    CASES = "cases", _("Support cases")


APP_KINDS = (EntryKind.COMMS, EntryKind.PAGE)


HUMAN_KINDS = (
    EntryKind.NOTE,
    EntryKind.OBSERVATION,
    EntryKind.THEORY,
    EntryKind.EXPERIMENT,
    EntryKind.CHANGE,
    EntryKind.DECISION,
    EntryKind.ASSESSMENT,
)


class TimelineEntry(models.Model):
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("incident")
    )
    kind = models.CharField(max_length=20, choices=EntryKind.choices, verbose_name=_("kind"))
    text = models.TextField(blank=True, verbose_name=_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="timeline_entries",
        null=True,
        blank=True,
        help_text=_("Empty for entries written by the system."),
        verbose_name=_("author"),
    )
    occurred_at = models.DateTimeField(default=timezone.now, verbose_name=_("occurred at"))
    recorded_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("recorded at")
    )
    # Structured facts of system entries, such as {"from": "new", "to": "fixing"}.
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    # Set when the author corrected the entry; the earlier versions are its edits.
    edited_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("edited at")
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="timeline_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["incident", "occurred_at"], name="timeline_by_time")]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"

    @property
    def is_system(self) -> bool:
        return self.kind not in HUMAN_KINDS


from incidents.models.entries import (
    Experiment,
    IncidentChange,
    Theory,
    TheoryState,
    TimelineEdit,
)
from incidents.models.people import Preferences
from incidents.models.roles import Involvement, Role, RoleAssignment, RoleAssignmentQuerySet

__all__ = [
    "CLOSED_STATUSES",
    "HUMAN_KINDS",
    "MISSING_TIMES",
    "OPEN_STATUSES",
    "UNKNOWN_SERVICE_SLUG",
    "EntryKind",
    "Experiment",
    "Incident",
    "IncidentChange",
    "IncidentQuerySet",
    "Involvement",
    "KeyCounter",
    "Preferences",
    "Product",
    "Role",
    "RoleAssignment",
    "RoleAssignmentQuerySet",
    "Service",
    "Severity",
    "Status",
    "Team",
    "Theory",
    "TheoryState",
    "TimelineEdit",
    "TimelineEntry",
]
