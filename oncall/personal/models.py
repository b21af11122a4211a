"""Personal on-call: notification rules, test pages, shift swaps and hand-off notices.

Models of the ``oncall`` app (imported by ``oncall.models``), kept apart from the
rosters and pages they build on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comms.models import ChatWebhook, OutboxRow

from ..models import ContactMethod, Override, Roster

__all__ = [
    "Chain",
    "HandoffNotice",
    "NotificationRule",
    "ShiftSwap",
    "SwapState",
    "TestPage",
]


class Chain(models.TextChoices):
    """Which of a person's two chains a page follows, by the incident's severity."""

    MAJOR = "major", _("Severity 1-2")
    MINOR = "minor", _("Severity 3")


# A rule waits at most a day: a longer delay is no longer paging.
MAX_DELAY_MINUTES = 24 * 60


class NotificationRule(models.Model):
    """Page ``method`` ``delay_minutes`` after the page was written, unless acknowledged."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_rules",
        verbose_name=_("user"),
    )
    chain = models.CharField(max_length=5, choices=Chain.choices, verbose_name=_("chain"))
    method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="rules", verbose_name=_("method")
    )
    delay_minutes = models.PositiveSmallIntegerField(default=0, verbose_name=_("delay minutes"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        app_label = "oncall"
        ordering = ["user", "chain", "delay_minutes", "id"]
        constraints = [
            # A channel is settled once per page (delivery keys attempts by channel):
            # the same method twice in one chain would never be sent the second time.
            models.UniqueConstraint(fields=["user", "chain", "method"], name="rule_method_once"),
            models.CheckConstraint(condition=Q(chain__in=Chain.values), name="rule_chain_valid"),
            models.CheckConstraint(
                condition=Q(delay_minutes__lte=MAX_DELAY_MINUTES), name="rule_delay_bounded"
            ),
        ]
        verbose_name = _("notification rule")
        verbose_name_plural = _("notification rules")

    def __str__(self) -> str:
        return f"{self.user} {self.chain} +{self.delay_minutes} min: {self.method}"


class TestPage(OutboxRow):
    """A person pages themself through one chain to see that it reaches them; the
    outbox fields are its delivery, ``results`` what each step answered."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="test_pages",
        verbose_name=_("user"),
    )
    chain = models.CharField(max_length=5, choices=Chain.choices, verbose_name=_("chain"))
    # [{"method": shown target, "kind": ..., "delay_minutes": n, "ok": bool, "result": text}]
    results = models.JSONField(default=list, blank=True, verbose_name=_("results"))

    class Meta:
        app_label = "oncall"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="test_page_pending")]
        verbose_name = _("test page")
        verbose_name_plural = _("test pages")

    def __str__(self) -> str:
        return f"Test page of {self.user} ({self.chain})"


class SwapState(models.TextChoices):
    OPEN = "open", _("offered")
    TAKEN = "taken", _("taken")
    WITHDRAWN = "withdrawn", _("withdrawn")


class ShiftSwap(models.Model):
    """Someone offers (part of) their shift; the teammate who takes it covers it by an
    ``Override`` made when they take it."""

    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, related_name="swaps", verbose_name=_("roster")
    )
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="swaps_offered",
        verbose_name=_("offered by"),
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    note = models.CharField(max_length=200, blank=True, verbose_name=_("note"))
    state = models.CharField(
        max_length=10, choices=SwapState.choices, default=SwapState.OPEN, verbose_name=_("state")
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="swaps_taken",
        verbose_name=_("taken by"),
    )
    override = models.OneToOneField(
        Override,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="swap",
        verbose_name=_("override"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    settled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("settled at"))

    class Meta:
        app_label = "oncall"
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="swap_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(state__in=SwapState.values), name="swap_state_valid"
            ),
        ]
        indexes = [models.Index(fields=["state", "starts_at"], name="swap_open")]
        verbose_name = _("shift swap")
        verbose_name_plural = _("shift swaps")

    def __str__(self) -> str:
        return f"{self.offered_by} offers {self.roster} from {self.starts_at:%Y-%m-%d %H:%M}"


class HandoffNotice(OutboxRow):
    """One shift start of one roster, told to the incoming person (e-mail through the
    comms outbox) and to the team's chat (this row's outbox fields)."""

    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, related_name="handoff_notices", verbose_name=_("roster")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="handoff_notices",
        verbose_name=_("user"),
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    webhook = models.ForeignKey(
        ChatWebhook,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("webhook"),
    )
    text = models.CharField(max_length=300, verbose_name=_("text"))

    class Meta:
        app_label = "oncall"
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["roster", "starts_at"], name="handoff_notice_once")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="handoff_pending")]
        verbose_name = _("handoff notice")
        verbose_name_plural = _("handoff notices")

    def __str__(self) -> str:
        return self.text
