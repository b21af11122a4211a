"""System timeline entries in the reader's language.

A system entry stores its facts (``data``: names, machine values, ids) and a stable
``data["text_id"]`` naming its shape, beside the English ``text`` it is searched by.
Display renders the shape again from the facts in the active language; an entry whose
shape is unknown (a row written before shapes, an app not loaded) or whose facts are
incomplete shows its stored text. The English text is written by the same shape under
English, so what is stored and what an English reader sees never drift apart.

Other apps (``oncall``, ``comms``) register their shapes here with ``register``: this
app never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from incidents.models import Incident, Role, Status

Shape = Callable[[Mapping[str, Any]], str]

_SHAPES: dict[str, Shape] = {}


class Rendered(Protocol):
    """What carries a shaped text: a timeline entry, a paging event."""

    text: str
    data: Any


def register(text_id: str) -> Callable[[Shape], Shape]:
    """Name a shape; registering the same id twice is a programming error."""

    def add(shape: Shape) -> Shape:
        if _SHAPES.get(text_id, shape) is not shape:
            raise ValueError(f"text id {text_id!r} is registered twice")
        _SHAPES[text_id] = shape
        return shape

    return add


def facts(text_id: str, **values: Any) -> dict[str, Any]:
    """The ``data`` of an entry of shape ``text_id``."""
    if text_id not in _SHAPES:
        raise KeyError(f"unknown text id {text_id!r}")
    return {"text_id": text_id, **values}


def english(data: Mapping[str, Any]) -> str:
    """The text to store: the shape in English, whatever the writer's language."""
    with override("en"):
        return _SHAPES[data["text_id"]](data)


def render_data(data: Any, fallback: str) -> str:
    """``data`` in the active language, or ``fallback`` when it cannot be rendered."""
    if not isinstance(data, Mapping):
        return fallback
    shape = _SHAPES.get(data.get("text_id", ""))
    if shape is None:
        return fallback
    try:
        return shape(data)
    except (KeyError, TypeError, ValueError):
        # Facts written by an older version of the shape: the stored text still reads.
        return fallback


def render(item: Rendered) -> str:
    """What a reader sees of an entry or event. An entry its author corrected shows
    the correction (its text), never the generated words it replaced."""
    if getattr(item, "edited_at", None) is not None:
        return item.text
    return render_data(item.data, item.text)


def reason(value: Any) -> str:
    """A reason given as facts (a shape) or as free text, which is shown as it is."""
    if isinstance(value, Mapping):
        return _SHAPES[value["text_id"]](value)
    return str(value)


def with_note(text: str, note: Any) -> str:
    """A generated sentence followed by what the person added (their words, as written)."""
    note = str(note or "")
    return f"{text} {note}" if note else text


def _label(choices: type[models.Choices], value: Any) -> str:
    return str(choices(value).label)


# The incident record -------------------------------------------------------------------


@register("incident.created")
def _created(d: Mapping[str, Any]) -> str:
    return _("%(who)s logged %(key)s with severity %(severity)s on %(service)s.") % {
        "who": d["who"],
        "key": d["key"],
        "severity": d["severity"],
        "service": d["service"],
    }


@register("incident.claimed")
def _claimed(d: Mapping[str, Any]) -> str:
    return _("%(who)s claimed the incident.") % {"who": d["who"]}


@register("incident.status")
def _status(d: Mapping[str, Any]) -> str:
    return _("Status %(from)s → %(to)s.") % {
        "from": _label(Status, d["from"]),
        "to": _label(Status, d["to"]),
    }


@register("incident.severity")
def _severity(d: Mapping[str, Any]) -> str:
    text = _("Severity %(from)s → %(to)s.") % {"from": int(d["from"]), "to": int(d["to"])}
    if "alert" in d:
        text += " " + _("Alert %(alert)s now reports %(level)s.") % {
            "alert": repr(d["alert"]),
            "level": d["reports"],
        }
    return with_note(text, d.get("reason"))


@register("incident.handed")
def _handed(d: Mapping[str, Any]) -> str:
    return _("%(who)s handed the incident to %(to)s.") % {"who": d["who"], "to": d["to"]}


@register("incident.released")
def _released(d: Mapping[str, Any]) -> str:
    return _("%(who)s released the incident; it has no incident manager.") % {"who": d["who"]}


@register("incident.edited")
def _edited(d: Mapping[str, Any]) -> str:
    names = ", ".join(
        str(Incident._meta.get_field(name).verbose_name)  # type: ignore[union-attr]  # concrete fields
        for name in d["fields"]
    )
    return _("%(who)s edited %(fields)s.") % {"who": d["who"], "fields": names}


