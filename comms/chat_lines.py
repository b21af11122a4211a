"""The lines posted to a team's chat room, one whole sentence per case and per actor.

Called under the destination's language (``actions._post_chat``); ``who`` is the
username of whoever made the change, None for the system. Each line is a sentence of
its own rather than a sentence plus a " by @who" tail: word order differs by language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_lazy

from incidents.models import Incident, Status

from .models import Communication

# action -> (line without an actor, line with one); ``person`` is who holds the role now
# (or, released, who gave it up).
_ROLE_LINES = {
    "assigned": (
        gettext_lazy("%(key)s: %(role)s @%(person)s assigned."),
        gettext_lazy("%(key)s: %(role)s @%(person)s assigned by @%(who)s."),
    ),
    "handed_over": (
        gettext_lazy("%(key)s: %(role)s @%(person)s handed over."),
        gettext_lazy("%(key)s: %(role)s @%(person)s handed over by @%(who)s."),
    ),
    "released": (
        gettext_lazy("%(key)s: %(role)s @%(person)s released."),
        gettext_lazy("%(key)s: %(role)s @%(person)s released by @%(who)s."),
    ),
}
_RELEASED_BY_NOBODY = (
    gettext_lazy("%(key)s: %(role)s released."),
    gettext_lazy("%(key)s: %(role)s released by @%(who)s."),
)


def _pick(lines: tuple[Any, Any], who: str | None) -> str:
    return str(lines[1] if who else lines[0])


def created(incident: Incident, who: str | None) -> str:
    facts = {
        "key": incident.key,
        "who": who,
        "severity": incident.severity,
        "summary": incident.summary,
    }
    if who:
        return gettext("%(key)s created by @%(who)s: SEV %(severity)s %(summary)s") % facts
    return gettext("%(key)s created: SEV %(severity)s %(summary)s") % facts


def severity_changed(incident: Incident, previous: object, who: str | None) -> str:
    facts = {"key": incident.key, "who": who, "previous": previous, "severity": incident.severity}
    if who:
        return gettext("%(key)s severity %(previous)s → %(severity)s by @%(who)s.") % facts
    return gettext("%(key)s severity %(previous)s → %(severity)s.") % facts


def status_changed(incident: Incident, who: str | None) -> str:
    facts = {"key": incident.key, "who": who, "status": Status(incident.status).label.lower()}
    if who:
        return gettext("%(key)s is %(status)s by @%(who)s.") % facts
    return gettext("%(key)s is %(status)s.") % facts


def role_changed(incident: Incident, facts: dict[str, Any], who: str | None) -> str:
    """``facts`` as ``actions.role_facts`` gives them, its label in the active language."""
    values = {"key": incident.key, "who": who, "role": facts["label"], "person": facts["person"]}
    if facts["action"] == "claimed":
        if who:
            return gettext("%(key)s claimed by @%(who)s.") % values
        return gettext("%(key)s claimed.") % values
    if not facts["person"]:
        return _pick(_RELEASED_BY_NOBODY, who) % values
    return _pick(_ROLE_LINES[facts["action"]], who) % values


def published(communication: Communication) -> str:
    return gettext("%(key)s: %(communication)s published. %(summary)s") % {
        "key": communication.incident.key,
        "communication": communication.label,
        "summary": communication.summary,
    }


def with_topic(line: str, topic: str) -> str:
    return gettext("%(line)s\nTopic: %(topic)s") % {"line": line, "topic": topic}
