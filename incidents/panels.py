"""Sections other apps add to the incident page, registered in ``AppConfig.ready()``.

The incident record never imports ``oncall``, ``comms`` or its own subpackages; their
parts of the incident page (assessment, cleanup tasks, pages sent, communications, ...)
plug in here. A panel is a template and a function
that builds its context; the incident page renders every registered panel in order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.http import HttpRequest

from incidents.models import Incident

ContextBuilder = Callable[[HttpRequest, Incident], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: ContextBuilder
    # "lead" opens the wide column above the timeline, "main" follows the timeline,
    # "side" is the narrow column with the facts.
    column: Literal["lead", "main", "side"] = "main"
    order: int = 100


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.name] = panel


def render_list(request: HttpRequest, incident: Incident, column: str) -> list[dict[str, Any]]:
    """The panels of one column with their context; a builder returning None hides it."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda panel: panel.order):
        if panel.column != column:
            continue
        context = panel.context(request, incident)
        if context is not None:
            shown.append({"name": panel.name, "template": panel.template, "context": context})
    return shown
