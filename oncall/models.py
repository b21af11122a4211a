"""Rosters (rotations and overrides), escalation policies, contact methods and pages."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, time
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident, Team
from incidents.models.people import validate_time_zone

IMOC_SLUG = "imoc"


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class ShiftUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")
    WEEKS = "weeks", _("weeks")


class RosterQuerySet(models.QuerySet["Roster"]):
    def active(self) -> RosterQuerySet:
        """Rosters not archived: the ones lists show and paging may use."""
        return self.filter(archived_at__isnull=True)


class Roster(models.Model):
    """A rotation: participants take turns, one shift each, handing off at a local hour."""

    # The IMOC roster belongs to no team: it is the global one.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="rosters", null=True, blank=True
    )
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    shift_length = models.PositiveSmallIntegerField(
        default=1, help_text=_("How many hours, days or weeks each person is on call.")
    )
    shift_unit = models.CharField(max_length=5, choices=ShiftUnit.choices, default=ShiftUnit.WEEKS)
    handoff_time = models.TimeField(
        default=time(9, 0), help_text=_("Local time of day when one person hands over to the next.")
    )
    start_date = models.DateField(
        default=timezone.localdate, help_text=_("The first shift starts on this day.")
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("Hand-offs stay at the local hour across daylight-saving changes."),
    )
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # An archived roster pages nobody and leaves the lists; its shifts stay for history.
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = RosterQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(shift_length__gte=1), name="roster_shift_positive"),
            models.CheckConstraint(
                condition=Q(shift_unit__in=ShiftUnit.values), name="roster_shift_unit_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_imoc(self) -> bool:
        return self.slug == IMOC_SLUG

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Rotation(models.Model):
    """One version of a roster's rotation, in force from ``effective_from`` until the next.

    A change never edits a rotation: it adds a version effective from a chosen instant
    (the next hand-off by default), so who was on call at any past instant stays as it
    was. Shifts are counted from ``start_date`` at ``handoff_time`` (local time: the
    version's last hand-off at or before ``effective_from``); its first shift runs from
    ``effective_from`` to the hand-off after that. The roster's own shift settings
    (``shift_length``, ``shift_unit``, ``handoff_time``, ``time_zone``) mirror its newest
    version, the starting point of the next change; ``Roster.start_date`` stays the day
    its first version began, which no later change alters.
    """

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="rotations")
    effective_from = models.DateTimeField()
    start_date = models.DateField()
    handoff_time = models.TimeField()
    shift_length = models.PositiveSmallIntegerField()
    shift_unit = models.CharField(max_length=5, choices=ShiftUnit.choices)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["roster", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["roster", "effective_from"], name="rotation_effective_once"
            ),
            models.CheckConstraint(
                condition=Q(shift_length__gte=1), name="rotation_shift_positive"
            ),
            models.CheckConstraint(
                condition=Q(shift_unit__in=ShiftUnit.values), name="rotation_shift_unit_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.roster} from {self.effective_from:%Y-%m-%d %H:%M} UTC"


class Participant(models.Model):
    """A place in one rotation version (``roster`` repeats the version's roster)."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="participants")
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roster_places"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "user"], name="participant_once"),
            models.UniqueConstraint(fields=["rotation", "position"], name="participant_position"),
        ]

    def __str__(self) -> str:
        return f"{self.roster} #{self.position}: {self.user}"


class Override(models.Model):
    """Someone covers the roster between two instants (a holiday swap); wins over turns."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roster_overrides"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["roster", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["roster", "starts_at"], name="override_by_start")]

    def __str__(self) -> str:
        return f"{self.user} covers {self.roster}"


class TeamAdmin(models.Model):
    """People who edit their own team's rosters and escalation policy."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="oncall_admins")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oncall_admin_of"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_admin_once")]

    def __str__(self) -> str:
        return f"{self.user} administers {self.team}"


class EscalationPolicy(models.Model):
    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="escalation_policy")
    repeat = models.PositiveSmallIntegerField(
        default=0, help_text=_("How many more times the steps run before the IMOC is paged.")
    )

    class Meta:
        verbose_name_plural = _("escalation policies")

    def __str__(self) -> str:
        return f"Escalation of {self.team}"


class StepKind(models.TextChoices):
    ROSTER = "roster", _("Notify the roster's on-call")
    USER = "user", _("Notify a person")
    TEAM = "team", _("Notify the whole team")
    IMOC = "imoc", _("Notify the IMOC")


