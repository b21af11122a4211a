"""Communications, the two status pages, and the outbox of every message sent out.

Outbox rows (``OutboundEmail``, ``ChatMessage``, ``WebhookDelivery``) are written in the
transaction of the change that causes them and sent by Celery after commit; their
``status`` and ``attempts`` are the record of every delivery.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident, Product, Team
from incidents.models.people import language_field


class Audience(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    EXTERNAL = "external", _("External")


class Kind(models.TextChoices):
    INITIAL = "initial", _("Initial")
    FOLLOW_UP = "follow_up", _("Follow-up")
    FINAL = "final", _("Final")


# A communication is named whole, never pieced together from its audience and kind:
# word order and endings differ between languages.
COMMUNICATION_NAMES = {
    ("internal", "initial"): _("internal initial"),
    ("internal", "follow_up"): _("internal follow-up"),
    ("internal", "final"): _("internal final"),
    ("external", "initial"): _("external initial"),
    ("external", "follow_up"): _("external follow-up"),
    ("external", "final"): _("external final"),
}


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")


class PageStatus(models.TextChoices):
    """Status-page incident statuses, named as Atlassian Statuspage names them."""

    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    DEGRADED = "degraded_performance", _("Degraded performance")
    PARTIAL = "partial_outage", _("Partial outage")
    MAJOR = "major_outage", _("Major outage")
    MAINTENANCE = "under_maintenance", _("Under maintenance")


class Component(models.Model):
    """A product as the status pages show it."""

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, related_name="component", verbose_name=_("product")
    )
    status = models.CharField(
        max_length=24,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
        verbose_name=_("status"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        ordering = ["product__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ComponentStatus.values), name="component_status_valid"
            )
        ]
        verbose_name = _("component")
        verbose_name_plural = _("components")

    def __str__(self) -> str:
        return f"{self.product.name}: {self.get_status_display()}"


class ComponentStatusChange(models.Model):
    """A component's status from ``changed_at`` on, and the published update that set it
    (none for a status set by hand): the public page's uptime history, and the
    ``affected_components`` (old and new status) of each update in the Statuspage JSON.
    An update records every product it names, unchanged ones too (old equals new), as
    Statuspage's updates list each component they were published for."""

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="changes", verbose_name=_("component")
    )
    # Blank when the component came to exist with this status.
    old_status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, blank=True, verbose_name=_("old status")
    )
    new_status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, verbose_name=_("new status")
    )
    changed_at = models.DateTimeField(default=timezone.now, verbose_name=_("changed at"))
    update = models.ForeignKey(
        "Communication",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="component_changes",
        verbose_name=_("update"),
    )

    class Meta:
        ordering = ["changed_at", "id"]
        # The uptime history reads a window of days for every component at once.
        indexes = [models.Index(fields=["changed_at"], name="component_change_at")]
        verbose_name = _("component status change")
        verbose_name_plural = _("component status changes")

    def __str__(self) -> str:
        return f"{self.component_id}: {self.old_status or '-'} → {self.new_status}"


class StatusPageIncident(models.Model):
    """The incident as one status page shows it: at most one per incident and audience."""

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="page_incidents",
        verbose_name=_("incident"),
    )
    audience = models.CharField(max_length=10, choices=Audience.choices, verbose_name=_("audience"))
    name = models.CharField(max_length=300, verbose_name=_("name"))
    status = models.CharField(
        max_length=16,
        choices=PageStatus.choices,
        default=PageStatus.INVESTIGATING,
        verbose_name=_("status"),
    )
    products = models.ManyToManyField(
        Product, related_name="page_incidents", blank=True, verbose_name=_("products")
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "audience"], name="page_incident_one_per_audience"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PageStatus.values), name="page_incident_status_valid"
            ),
        ]
        verbose_name = _("status page incident")
        verbose_name_plural = _("status page incidents")

    def __str__(self) -> str:
        return self.name

    @property
    def public_id(self) -> str:
        """The id the public feeds use: no key or number that hints at internal volume."""
        return f"inc-{self.pk}"


