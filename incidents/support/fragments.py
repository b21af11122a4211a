"""Rows rendered once and reused: a list of many rows renders only those that changed.

Each row's HTML is cached under a key made of everything the row shows (its
``inputs``), the shared context, the viewer's time zone and language, and the
template's own source, so a changed row, another zone or a new deployment never get
old HTML. One ``get_many`` and at most one ``set_many`` per list, whatever the number
of rows. Nothing personal goes into a row (no CSRF token: it travels in ``hx-headers``
on ``<body>``), and which rows a person sees stays the query's business.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from django.core.cache import cache
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

Row = TypeVar("Row")

# Rows of live lists are read every few seconds; an hour keeps a quiet row cached
# and lets the keys of rows that changed expire.
ROW_SECONDS = 60 * 60


def _template(name: str) -> tuple[object, str]:
    """The compiled template (a partial, from Django's template cache) and a digest of
    its source."""
    template = get_template(name).template  # type: ignore[attr-defined]  # the Django backend's
    return template, _digest(template)


@functools.lru_cache(maxsize=64)
def _digest(template: object) -> str:
    # Once per compiled template: a template reloaded in development is a new object.
    source: str = template.source  # type: ignore[attr-defined]
    return hashlib.blake2b(source.encode(), digest_size=8).hexdigest()


def digest(name: str) -> str:
    """Changes when the template's source does: part of every key of its HTML."""
    return _template(name)[1]


def render_each(
    name: str,
    rows: Sequence[Row],
    *,
    inputs: Callable[[Row], Iterable[object]],
    context: Mapping[str, object],
    as_name: str,
) -> list[SafeString]:
    """Render ``name`` once per row (the row in ``as_name``, beside ``context``),
    reusing the cached HTML of every row whose inputs are unchanged."""
    template, digest = _template(name)
    shared = (
        digest,
        sorted(context.items()),
        timezone.get_current_timezone_name(),
        translation.get_language(),
    )
    keys = [
        f"row:{name}:"
        + hashlib.blake2b(repr((shared, tuple(inputs(row)))).encode(), digest_size=16).hexdigest()
        for row in rows
    ]
    cached = cache.get_many(keys)
    fresh: dict[str, str] = {}
    render_context = Context(dict(context), autoescape=True)
    html = []
    for key, row in zip(keys, rows, strict=True):
        text = cached.get(key)
        if text is None:
            with render_context.push({as_name: row}):
                text = fresh[key] = str(template.render(render_context))  # type: ignore[attr-defined]
        # Cached text was rendered by the template, escaped as always.
        html.append(mark_safe(text))
    if fresh:
        cache.set_many(fresh, ROW_SECONDS)
    return html
