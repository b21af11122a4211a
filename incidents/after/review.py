"""The post-incident review's first draft, written from what the incident recorded."""

from __future__ import annotations

from datetime import UTC

from django.template.loader import render_to_string
from django.utils import timezone

from incidents.models import EntryKind, Incident, TheoryState
from incidents.selectors import current_roles


def draft(incident: Incident) -> str:
    """Markdown: summary, impact, TTD/TTR, the timeline, the changes table, the confirmed
    theories and the cleanup tasks. People edit it from there."""
    context = {
        "incident": incident,
        "assessment": incident.assessments.first(),
        "roles": current_roles(incident),
        "timeline": incident.timeline.select_related("author").exclude(kind=EntryKind.REVIEW),
        "changes": incident.changes.select_related("entry__author", "undone_by"),
        "theories": incident.theories.filter(state=TheoryState.CONFIRMED).select_related(
            "entry__author"
        ),
        "tasks": incident.cleanup_tasks.select_related("owner"),
        "products": incident.affected_products.all(),
    }
    # The draft is a shared document: its times are UTC, whoever generates it.
    with timezone.override(UTC):
        return render_to_string("incidents/after/review.md", context).strip() + "\n"


def cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|") or "-"