class Communication(models.Model):
    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="communications",
        verbose_name=_("incident"),
    )
    audience = models.CharField(max_length=10, choices=Audience.choices, verbose_name=_("audience"))
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("kind"))
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.DRAFT, verbose_name=_("state")
    )
    # HANDBOOK §8: what a follow-up must say.
    summary = models.TextField(
        help_text=_("One or two sentences: the current status and impact."),
        verbose_name=_("summary"),
    )
    current_status = models.TextField(
        blank=True, help_text=_("2-4 bullets, one per line."), verbose_name=_("current status")
    )
    next_steps = models.TextField(
        blank=True, help_text=_("2-4 bullets, one per line."), verbose_name=_("next steps")
    )
    customer_impact = models.TextField(
        blank=True,
        help_text=_("What are customers actually experiencing?"),
        verbose_name=_("customer impact"),
    )
    internal_customers_affected = models.CharField(
        max_length=100,
        blank=True,
        help_text=_('How many internal customers? "unknown" is fine.'),
        verbose_name=_("internal customers affected"),
    )
    external_customers_affected = models.CharField(
        max_length=100,
        blank=True,
        help_text=_('How many external customers? "unknown" is fine.'),
        verbose_name=_("external customers affected"),
    )
    root_cause = models.TextField(
        blank=True, help_text=_('The root cause, or "unknown".'), verbose_name=_("root cause")
    )
    eta = models.CharField(
        _("ETA"),
        max_length=200,
        blank=True,
        help_text=_('When recovery is expected, or "unknown".'),
    )
    next_update = models.CharField(
        _("next update"),
        max_length=200,
        blank=True,
        help_text=_("When and where the next update will be sent."),
    )
    next_update_at = models.DateTimeField(
        _("next update at"),
        null=True,
        blank=True,
        help_text=_("The promise becomes a deadline on the incident."),
    )
    page_status = models.CharField(
        _("status-page status"),
        max_length=16,
        choices=PageStatus.choices,
        default=PageStatus.INVESTIGATING,
    )
    component_status = models.CharField(
        _("products' status"),
        max_length=24,
        choices=ComponentStatus.choices,
        blank=True,
        help_text=_("External updates set the affected products' status on the public page."),
    )
    page_incident = models.ForeignKey(
        StatusPageIncident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="updates",
        verbose_name=_("page incident"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="communications",
        verbose_name=_("author"),
    )
    review_requested_from = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="review_requests",
        null=True,
        blank=True,
        verbose_name=_("review requested from"),
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reviewed_communications",
        null=True,
        blank=True,
        verbose_name=_("reviewer"),
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="published_communications",
        null=True,
        blank=True,
        verbose_name=_("published by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    published_at = models.DateTimeField(null=True, blank=True, verbose_name=_("published at"))
    # When the communications manager (or IM) was reminded that next_update_at nears.
    reminded_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("reminded at")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=State.values), name="communication_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state=State.PUBLISHED) | Q(published_at__isnull=False),
                name="communication_published_has_time",
            ),
        ]
        indexes = [models.Index(fields=["incident", "state"], name="communication_by_state")]
        verbose_name = _("communication")
        verbose_name_plural = _("communications")

    def __str__(self) -> str:
        return f"{self.incident.key} {self.get_audience_display()} {self.get_kind_display()}"

    @property
    def is_published(self) -> bool:
        return self.state == State.PUBLISHED

    @property
    def label(self) -> str:
        """Its name in running text ("internal follow-up"), in the active language."""
        return str(COMMUNICATION_NAMES[(self.audience, self.kind)])

    @property
    def subject(self) -> str:
        """HANDBOOK §5 and §8: the internal name is also the e-mail subject."""
        return str(self.incident)

    @staticmethod
    def bullets(text: str) -> list[str]:
        return [line.strip().lstrip("-*• ").strip() for line in text.splitlines() if line.strip()]