# Roles --------------------------------------------------------------------------------


def _role(d: Mapping[str, Any]) -> str:
    # A custom role is named by people; the others by their translated label.
    return str(d["label"]) if d["role"] == Role.CUSTOM else _label(Role, d["role"])


@register("role.assigned")
def _role_assigned(d: Mapping[str, Any]) -> str:
    values = {"who": d["who"], "person": d["person"], "role": _role(d)}
    if d.get("scope"):
        return _("%(who)s made %(person)s %(role)s for %(scope)s.") % {
            **values,
            "scope": d["scope"],
        }
    return _("%(who)s made %(person)s %(role)s.") % values


@register("role.handed_over")
def _role_handed_over(d: Mapping[str, Any]) -> str:
    text = _("%(from)s handed %(role)s over to %(person)s.") % {
        "from": d["from"],
        "role": _role(d),
        "person": d["person"],
    }
    return with_note(text, d.get("note"))


@register("role.released")
def _role_released(d: Mapping[str, Any]) -> str:
    values = {"who": d["who"], "person": d["person"], "role": _role(d)}
    if d["who"] == d["person"]:
        text = _("%(who)s released %(role)s.") % values
    else:
        text = _("%(who)s released %(person)s from %(role)s.") % values
    if not d.get("manager_changed"):
        return text
    if d.get("successor"):
        after = _("%(name)s is now the incident manager.") % {"name": d["successor"]}
    else:
        after = _("The incident has no incident manager.")
    return f"{text} {after}"


# The workspace -------------------------------------------------------------------------


@register("break.taken")
def _break_taken(d: Mapping[str, Any]) -> str:
    return with_note(_("%(person)s took a break.") % {"person": d["person"]}, d.get("note"))


@register("break.sent")
def _break_sent(d: Mapping[str, Any]) -> str:
    text = _("%(who)s sent %(person)s on a break.") % {"who": d["who"], "person": d["person"]}
    return with_note(text, d.get("note"))


def change_words(d: Mapping[str, Any]) -> str:
    """A reported change as the timeline names it: kind, service, time (UTC), summary."""
    from incidents.workspace.models import ServiceChangeKind

    return _("%(kind)s of %(service)s at %(when)s UTC: %(summary)s") % {
        "kind": _label(ServiceChangeKind, d["change_kind"]),
        "service": d["service"],
        "when": d["when"],
        "summary": d["summary"],
    }


@register("change.suspected")
def _change_suspected(d: Mapping[str, Any]) -> str:
    return _("Suspected cause: %(change)s") % {"change": change_words(d)}


@register("change.rolled_back")
def _change_rolled_back(d: Mapping[str, Any]) -> str:
    return _("Rolled back: %(change)s") % {"change": change_words(d)}


@register("change.undone")
def _change_undone(d: Mapping[str, Any]) -> str:
    text = _("Undid: %(what)s") % {"what": d["what"]}
    if d.get("how"):
        text += "\n" + _("How: %(how)s") % {"how": d["how"]}
    return text


@register("theory.decided")
def _theory_decided(d: Mapping[str, Any]) -> str:
    from incidents.models import TheoryState

    verdicts = {
        TheoryState.OPEN: _("Reopened the theory: %(what)s"),
        TheoryState.CONFIRMED: _("Confirmed: %(what)s"),
        TheoryState.DISPROVED: _("Disproved: %(what)s"),
    }
    text = verdicts[TheoryState(d["state"])] % {"what": d["what"]}
    return f"{text}\n{d['note']}" if d.get("note") else text


@register("workstream.started")
def _workstream_started(d: Mapping[str, Any]) -> str:
    values = {"who": d["who"], "name": d["name"], "lead": d.get("lead")}
    if d.get("lead"):
        return _("%(who)s started the workstream %(name)s, led by %(lead)s.") % values
    return _("%(who)s started the workstream %(name)s.") % values


@register("workstream.updated")
def _workstream_updated(d: Mapping[str, Any]) -> str:
    from incidents.workspace.models import WorkstreamState

    def change(field: str) -> str:
        if field == "state":
            return _("now %(state)s") % {"state": _label(WorkstreamState, d["state"]).lower()}
        if field == "lead":
            return _("led by %(lead)s") % {"lead": d["lead"] or _("nobody")}
        if field == "name":
            return _("new name")
        if field == "goal":
            return _("new goal")
        raise ValueError(field)

    return _("%(who)s updated the workstream %(name)s: %(changes)s.") % {
        "who": d["who"],
        "name": d["name"],
        "changes": ", ".join(change(field) for field in d["fields"]),
    }


