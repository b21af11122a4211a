"""The support board's rows, and the board around them, rendered with Jinja2 (the
second template engine in ``config/settings.py``): a board shows up to 120 rows, and
in Django's template language they were most of its cost. Here words are translated once per board
rather than once per row, and nothing per row goes through ``reverse``: a hundred rows
render about twenty times faster (measured with bench/support.py's data: 65-79 ms
against 3.0-3.8 ms on a loaded 2-core machine).

And each row is rendered once: a row's HTML follows from its values (``Row``) and the
board's shape (language, zone, labelling right), so the process keeps the rows it
rendered, keyed by both, and a board after a change renders only the rows that
changed. Nothing to invalidate: a changed incident is a new key.

Translations stay Django's: every word is a ``gettext`` call in this module, so
``makemessages`` finds it and the viewer's language applies.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from types import SimpleNamespace
from typing import Any

from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext, pgettext
from markupsafe import Markup, escape

from config.navigation import key_url, url
from incidents.models import Status
from incidents.support.dashboard import Board, Row

ACTIVE = "incidents/support/active_rows.html"
RESOLVED = "incidents/support/resolved_rows.html"
BOARD = "incidents/support/board.html"


def _template(name: str) -> Any:
    # The backend's wrapper; Jinja2 keeps the compiled template (and recompiles it
    # when the file changes, with DEBUG on).
    return engines["jinja2"].get_template(name)


@functools.lru_cache(maxsize=16)
def _digest(compiled: Any) -> str:
    # Once per compiled template (Jinja2's own object, not the backend's wrapper, which
    # is new on every ``get_template``): one reloaded in development is a new object.
    with open(compiled.filename, "rb") as source:
        return hashlib.blake2b(source.read(), digest_size=8).hexdigest()


def digest() -> str:
    """Changes when a template of the board does: part of the key of its cached HTML,
    so a deployment never serves a board rendered by the templates before it."""
    return "".join(_digest(_template(name).template) for name in (BOARD, ACTIVE, RESOLVED))


@functools.lru_cache(maxsize=8)
def _words(_language: str) -> SimpleNamespace:
    """The board's words, for its rows and around them: keyed by the language they are
    translated into, the current one. Attributes, not a dict: Jinja2 reads ``t.key``
    as an attribute first."""
    return SimpleNamespace(
        key=gettext("Key"),
        sev=gettext("Sev"),
        summary=gettext("Summary"),
        products=gettext("Products"),
        status=gettext("Status"),
        im=pgettext("incident manager, short", "IM"),
        started=gettext("Started"),
        last_update=gettext("Last update"),
        last_public_update=gettext("Last public update"),
        ended=gettext("Ended"),
        impact_ended=gettext("Impact ended"),
        cases=gettext("Cases"),
        label_a_case=gettext("Label a case"),
        new=gettext("new"),
        restricted=gettext("restricted"),
        unassigned=gettext("unassigned"),
        unknown=gettext("unknown"),
        none_yet=gettext("none yet"),
        case_reference=gettext("Case reference"),
        label_with=gettext("Label a case with %(key)s"),
        label=pgettext("verb: label a case", "Label"),
        active=gettext("Active incidents"),
        quiet=gettext("No active incidents. All quiet."),
        quiet_filtered=gettext("No active incidents for these filters. All quiet."),
        resolved=gettext("Resolved in the last day"),
        none_resolved=gettext("Nothing resolved in the last 24 hours."),
    )


def _per_count(word: Callable[[int], str]) -> Callable[[int], str]:
    # Rows share a handful of counts: each is translated once per list.
    return functools.lru_cache(maxsize=None)(word)


def _context() -> dict[str, object]:
    return {
        "t": _words(get_language() or ""),
        "statuses": {str(value): str(label) for value, label in Status.choices},
        "detail_url": key_url("incidents:detail"),
        "when": _exact_times(timezone.get_current_timezone()),
    }


def _exact_times(zone: tzinfo) -> Callable[[datetime], Markup]:
    """``hotline.when(value, cached=True)``, with the viewer's zone read once per list
    rather than once per time (two times a row)."""

    def exact(value: datetime) -> Markup:
        # Every time a row shows is set (resolved incidents have an end: a constraint).
        text = escape(value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z"))
        return Markup(
            f'<time class="ago" datetime="{escape(value.isoformat())}" title="{text}">{text}</time>'
        )

    return exact


# Rows a process keeps: a few boards' worth in every language, zone and right
# (about 1.5 KB each).
ROWS_KEPT = 4096

# What a row's HTML depends on besides its values: the template, language, time
# zone, and for active rows the labelling right and whether updates are known.
_Shape = tuple[str, str, str, str, bool, bool]


def _shape(name: str, *, can_label: bool = False, updates_unknown: bool = False) -> _Shape:
    compiled = _template(name).template
    return (
        name,
        _digest(compiled),
        get_language() or "",
        timezone.get_current_timezone_name(),
        can_label,
        updates_unknown,
    )


@functools.lru_cache(maxsize=64)
def _macros(shape: _Shape) -> Any:
    """The template's ``row`` macro with the shape's words and times (the current
    language and zone are the shape's: it was read from them)."""
    name, _digest, _language, _zone, can_label, updates_unknown = shape
    context = _context() | {
        "can_label": can_label,
        "updates_unknown": updates_unknown,
        "label_url": reverse("support:label"),
        "cases": _per_count(lambda n: ngettext("case", "cases", n)),
        "counted_cases": _per_count(
            lambda n: ngettext("%(counter)s case", "%(counter)s cases", n) % {"counter": n}
        ),
    }
    return _template(name).template.make_module(context)


@functools.lru_cache(maxsize=ROWS_KEPT)
def _row(shape: _Shape, row: Row) -> str:
    # Rendered by the template, with autoescape on.
    return str(_macros(shape).row(row))


def forget() -> None:
    """Drop the rows this process keeps (a process just started has none)."""
    _row.cache_clear()
    _macros.cache_clear()


def active(rows: Sequence[Row], *, can_label: bool, updates_unknown: bool) -> SafeString:
    """The board's active rows, in the current language and time zone."""
    shape = _shape(ACTIVE, can_label=can_label, updates_unknown=updates_unknown)
    return mark_safe("".join([_row(shape, row) for row in rows]))


def resolved(rows: Sequence[Row]) -> SafeString:
    """The board's recently resolved rows, in the current language and time zone."""
    shape = _shape(RESOLVED)
    return mark_safe("".join([_row(shape, row) for row in rows]))


def board(
    board: Board,
    *,
    marker: str,
    query: str,
    can_label: bool,
    poll_seconds: int,
    full_list_url: str,
) -> SafeString:
    """The whole board, in the current language and time zone: what a page shows and
    a changed poll sends. ``query``: the filters, kept in the poll's URL."""
    context = {
        "t": _words(get_language() or ""),
        "board": board,
        "query": query,
        "can_label": can_label,
        "poll_seconds": poll_seconds,
        "poll_url": f"{url('support:board')}?{f'{query}&' if query else ''}since={marker}",
        "capped": gettext(
            "Showing the first %(shown)s of %(total)s active incidents: the most severe "
            "first, then the longest running."
        )
        % {"shown": len(board.active), "total": board.active_total},
        # The link is the translation's; the URL in it is escaped (``Markup``'s %).
        "narrow": Markup(
            gettext(
                'Narrow the board by product or team, or <a href="%(full_list_url)s">open '
                "the full list of active incidents</a>."
            )
        )
        % {"full_list_url": full_list_url},
        "refreshes": gettext(
            "This page refreshes itself: a new incident shows up here within %(seconds)s seconds."
        )
        % {"seconds": poll_seconds},
        "active_rows": active(
            board.active, can_label=can_label, updates_unknown=not board.updates_known
        ),
        "resolved_rows": resolved(board.resolved),
    }
    # Rendered by the template, with autoescape on.
    return mark_safe(_template(BOARD).template.render(context))
