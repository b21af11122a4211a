"""The shapes of the timeline entries communications write, in the reader's language
(see ``incidents.entry_texts``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from incidents.entry_texts import register

from .models import Audience, Kind


def facts_of(communication: Any) -> dict[str, str]:
    """What names a communication on the timeline: its audience and kind (machine values)."""
    return {"audience": communication.audience, "type": communication.kind}


def _label(d: Mapping[str, Any]) -> str:
    # "internal initial": the audience and kind labels, in the order the language puts them.
    return _("%(audience)s %(kind)s") % {
        "audience": str(Audience(d["audience"]).label).lower(),
        "kind": str(Kind(d["type"]).label).lower(),
    }


@register("comms.drafted")
def _drafted(d: Mapping[str, Any]) -> str:
    return _("%(who)s drafted the %(communication)s.") % {
        "who": d["who"],
        "communication": _label(d),
    }


@register("comms.review_asked")
def _review_asked(d: Mapping[str, Any]) -> str:
    return _("%(who)s asked %(reviewer)s to review the %(communication)s.") % {
        "who": d["who"],
        "reviewer": d["reviewer"],
        "communication": _label(d),
    }


@register("comms.published")
def _published(d: Mapping[str, Any]) -> str:
    values = {
        "who": d["who"],
        "communication": _label(d),
        "reviewer": d.get("reviewed_by"),
        "summary": d["summary"],
    }
    if d.get("reviewed_by"):
        return (
            _("%(who)s published the %(communication)s, reviewed by %(reviewer)s: %(summary)s")
            % values
        )
    return _("%(who)s published the %(communication)s: %(summary)s") % values


@register("comms.reminded")
def _reminded(d: Mapping[str, Any]) -> str:
    return _("Reminded that the next update is due (%(communication)s).") % {
        "communication": _label(d)
    }
