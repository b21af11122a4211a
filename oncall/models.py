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
from django.utils.translation import gettext
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
        Team,
        on_delete=models.CASCADE,
        related_name="rosters",
        null=True,
        blank=True,
        verbose_name=_("team"),
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    slug = models.SlugField(max_length=100, unique=True, verbose_name=_("slug"))
    shift_length = models.PositiveSmallIntegerField(
        default=1,
        help_text=_("How many hours, days or weeks each person is on call."),
        verbose_name=_("shift length"),
    )
    shift_unit = models.CharField(
        max_length=5,
        choices=ShiftUnit.choices,
        default=ShiftUnit.WEEKS,
        verbose_name=_("shift unit"),
    )
    handoff_time = models.TimeField(
        default=time(9, 0),
        help_text=_("Local time of day when one person hands over to the next."),
        verbose_name=_("handoff time"),
    )
    start_date = models.DateField(
        default=timezone.localdate,
        help_text=_("The first shift starts on this day."),
        verbose_name=_("start date"),
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("Hand-offs stay at the local hour across daylight-saving changes."),
        verbose_name=_("time zone"),
    )
    feed_token = models.CharField(
        max_length=64, unique=True, default=new_feed_token, verbose_name=_("feed token")
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    # An archived roster pages nobody and leaves the lists; its shifts stay for history.
    archived_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("archived at")
    )

    objects = RosterQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(shift_length__gte=1), name="roster_shift_positive"),
            models.CheckConstraint(
                condition=Q(shift_unit__in=ShiftUnit.values), name="roster_shift_unit_valid"
            ),
        ]
        verbose_name = _("roster")
        verbose_name_plural = _("rosters")

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

    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, related_name="rotations", verbose_name=_("roster")
    )
    effective_from = models.DateTimeField(verbose_name=_("effective from"))
    start_date = models.DateField(verbose_name=_("start date"))
    handoff_time = models.TimeField(verbose_name=_("handoff time"))
    shift_length = models.PositiveSmallIntegerField(verbose_name=_("shift length"))
    shift_unit = models.CharField(
        max_length=5, choices=ShiftUnit.choices, verbose_name=_("shift unit")
    )
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], verbose_name=_("time zone")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

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
        verbose_name = _("rotation")
        verbose_name_plural = _("rotations")

    def __str__(self) -> str:
        return gettext("%(roster)s from %(start)s UTC") % {
            "roster": self.roster,
            "start": f"{self.effective_from:%Y-%m-%d %H:%M}",
        }


class Participant(models.Model):
    """A place in one rotation version (``roster`` repeats the version's roster)."""

    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, related_name="participants", verbose_name=_("roster")
    )
    rotation = models.ForeignKey(
        Rotation, on_delete=models.CASCADE, related_name="members", verbose_name=_("rotation")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="roster_places",
        verbose_name=_("user"),
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "user"], name="participant_once"),
            models.UniqueConstraint(fields=["rotation", "position"], name="participant_position"),
        ]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")

    def __str__(self) -> str:
        return f"{self.roster} #{self.position}: {self.user}"


class Override(models.Model):
    """Someone covers the roster between two instants (a holiday swap); wins over turns."""

    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, related_name="overrides", verbose_name=_("roster")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="roster_overrides",
        verbose_name=_("user"),
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    reason = models.CharField(max_length=200, blank=True, verbose_name=_("reason"))
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

    class Meta:
        ordering = ["roster", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["roster", "starts_at"], name="override_by_start")]
        verbose_name = _("override")
        verbose_name_plural = _("overrides")

    def __str__(self) -> str:
        return gettext("%(person)s covers %(roster)s") % {
            "person": self.user,
            "roster": self.roster,
        }