class EscalationStep(models.Model):
    """If not acknowledged after ``wait_minutes``, page the roster's on-call, a person,
    every member of the policy's team, or the IMOC (``kind``)."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    wait_minutes = models.PositiveSmallIntegerField(default=5)
    # Blank on steps saved before kinds existed: their roster or user says which.
    kind = models.CharField(max_length=10, choices=StepKind.choices, blank=True, default="")
    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="step_position"),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["", StepKind.ROSTER], roster__isnull=False, user__isnull=True)
                    | Q(kind__in=["", StepKind.USER], user__isnull=False, roster__isnull=True)
                    | Q(
                        kind__in=[StepKind.TEAM, StepKind.IMOC],
                        roster__isnull=True,
                        user__isnull=True,
                    )
                ),
                name="step_target_matches_kind",
            ),
            models.CheckConstraint(condition=Q(wait_minutes__gte=1), name="step_waits"),
        ]

    def __str__(self) -> str:
        target = self.roster or self.user or self.get_kind_display()
        return f"after {self.wait_minutes} min: {target}"

    @property
    def target_kind(self) -> str:
        if self.kind:
            return self.kind
        return StepKind.ROSTER if self.roster_id is not None else StepKind.USER


class ContactKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SLACK = "slack", _("Slack-compatible webhook")
    WEBHOOK = "webhook", _("Signed JSON webhook")


class ContactMethod(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    # An e-mail address or a URL, depending on the kind.
    target = models.CharField(max_length=500)
    # Signs generic webhooks (HMAC-SHA256); unused by the other kinds.
    secret = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["user", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ContactKind.values), name="contact_kind_valid"
            ),
            models.UniqueConstraint(fields=["user", "kind", "target"], name="contact_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.target}"


class PageReason(models.TextChoices):
    INCIDENT = "incident", _("Major incident")
    ESCALATION = "escalation", _("Escalation step")
    IMOC = "imoc", _("IMOC")
    MANUAL = "manual", _("Manual escalation")
    TEAM_EMAIL = "team_email", _("Team e-mail (severity 3)")


class PageState(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


def shown_target(kind: str, target: str) -> str:
    """A delivery target as people may see it: an e-mail address as it is; a webhook
    URL (a credential: whoever has it may post) as its kind and host only, such as
    "Slack-compatible webhook (hooks.slack.com)"."""
    if kind == ContactKind.EMAIL:
        return target
    label = ContactKind(kind).label if kind in ContactKind.values else kind
    return f"{label} ({_host(target)})"


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or str(_("unknown host"))
    except ValueError:
        return str(_("unknown host"))


def without_target(kind: str, target: str, text: str) -> str:
    """``text`` (a transport's result) with a webhook's URL replaced by its host."""
    if kind == ContactKind.EMAIL or not target:
        return text
    return text.replace(target, _host(target))


class PageQuerySet(models.QuerySet["Page"]):
    def claimable(self, at: datetime) -> PageQuerySet:
        """Pending pages due by ``at`` that no worker holds: what a worker may claim."""
        return self.filter(state=PageState.PENDING, next_attempt_at__lte=at).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=at)
        )

    def offerable(self, at: datetime) -> PageQuerySet:
        """Claimable pages the sweep has not handed to a worker in the last lease
        (``offered_until``): a backlog of workers gets each page once, not every sweep."""
        return self.claimable(at).filter(Q(offered_until__isnull=True) | Q(offered_until__lt=at))

    def for_list(self) -> PageQuerySet:
        return self.select_related(
            "user", "acknowledged_by", "created_by", "roster"
        ).prefetch_related("attempts")


class Page(models.Model):
    """One obligation to notify: written with the incident change, delivered after commit."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="pages")
    # A person, or for severity 3 no one: the team's address in ``address``.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="pages",
        null=True,
        blank=True,
    )
    address = models.EmailField(blank=True)
    roster = models.ForeignKey(Roster, on_delete=models.SET_NULL, null=True, blank=True)
    reason = models.CharField(max_length=12, choices=PageReason.choices)
    message = models.TextField(blank=True)
    state = models.CharField(max_length=12, choices=PageState.choices, default=PageState.PENDING)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # A worker holds the delivery until then; after it, the sweep may hand it to another.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The sweep handed the page to a worker (a queued message) until then; a claim clears it.
    offered_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = PageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=PageState.values), name="page_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(address=""), name="page_has_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="page_due"),
        ]

    def __str__(self) -> str:
        return f"Page {self.pk} of {self.recipient} for {self.incident_id}"

    @property
    def recipient(self) -> str:
        return self.user.get_username() if self.user else self.address


class DeliveryAttempt(models.Model):
    """One try over one channel: who, how, when, and what came back."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="attempts")
    channel = models.CharField(max_length=10, choices=ContactKind.choices)
    target = models.CharField(max_length=500)
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    result = models.CharField(max_length=300)
    # This failure was the channel's last try: a permanent error, or retries ran out.
    gave_up = models.BooleanField(default=False)

    class Meta:
        ordering = ["page", "started_at", "id"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.shown_target}: {self.result}"

    @property
    def shown_target(self) -> str:
        return shown_target(self.channel, self.target)

    @property
    def shown_result(self) -> str:
        """The result without the target's URL (attempts recorded before it was left out)."""
        return without_target(self.channel, self.target, self.result)


class EscalationState(models.TextChoices):
    ACTIVE = "active", _("escalating")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    STOPPED = "stopped", _("stopped")
    EXHAUSTED = "exhausted", _("all steps paged")


class Escalation(models.Model):
    """Where an incident's escalation stands; ``next_escalation_at`` is its clock."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="escalation")
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.SET_NULL, null=True, blank=True)
    state = models.CharField(
        max_length=12, choices=EscalationState.choices, default=EscalationState.ACTIVE
    )
    # Steps fired so far, counting across repeats; the IMOC comes after all of them.
    fired = models.PositiveSmallIntegerField(default=0)
    # The policy's steps and repeat count as they were when the escalation started
    # (``oncall.plan``): editing the policy mid-incident changes no escalation in flight.
    # Null for escalations started before snapshots, which follow the policy.
    plan = models.JSONField(null=True, blank=True, editable=False)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_escalation_at"], name="escalation_due")]

    def __str__(self) -> str:
        return f"Escalation of {self.incident_id}: {self.state}"


class EventKind(models.TextChoices):
    STARTED = "started", _("Escalation started")
    STEP = "step", _("Escalation step")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    STOPPED = "stopped", _("Escalation stopped")
    FAILED = "failed", _("Page failed")
    NOBODY = "nobody", _("Nobody on call")
    MANUAL = "manual", _("Manual page")


class PagingEvent(models.Model):
    """The paging history of an incident, shown in its on-call panel."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="paging_events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    # The English text, for search and for events written before ``data``.
    text = models.CharField(max_length=300)
    # The facts and shape (``text_id``) each reader's language renders (``event_texts``).
    data = models.JSONField(default=dict, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text


from .integrations.models import *  # noqa
from .personal.models import *  # noqa
