"""What is left to do after a change of the incident, as other apps see it.

The record does not know that resolving leaves the public status page saying the
incident is ongoing: ``comms`` does, and says so here. Each app registers a provider
from its ``AppConfig.ready()``; after a change, the portal's view and the API call
``next_steps`` and show what the providers return (the portal as messages, the API in
its answer's ``next_steps``). Providers only read: whatever they point to (a pre-filled
draft) was made by their app's event handler inside the change's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from incidents.models import Incident


@dataclass(frozen=True)
class NextStep:
    # What kind of step, for API clients to tell them apart: "final_update".
    kind: str
    # One sentence for people: what is still wrong and what to do.
    text: str
    # The portal page where it is done (a path on this site).
    url: str
    # The button's words: "Publish the final update".
    action: str


# Called with the incident and who will read the steps (a signed-in user, always, but
# typed as Django gives ``request.user``).
Provider = Callable[["Incident", "User | AnonymousUser"], list[NextStep]]

_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    """Add (or replace, by name) a provider; called from ``AppConfig.ready()``."""
    _providers[name] = provider


def next_steps(incident: Incident, *, user: User | AnonymousUser) -> list[NextStep]:
    """What the providers say is left to do about ``incident``, for ``user`` to see."""
    steps: list[NextStep] = []
    for name in sorted(_providers):
        steps.extend(_providers[name](incident, user))
    return steps