class TeamAdmin(models.Model):
    """People who edit their own team's rosters and escalation policy."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="oncall_admins", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="oncall_admin_of",
        verbose_name=_("user"),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_admin_once")]
        verbose_name = _("team admin")
        verbose_name_plural = _("team admins")

    def __str__(self) -> str:
        return gettext("%(person)s administers %(team)s") % {"person": self.user, "team": self.team}


class EscalationPolicy(models.Model):
    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, related_name="escalation_policy", verbose_name=_("team")
    )
    repeat = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("How many more times the steps run before the IMOC is paged."),
        verbose_name=_("repeat"),
    )

    class Meta:
        verbose_name_plural = _("escalation policies")
        verbose_name = _("escalation policy")

    def __str__(self) -> str:
        return gettext("Escalation of %(team)s") % {"team": self.team}


class StepKind(models.TextChoices):
    ROSTER = "roster", _("Notify the roster's on-call")
    USER = "user", _("Notify a person")
    TEAM = "team", _("Notify the whole team")
    IMOC = "imoc", _("Notify the IMOC")


class EscalationStep(models.Model):
    """If not acknowledged after ``wait_minutes``, page the roster's on-call, a person,
    every member of the policy's team, or the IMOC (``kind``)."""

    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="steps", verbose_name=_("policy")
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    wait_minutes = models.PositiveSmallIntegerField(default=5, verbose_name=_("wait minutes"))
    # Blank on steps saved before kinds existed: their roster or user says which.
    kind = models.CharField(
        max_length=10, choices=StepKind.choices, blank=True, default="", verbose_name=_("kind")
    )
    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("roster")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("user"),
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
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")

    def __str__(self) -> str:
        target = self.roster or self.user or self.get_kind_display()
        return gettext("after %(minutes)s min: %(target)s") % {
            "minutes": self.wait_minutes,
            "target": target,
        }

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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="contact_methods",
        verbose_name=_("user"),
    )
    kind = models.CharField(max_length=10, choices=ContactKind.choices, verbose_name=_("kind"))
    # An e-mail address or a URL, depending on the kind.
    target = models.CharField(max_length=500, verbose_name=_("target"))
    # Signs generic webhooks (HMAC-SHA256); unused by the other kinds.
    secret = models.CharField(max_length=100, blank=True, verbose_name=_("secret"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        ordering = ["user", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ContactKind.values), name="contact_kind_valid"
            ),
            models.UniqueConstraint(fields=["user", "kind", "target"], name="contact_once"),
        ]
        verbose_name = _("contact method")
        verbose_name_plural = _("contact methods")

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

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="pages", verbose_name=_("incident")
    )
    # A person, or for severity 3 no one: the team's address in ``address``.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="pages",
        null=True,
        blank=True,
        verbose_name=_("user"),
    )
    address = models.EmailField(blank=True, verbose_name=_("address"))
    roster = models.ForeignKey(
        Roster, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("roster")
    )
    reason = models.CharField(max_length=12, choices=PageReason.choices, verbose_name=_("reason"))
    message = models.TextField(blank=True, verbose_name=_("message"))
    state = models.CharField(
        max_length=12, choices=PageState.choices, default=PageState.PENDING, verbose_name=_("state")
    )
    idempotency_key = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("idempotency key")
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
    attempt_count = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempt count"))
    # A worker holds the delivery until then; after it, the sweep may hand it to another.
    claimed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed until"))
    # The sweep handed the page to a worker (a queued message) until then; a claim clears it.
    offered_until = models.DateTimeField(null=True, blank=True, verbose_name=_("offered until"))
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
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
        verbose_name = _("page")
        verbose_name_plural = _("pages")

    def __str__(self) -> str:
        return f"Page {self.pk} of {self.recipient} for {self.incident_id}"

    @property
    def recipient(self) -> str:
        return self.user.get_username() if self.user else self.address


class DeliveryAttempt(models.Model):
    """One try over one channel: who, how, when, and what came back."""

    page = models.ForeignKey(
        Page, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("page")
    )
    channel = models.CharField(
        max_length=10, choices=ContactKind.choices, verbose_name=_("channel")
    )
    target = models.CharField(max_length=500, verbose_name=_("target"))
    number = models.PositiveSmallIntegerField(verbose_name=_("number"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    ok = models.BooleanField(verbose_name=_("ok"))
    result = models.CharField(max_length=300, verbose_name=_("result"))
    # This failure was the channel's last try: a permanent error, or retries ran out.
    gave_up = models.BooleanField(default=False, verbose_name=_("gave up"))

    class Meta:
        ordering = ["page", "started_at", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

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

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="escalation", verbose_name=_("incident")
    )
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("policy")
    )
    state = models.CharField(
        max_length=12,
        choices=EscalationState.choices,
        default=EscalationState.ACTIVE,
        verbose_name=_("state"),
    )
    # Steps fired so far, counting across repeats; the IMOC comes after all of them.
    fired = models.PositiveSmallIntegerField(default=0, verbose_name=_("fired"))
    # The policy's steps and repeat count as they were when the escalation started
    # (``oncall.plan``): editing the policy mid-incident changes no escalation in flight.
    # Null for escalations started before snapshots, which follow the policy.
    plan = models.JSONField(null=True, blank=True, editable=False, verbose_name=_("plan"))
    next_escalation_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("next escalation at")
    )
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        indexes = [models.Index(fields=["state", "next_escalation_at"], name="escalation_due")]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

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

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="paging_events", verbose_name=_("incident")
    )
    kind = models.CharField(max_length=12, choices=EventKind.choices, verbose_name=_("kind"))
    # The English text, for search and for events written before ``data``.
    text = models.CharField(max_length=300, verbose_name=_("text"))
    # The facts and shape (``text_id``) each reader's language renders (``event_texts``).
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(default=timezone.now, verbose_name=_("at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("paging event")
        verbose_name_plural = _("paging events")

    def __str__(self) -> str:
        return self.text


from .integrations.models import *  # noqa
from .personal.models import *  # noqa
