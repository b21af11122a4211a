"""Hooks other apps fill in for the fatigue card (HANDBOOK §9), registered in
``AppConfig.ready()``.

``incidents`` never imports ``oncall``; the on-call app knows how many pages each person
received and who is next on a roster, and tells us through these two functions. Without
a registered provider the card shows "unknown" and proposes a teammate instead.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from incidents.models import Incident

# (user ids, since) -> {user id: pages received since then}; ids missing count as 0.
PageCounter = Callable[[Collection[int], datetime], dict[int, int]]
# (incident, tired person) -> who takes over next on the same roster, or None.
NextResponder = Callable[["Incident", "User"], "User | None"]

_page_counter: PageCounter | None = None
_next_responder: NextResponder | None = None


def register_page_counter(counter: PageCounter) -> None:
    global _page_counter
    _page_counter = counter


def register_next_responder(finder: NextResponder) -> None:
    global _next_responder
    _next_responder = finder


def unregister() -> None:
    """Forget both providers (tests register their own)."""
    global _page_counter, _next_responder
    _page_counter = None
    _next_responder = None


def pages_received(user_ids: Collection[int], since: datetime) -> dict[int, int] | None:
    """Pages per person since ``since``; None while no app counts pages."""
    if _page_counter is None:
        return None
    counts = _page_counter(user_ids, since)
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}


def next_on_roster(incident: Incident, person: User) -> User | None:
    return _next_responder(incident, person) if _next_responder is not None else None