class DistributionList(models.Model):
    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    addresses = models.TextField(
        blank=True, help_text=_("One e-mail address per line."), verbose_name=_("addresses")
    )
    teams = models.ManyToManyField(
        Team,
        related_name="distribution_lists",
        blank=True,
        help_text=_("Every member of these teams receives the list's mail."),
        verbose_name=_("teams"),
    )
    # The team whose admins manage the list (None: global admins only). It decides who
    # may change the list, not who receives mail: ``teams`` and ``is_default`` do that.
    # SET_NULL: deleting a team hands its lists to the global admins instead of
    # silently dropping addresses that may still be in use.
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        # "distribution_lists" is taken by ``teams`` (the lists a team's members get).
        related_name="owned_distribution_lists",
        help_text=_("The team whose admins manage this list; empty for global admins."),
        verbose_name=_("team"),
    )
    language = language_field(
        _("The language of its mail; its teams' members get theirs. Empty: the portal's.")
    )
    is_default = models.BooleanField(
        _("incident communications"),
        default=False,
        help_text=_("The list that receives every internal incident communication."),
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_list"
            )
        ]
        verbose_name = _("distribution list")
        verbose_name_plural = _("distribution lists")

    def __str__(self) -> str:
        return self.name

    def address_list(self) -> list[str]:
        return [line.strip() for line in self.addresses.splitlines() if line.strip()]


def _token() -> str:
    return secrets.token_urlsafe(24)


