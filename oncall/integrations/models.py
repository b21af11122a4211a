"""Monitoring integrations: where alerts come in, how they group, what was received.

An integration belongs to a service (and so to its team). Alerts with the same dedup key
attach to one open ``AlertGroup`` and so to one incident; a database constraint keeps
a second open group for the same key from ever existing, whatever the concurrency.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident, Product, Service, Severity

from .formats import Event

__all__ = ["Alert", "AlertGroup", "AlertOutcome", "AlertStorm", "GroupState", "Integration"]

# PagerDuty routing keys are 32 characters; ours are too, so tools validating the
# length locally accept them.
KEY_BYTES = 16

# The parts of a parsed ``Event`` an alert keeps in ``Alert.event`` (besides its action
# and dedup key, which have columns); ``details`` stay in the payload.
EVENT_FIELDS = (
    "summary",
    "severity",
    "source",
    "description",
    "started_at",
    "ended_at",
    "context",
)


# A day: a storm is a burst, and the window is counted from the groups' times in memory.
MAX_STORM_WINDOW = 24 * 60
MAX_STORM_THRESHOLD = 10_000


def default_severity_map() -> dict[str, int]:
    return {"critical": 1, "error": 2, "warning": 3, "info": 3}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


class Integration(models.Model):
    name = models.CharField(max_length=100, verbose_name=_("name"))
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="integrations", verbose_name=_("service")
    )
    # Only the hash is stored: the key is shown once, when created or rotated.
    key_hash = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("key hash")
    )
    # The last characters, so admins can tell which key a tool is configured with.
    key_hint = models.CharField(max_length=4, editable=False, verbose_name=_("key hint"))
    default_severity = models.PositiveSmallIntegerField(
        choices=Severity.choices,
        default=Severity.MINOR,
        help_text=_("Used when an alert names no severity, or one the mapping does not know."),
        verbose_name=_("default severity"),
    )
    severity_map = models.JSONField(
        default=default_severity_map,
        help_text=_("Severity label sent by the tool → incident severity 1, 2 or 3."),
        verbose_name=_("severity map"),
    )
    affected_products = models.ManyToManyField(
        Product, related_name="integrations", blank=True, verbose_name=_("affected products")
    )
    paused = models.BooleanField(
        default=False,
        help_text=_("A paused integration accepts alerts but records them as ignored."),
        verbose_name=_("paused"),
    )
    # Alert storms (``actions.storms``): more than ``storm_threshold`` new alert groups
    # in ``storm_window`` minutes fold into one incident that pages once; 0 turns it off.
    storm_threshold = models.PositiveIntegerField(
        _("storm threshold"),
        default=20,
        help_text=_(
            "More new alert groups than this within the window fold into one alert storm "
            "incident, which pages once. 0 turns folding off."
        ),
    )
    storm_window = models.PositiveSmallIntegerField(
        _("storm window (minutes)"),
        default=5,
        help_text=_("The window the threshold counts new alert groups in."),
    )
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
    key_rotated_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("key rotated at")
    )

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_severity__in=[1, 2, 3]), name="integration_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(storm_window__gte=1, storm_window__lte=MAX_STORM_WINDOW),
                name="integration_storm_window_valid",
            ),
        ]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return f"{self.service.name}: {self.name}"

    def set_key(self) -> str:
        """Give the integration a fresh key and return it; the caller shows it once."""
        key = new_key()
        self.key_hash = hash_key(key)
        self.key_hint = key[-4:]
        return key

    def severity_for(self, label: str | int | None) -> int:
        if isinstance(label, int) and not isinstance(label, bool) and label in (1, 2, 3):
            return label
        if isinstance(label, str):
            mapped = self.severity_map.get(label.strip().lower())
            if mapped in (1, 2, 3):
                return int(mapped)
        return self.default_severity


class GroupState(models.TextChoices):
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")


class AlertGroup(models.Model):
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="groups", verbose_name=_("integration")
    )
    dedup_key = models.CharField(max_length=255, verbose_name=_("dedup key"))
    # Set in the same transaction that creates the group; null only inside it, or for a
    # group opened during a maintenance window (``maintenance``), which opens no incident.
    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="alert_groups",
        null=True,
        verbose_name=_("incident"),
    )
    maintenance = models.ForeignKey(
        "oncall.MaintenanceWindow",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alert_groups",
        verbose_name=_("maintenance"),
    )
    state = models.CharField(
        max_length=10,
        choices=GroupState.choices,
        default=GroupState.FIRING,
        verbose_name=_("state"),
    )
    summary = models.CharField(max_length=200, verbose_name=_("summary"))
    severity = models.PositiveSmallIntegerField(
        choices=Severity.choices, verbose_name=_("severity")
    )
    alert_count = models.PositiveIntegerField(default=1, verbose_name=_("alert count"))
    first_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("first seen at"))
    last_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("last seen at"))
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    # When the tool says the problem started (the earliest) and ended (the latest),
    # which arrival times miss by the tool's grouping delays; null when it did not say.
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    # The latest delivery's labels, annotations, links and details, for responders.
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            # One open group per key: concurrent deliveries of a new key race on this
            # index, and the losers attach to the winner's group and incident.
            models.UniqueConstraint(
                fields=["integration", "dedup_key"],
                condition=Q(state="firing"),
                name="alertgroup_one_open_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["incident", "state"], name="alertgroup_incident_state"),
            # The storm rule reads an integration's newest groups.
            models.Index(fields=["integration", "-first_seen_at"], name="alertgroup_newest"),
        ]
        verbose_name = _("alert group")
        verbose_name_plural = _("alert groups")

    def __str__(self) -> str:
        return f"{self.dedup_key} ({self.state})"


class AlertStorm(models.Model):
    """An integration's burst of new alert groups folded into one incident: opened for the
    first group past the integration's threshold, joined by each new group while the rate
    stays above it, ended when the rate falls back (``actions.storms``)."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="storms", verbose_name=_("integration")
    )
    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="alert_storm", verbose_name=_("incident")
    )
    started_at = models.DateTimeField(verbose_name=_("started at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    # The groups folded into the incident, written once per batch.
    group_count = models.PositiveIntegerField(default=0, verbose_name=_("group count"))
    last_group_at = models.DateTimeField(verbose_name=_("last group at"))
    # The integration's setting when the storm began, to say what it was folded under.
    threshold = models.PositiveIntegerField(verbose_name=_("threshold"))
    window = models.PositiveSmallIntegerField(verbose_name=_("window"))

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One storm folding per integration, whatever the concurrency.
            models.UniqueConstraint(
                fields=["integration"],
                condition=Q(ended_at__isnull=True),
                name="alertstorm_one_open_per_integration",
            )
        ]
        verbose_name = _("alert storm")
        verbose_name_plural = _("alert storms")

    def __str__(self) -> str:
        return f"{self.integration_id}: {self.group_count} groups from {self.started_at}"


class AlertOutcome(models.TextChoices):
    # Received and stored; the worker has not applied it yet (``actions.process_pending``).
    PENDING = "pending", _("Received, not processed yet")
    CREATED = "created", _("Opened an incident")
    # A new group folded into its integration's alert storm incident: nobody paged for it.
    FOLDED = "folded", _("Folded into an alert storm")
    DEDUPLICATED = "deduplicated", _("Added to an open group")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved its group")
    IGNORED = "ignored", _("Ignored")
    # Recorded in a group of a maintenance window: no incident, nobody paged.
    MAINTENANCE = "maintenance", _("Received during maintenance")
    REJECTED = "rejected", _("Rejected")
    # A PagerDuty change event, recorded as a change of the integration's service.
    CHANGE = "change", _("Recorded a change")
    # Applying it raised an error (a bug, not the sender's fault): kept, with the error.
    FAILED = "failed", _("Could not be processed")


class Alert(models.Model):
    """One delivery as received, kept for inspection: bounded in size (the payload is
    truncated) and in age (``tasks.prune_alerts``).

    Receiving only stores it, ``pending``, with the parsed event; the worker applies
    pending alerts in arrival order (``actions.process_pending``) and sets the outcome.
    The row is the obligation (DESIGN rule 1): the broker only wakes the worker.
    """

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("integration")
    )
    group = models.ForeignKey(
        AlertGroup,
        on_delete=models.CASCADE,
        related_name="alerts",
        null=True,
        blank=True,
        verbose_name=_("group"),
    )
    format = models.CharField(max_length=20, verbose_name=_("format"))
    outcome = models.CharField(
        max_length=20, choices=AlertOutcome.choices, verbose_name=_("outcome")
    )
    # Why it was ignored or rejected.
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    payload = models.TextField(blank=True, verbose_name=_("payload"))
    truncated = models.BooleanField(default=False, verbose_name=_("truncated"))
    received_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("received at")
    )
    # The parsed event, so the worker does not parse again: blank for rejected payloads.
    action = models.CharField(max_length=12, blank=True, verbose_name=_("action"))
    dedup_key = models.CharField(max_length=255, blank=True, verbose_name=_("dedup key"))
    # The rest of the event: summary, severity (a label or 1-3), source, description.
    event = models.JSONField(default=dict, blank=True, verbose_name=_("event"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["integration", "outcome", "-received_at"], name="alert_outcome"),
            # What the worker reads: the pending alerts of an integration in arrival order.
            models.Index(
                fields=["integration", "id"],
                condition=Q(outcome="pending"),
                name="alert_pending",
            ),
        ]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self) -> str:
        return f"{self.format} {self.outcome} at {self.received_at:%Y-%m-%d %H:%M:%S}"

    def parsed_event(self) -> Event:
        fields = {name: self.event[name] for name in EVENT_FIELDS if name in self.event}
        return Event(action=self.action, dedup_key=self.dedup_key, **fields)


from .heartbeat_models import *  # noqa: E402, F403  (their own module; same app)
from .maintenance_models import *  # noqa: E402, F403