@register("assessment.saved")
def _assessment(d: Mapping[str, Any]) -> str:
    from incidents.workspace.models import Affected, Assessment

    def label(name: str) -> str:
        return str(Assessment._meta.get_field(name).verbose_name)  # type: ignore[union-attr]  # plain columns

    affected = (
        str(d["affected_count"])
        if d["affected"] == Affected.NUMBER
        else _label(Affected, d["affected"]).lower()
    )
    lines = [
        _("Assessment (revision %(revision)s). Customers affected: %(affected)s.")
        % {"revision": d["revision"], "affected": affected}
    ]
    for field, value in d["answers"]:
        lines.append(
            _("%(question)s: %(answer)s") % {"question": label(field).capitalize(), "answer": value}
        )
    if d.get("started_at"):
        started = timezone.localtime(parse_datetime(d["started_at"]))
        lines.append(_("Started: %(time)s.") % {"time": f"{started:%Y-%m-%d %H:%M %Z}"})
    if d.get("support_cases") is not None:
        lines.append(_("Support cases opened: %(count)s.") % {"count": d["support_cases"]})
    if d.get("factors"):
        factors = ", ".join(label(name) for name in d["factors"])
        lines.append(_("Other factors: %(factors)s.") % {"factors": factors})
    if d.get("other_factors"):
        lines.append(d["other_factors"])
    if d.get("suggested_severity") is not None:
        lines.append(
            _("The severity matrix suggests severity %(severity)s.")
            % {"severity": d["suggested_severity"]}
        )
    return "\n".join(lines)


# After the incident --------------------------------------------------------------------


@register("cleanup.added")
def _cleanup_added(d: Mapping[str, Any]) -> str:
    values = {"title": d["title"], "owner": d.get("owner"), "due": d.get("due")}
    if d.get("owner") and d.get("due"):
        return _("Cleanup task: %(title)s (owner %(owner)s, due %(due)s)") % values
    if d.get("owner"):
        return _("Cleanup task: %(title)s (owner %(owner)s)") % values
    return _("Cleanup task: %(title)s") % values


@register("cleanup.done")
def _cleanup_done(d: Mapping[str, Any]) -> str:
    if d["done"]:
        return _("Done: %(title)s") % {"title": d["title"]}
    return _("Reopened: %(title)s") % {"title": d["title"]}


@register("review.started")
def _review_started(d: Mapping[str, Any]) -> str:
    return _("%(who)s started the post-incident review.") % {"who": d["who"]}


@register("review.completed")
def _review_completed(d: Mapping[str, Any]) -> str:
    return _("%(who)s completed the review.") % {"who": d["who"]}


# Support cases -------------------------------------------------------------------------


@register("cases.labelled")
def _cases_labelled(d: Mapping[str, Any]) -> str:
    moved = len(d["moved"])
    count = len(d["labelled"]) + moved
    values = {"who": d["who"], "count": count, "key": d["key"], "moved": moved}
    if moved:
        return (
            ngettext(
                "%(who)s labelled %(count)s support case with %(key)s "
                "(%(moved)s moved from other incidents).",
                "%(who)s labelled %(count)s support cases with %(key)s "
                "(%(moved)s moved from other incidents).",
                count,
            )
            % values
        )
    return (
        ngettext(
            "%(who)s labelled %(count)s support case with %(key)s.",
            "%(who)s labelled %(count)s support cases with %(key)s.",
            count,
        )
        % values
    )


@register("cases.moved")
def _cases_moved(d: Mapping[str, Any]) -> str:
    count = len(d["moved"])
    values = {"who": d["who"], "count": count, "to": d.get("to")}
    if d.get("to"):
        return (
            ngettext(
                "%(who)s moved %(count)s support case to %(to)s.",
                "%(who)s moved %(count)s support cases to %(to)s.",
                count,
            )
            % values
        )
    # The destination is restricted: readers here may not learn its key.
    return (
        ngettext(
            "%(who)s moved %(count)s support case to another incident.",
            "%(who)s moved %(count)s support cases to another incident.",
            count,
        )
        % values
    )


@register("cases.removed")
def _cases_removed(d: Mapping[str, Any]) -> str:
    return _("%(who)s removed %(reference)s from %(key)s.") % {
        "who": d["who"],
        "reference": d["removed"][0],
        "key": d["key"],
    }


@register("cases.follow_up")
def _cases_follow_up(d: Mapping[str, Any]) -> str:
    if d["follow_up"]:
        return _("%(who)s turned customer follow-up on.") % {"who": d["who"]}
    return _("%(who)s turned customer follow-up off.") % {"who": d["who"]}