class Subscriber(models.Model):
    """A customer following the public page by e-mail; no products means all of them."""

    email = models.EmailField(unique=True, verbose_name=_("email"))
    products = models.ManyToManyField(
        Product, related_name="subscribers", blank=True, verbose_name=_("products")
    )
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))
    confirm_token = models.CharField(
        max_length=64, unique=True, default=_token, verbose_name=_("confirm token")
    )
    unsubscribe_token = models.CharField(
        max_length=64, unique=True, default=_token, verbose_name=_("unsubscribe token")
    )
    # Chosen at sign-up; empty for those who signed up before there was a choice.
    language = language_field()
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        ordering = ["email"]
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")

    def __str__(self) -> str:
        return self.email

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class Delivery(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxRow(models.Model):
    """One message to send. ``claimed_at`` is the lease of the worker sending it."""

    status = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    receipt = models.CharField(max_length=200, blank=True, verbose_name=_("receipt"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        abstract = True


class OutboundEmail(OutboxRow):
    communication = models.ForeignKey(
        Communication,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emails",
        verbose_name=_("communication"),
    )
    to = models.EmailField(verbose_name=_("to"))
    subject = models.CharField(max_length=300, verbose_name=_("subject"))
    text = models.TextField(verbose_name=_("text"))
    html = models.TextField(blank=True, verbose_name=_("HTML"))
    # Also the idempotency key: one row per message, and receivers drop repeats.
    message_id = models.CharField(max_length=200, unique=True, verbose_name=_("message ID"))
    # Headers of this mail alone (a subscriber's List-Unsubscribe); the transport adds
    # the ones every mail carries.
    headers = models.JSONField(default=dict, blank=True, verbose_name=_("headers"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="email_outbox_pending")]
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"


class ChatFormat(models.TextChoices):
    SLACK = "slack", _("Slack (Block Kit)")
    # Office 365 connectors, which take MessageCards, are being retired by Microsoft.
    TEAMS = "teams", _("Microsoft Teams connector (MessageCard)")
    TEAMS_WORKFLOWS = "teams_workflows", _("Microsoft Teams Workflows (Adaptive Card)")


class ChatWebhook(models.Model):
    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, related_name="chat_webhook", verbose_name=_("team")
    )
    url = models.URLField(max_length=500, verbose_name=_("URL"))
    format = models.CharField(
        max_length=20,
        choices=ChatFormat.choices,
        default=ChatFormat.SLACK,
        verbose_name=_("format"),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    language = language_field(_("The language of its messages. Empty: the portal's."))

    class Meta:
        verbose_name = _("chat webhook")
        verbose_name_plural = _("chat webhooks")

    def __str__(self) -> str:
        return gettext("%(team)s chat") % {"team": self.team.name}


class ChatMessage(OutboxRow):
    webhook = models.ForeignKey(
        ChatWebhook, on_delete=models.CASCADE, related_name="messages", verbose_name=_("webhook")
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="chat_messages", verbose_name=_("incident")
    )
    title = models.CharField(max_length=300, blank=True, verbose_name=_("title"))
    text = models.TextField(verbose_name=_("text"))
    idempotency_key = models.CharField(
        max_length=100, unique=True, default=uuid.uuid4, verbose_name=_("idempotency key")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="chat_outbox_pending")]
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")

    def __str__(self) -> str:
        return f"{self.incident.key}: {self.text[:60]}"


class WebhookEvent(models.TextChoices):
    """Every event an outgoing webhook may receive; docs/webhooks.md shows each payload."""

    CREATED = "incident.created", _("Incident created")
    SEVERITY_CHANGED = "incident.severity_changed", _("Severity changed")
    STATUS_CHANGED = "incident.status_changed", _("Status changed")
    ROLE_CHANGED = "incident.role_changed", _("Role changed")
    COMMUNICATION_PUBLISHED = "communication.published", _("Communication published")
    RESOLVED = "incident.resolved", _("Incident resolved")


class Webhook(models.Model):
    """An outside tool that follows incidents: receives signed JSON for chosen events."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    url = models.URLField(max_length=500, verbose_name=_("URL"))
    secret = models.CharField(max_length=100, default=_token, verbose_name=_("secret"))
    events = models.JSONField(
        default=list, help_text=_("The event names it receives."), verbose_name=_("events")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    # The team whose admins manage it (None: global admins only). Informational for
    # delivery: a webhook receives its events for every incident, whatever its team.
    # SET_NULL: deleting a team keeps the webhook and its delivery record.
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhooks",
        help_text=_("The team whose admins manage this webhook; empty for global admins."),
        verbose_name=_("team"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(OutboxRow):
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices, verbose_name=_("event"))
    # Sent to the receiver too, so it can drop a repeat.
    event_id = models.UUIDField(default=uuid.uuid4, verbose_name=_("event ID"))
    payload = models.JSONField(verbose_name=_("payload"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event_id"], name="one_delivery_per_event")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="webhook_outbox_pending")]
        verbose_name = _("webhook delivery")

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook}"


# Scheduled maintenances (the public status page; see comms/maintenance/) ---------------


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Maintenance(models.Model):
    """Planned work on products: announced ahead, the products under maintenance while its
    window runs. The beat task moves it on from the window's times stored here."""

    title = models.CharField(_("title"), max_length=200)
    message = models.TextField(_("message"), help_text=_("What customers should expect."))
    products = models.ManyToManyField(
        Product, related_name="maintenances", verbose_name=_("products")
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=MaintenanceStatus.choices,
        default=MaintenanceStatus.SCHEDULED,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="maintenances",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    # When it completed or was cancelled.
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("scheduled maintenance")
        verbose_name_plural = _("scheduled maintenances")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MaintenanceStatus.values),
                name="scheduled_maintenance_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="scheduled_maintenance_ends_after_start",
            ),
        ]
        # What the beat tick asks every few seconds: due rows of one status.
        indexes = [
            models.Index(fields=["status", "starts_at"], name="sched_maint_due_start"),
            models.Index(fields=["status", "ends_at"], name="sched_maint_due_end"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def public_id(self) -> str:
        return f"mnt-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS)


class MaintenanceUpdate(models.Model):
    """One step of a maintenance, by whom: its history in the portal and the
    ``incident_updates`` of the Statuspage JSON."""

    maintenance = models.ForeignKey(
        Maintenance, on_delete=models.CASCADE, related_name="updates", verbose_name=_("maintenance")
    )
    status = models.CharField(
        max_length=12, choices=MaintenanceStatus.choices, verbose_name=_("status")
    )
    body = models.TextField(verbose_name=_("body"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="maintenance_updates",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("maintenance update")
        verbose_name_plural = _("maintenance updates")

    def __str__(self) -> str:
        return f"{self.maintenance}: {self.get_status_display()}"
