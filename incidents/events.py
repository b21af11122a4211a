"""What happens to incidents, announced to the apps that react to it.

``incidents`` never imports ``oncall`` or ``comms``: they subscribe here from their
``AppConfig.ready()``. Handlers run synchronously inside the action's transaction, so
the outbox rows they write commit or roll back with the change that caused them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from incidents.models import Incident


@dataclass(frozen=True)
class IncidentEvent:
    name: str
    incident: Incident
    by: User | None
    data: dict[str, Any]


Handler = Callable[[IncidentEvent], None]
# A handler's form for many events of one kind at once (``publish_many``): one call for
# a batch of incidents, so its writes can be bulk statements instead of one per incident.
BatchHandler = Callable[[list[IncidentEvent]], None]

CREATED = "created"
STATUS_CHANGED = "status_changed"
SEVERITY_CHANGED = "severity_changed"
ASSIGNEE_CHANGED = "assignee_changed"
UPDATED = "updated"
# Roles other than the assignee (tech lead, communications manager, ...) changed. Data:
# action ("assigned", "handed_over", "released"), role (a ``Role`` value), label (what
# people read, e.g. "Scribe"), person (username of the holder; on a hand-over the new
# one) and, on a hand-over, from and note. A change that moves the assignee (the IM's
# role handed over or released) is announced as ASSIGNEE_CHANGED instead: one event per
# change. ``selectors.current_roles`` gives the whole line-up for the chat topic.
ROLE_CHANGED = "role_changed"
# Support cases were labelled with (or moved to) the incident. Data: case_ids. A resolved
# incident's new cases are followed up by whoever e-mails customers.
CASES_LABELLED = "cases_labelled"
NAMES = frozenset(
    {
        CREATED,
        STATUS_CHANGED,
        SEVERITY_CHANGED,
        ASSIGNEE_CHANGED,
        UPDATED,
        ROLE_CHANGED,
        CASES_LABELLED,
    }
)

_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if name not in NAMES:
        raise ValueError(f"Unknown incident event {name!r}")
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


_batch_forms: dict[Handler, BatchHandler] = {}


def in_batches(many: BatchHandler) -> Callable[[Handler], Handler]:
    """Decorate a handler with its form for many events: ``publish_many`` calls that
    once instead of the handler once per incident. The handler itself stays what is
    subscribed (and unsubscribed), so a subscriber has one identity either way."""

    def mark(handler: Handler) -> Handler:
        _batch_forms[handler] = many
        return handler

    return mark


# Every change of any incident (each timeline entry, each touch), for views that poll a
# marker (the support board). Listeners run inside the action and defer to the commit.
_change_listeners: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    if listener not in _change_listeners:
        _change_listeners.append(listener)


def changed() -> None:
    for listener in list(_change_listeners):
        listener()


def publish(name: str, incident: Incident, *, by: User | None, **data: Any) -> None:
    publish_many(name, [incident], by=by, **data)


def publish_many(name: str, incidents: list[Incident], *, by: User | None, **data: Any) -> None:
    """The same event for several incidents (created together): each handler in turn,
    with all of them at once when it has a batch form (``in_batches``)."""
    batch = [
        IncidentEvent(name=name, incident=incident, by=by, data=data) for incident in incidents
    ]
    for handler in list(_handlers[name]):
        many = _batch_forms.get(handler)
        if many is not None:
            many(batch)
            continue
        for event in batch:
            handler(event)
