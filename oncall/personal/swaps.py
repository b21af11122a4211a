"""Shift swaps, their write path: a person offers (part of) their own shift, a teammate
takes it, and taking it makes an ``Override`` (so the calendar, the feeds and paging
follow it with no code of their own); both are told by e-mail through the comms outbox.

The swap row keeps its own history (who offered, who took, when): swaps belong to no
incident, so they have no timeline entry.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from comms.content import site_url
from comms.models import OutboundEmail
from comms.outbox import queue
from incidents.actions import ActionRefused

from .. import actions, schedule, selectors
from ..models import Roster
from .models import ShiftSwap, SwapState


def local_text(at: datetime, time_zone: str) -> str:
    """``at`` as people of that zone read it, with the zone named: "Mon 9 Mar 09:00
    Europe/Paris" (day and month names translated)."""
    # Translators: a date format (Django's "date" filter letters): weekday, day, month, time.
    return f"{date_format(at.astimezone(ZoneInfo(time_zone)), _('D j M H:i'))} {time_zone}"


def teammates(roster: Roster) -> QuerySet[User]:
    """Who may take a swap of the roster: its team's members and its participants."""
    people = Q(roster_places__roster=roster)
    if roster.team_id is not None:
        people |= Q(teams=roster.team_id)
    return User.objects.filter(people, is_active=True).distinct()


def _offerers_own(roster: Roster, user: User, starts_at: datetime, ends_at: datetime) -> bool:
    loaded = selectors.rosters_for_schedule().get(pk=roster.pk)
    slots = schedule.schedule(loaded, starts_at, ends_at)
    return bool(slots) and all(s.user == user and not s.override for s in slots)


@transaction.atomic
def offer_swap(
    roster: Roster, *, by: User, starts_at: datetime, ends_at: datetime, note: str = ""
) -> ShiftSwap:
    if ends_at <= starts_at:
        raise ActionRefused(_("The swap must end after it starts."), field="ends_at")
    if starts_at < timezone.now():
        raise ActionRefused(_("Offer a time that has not started yet."), field="starts_at")
    if ends_at - starts_at > actions.FURTHEST_AHEAD or ends_at > timezone.now() + (
        actions.FURTHEST_AHEAD
    ):
        raise ActionRefused(_("Offer a time within the next two years."), field="ends_at")
    if not _offerers_own(roster, by, starts_at, ends_at):
        raise ActionRefused(
            _("You can offer only time when you are on call for %(roster)s by its rotation.")
            % {"roster": roster.name},
            field="starts_at",
        )
    clash = ShiftSwap.objects.filter(
        roster=roster, state=SwapState.OPEN, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exists()
    if clash:
        raise ActionRefused(_("You offered part of this time already."), field="starts_at")
    return ShiftSwap.objects.create(
        roster=roster, offered_by=by, starts_at=starts_at, ends_at=ends_at, note=note.strip()
    )


def _lock_open(swap: ShiftSwap) -> ShiftSwap:
    # Only the swap row: PostgreSQL locks no outer join's nullable side (taken_by).
    current = (
        ShiftSwap.objects.select_for_update(of=("self",))
        .select_related("roster", "offered_by", "taken_by")
        .get(pk=swap.pk)
    )
    if current.state != SwapState.OPEN:
        who = current.taken_by.get_username() if current.taken_by else current.offered_by
        message = (
            _("%(who)s took this swap first.") % {"who": who}
            if current.state == SwapState.TAKEN
            else _("This swap was withdrawn.")
        )
        raise ActionRefused(message, field="swap", conflict=True)
    return current


@transaction.atomic
def take_swap(swap: ShiftSwap, *, by: User) -> ShiftSwap:
    current = _lock_open(swap)
    roster = current.roster
    if by.pk == current.offered_by_id:
        raise ActionRefused(_("You cannot take your own swap."), field="swap")
    if not teammates(roster).filter(pk=by.pk).exists():
        raise ActionRefused(
            _("Only people of %(roster)s's team take its swaps.") % {"roster": roster.name},
            field="swap",
        )
    if current.ends_at <= timezone.now():
        raise ActionRefused(_("This swap is over."), field="swap")
    offerer = current.offered_by
    reason = _("Swap: covers %(person)s") % {"person": offerer.get_username()}
    current.override = actions.add_override(
        roster,
        user=by,
        starts_at=max(current.starts_at, timezone.now()),
        ends_at=current.ends_at,
        by=by,
        reason=reason[:200],
    )
    current.state = SwapState.TAKEN
    current.taken_by = by
    current.settled_at = timezone.now()
    current.save(update_fields=["override", "state", "taken_by", "settled_at"])
    _tell_both(current, by)
    return current


@transaction.atomic
def withdraw_swap(swap: ShiftSwap, *, by: User) -> ShiftSwap:
    current = _lock_open(swap)
    if by.pk != current.offered_by_id:
        raise ActionRefused(_("Only the person who offered it withdraws a swap."), field="swap")
    current.state = SwapState.WITHDRAWN
    current.settled_at = timezone.now()
    current.save(update_fields=["state", "settled_at"])
    return current


def _tell_both(swap: ShiftSwap, taker: User) -> None:
    roster, zone = swap.roster, swap.roster.time_zone
    offerer = swap.offered_by
    values = {
        "taker": taker.get_username(),
        "offerer": offerer.get_username(),
        "roster": roster.name,
        "start": local_text(swap.starts_at, zone),
        "end": local_text(swap.ends_at, zone),
        "url": site_url(reverse("oncall:swaps")),
    }
    subject = _("Shift swap: %(taker)s covers %(offerer)s on %(roster)s") % values
    text = (
        _(
            "%(taker)s takes the shift %(offerer)s offered on %(roster)s:\n"
            "from %(start)s\nuntil %(end)s.\n\n"
            "%(taker)s is paged for %(roster)s then; the calendar and the calendar feeds "
            "show it.\n%(url)s\n"
        )
        % values
    )
    rows = [
        OutboundEmail(
            to=person.email,
            subject=subject,
            text=text,
            message_id=f"<swap-{swap.pk}-{person.pk}@{settings.COMMS_MESSAGE_ID_DOMAIN}>",
        )
        for person in (offerer, taker)
        if person.email
    ]
    queue(OutboundEmail, rows, "send_email")


def open_swaps() -> QuerySet[ShiftSwap]:
    return ShiftSwap.objects.filter(state=SwapState.OPEN, ends_at__gt=timezone.now())
