"""The support dashboard (HANDBOOK §1): one page a support team keeps open all day,
and the poll that keeps it current. Views parse, ask ``access``, read ``dashboard``."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from config import auth
from config.http import PortalRequest
from config.kept import Kept
from config.navigation import url
from config.time_limit import time_limit
from incidents import access
from incidents.support import dashboard, rows

logger = logging.getLogger(__name__)

POLL_SECONDS = 5
HEAD = "incidents/support/dashboard.html#head"
# A board is reused while the marker holds, which moves at least once a minute.
BOARD_SECONDS = 120


@functools.lru_cache(maxsize=8)
def _source_digest(template: Any) -> str:
    # Once per compiled template: a template reloaded in development is a new object.
    return hashlib.blake2b(template.source.encode(), digest_size=8).hexdigest()


def _template_digest(name: str) -> str:
    return _source_digest(get_template(name).template)  # type: ignore[attr-defined]  # the Django backend's


def _filters(
    params: Mapping[str, str], catalogue: dashboard.Catalogue | None = None
) -> tuple[dashboard.Choice | None, dashboard.Choice | None, dict[str, str]]:
    """The product and team filters, by slug, as kept in the URL; unknown ones are 400.
    Looked up in the cached catalogue the filter lists show: no query."""
    chosen: dict[str, dashboard.Choice | None] = {"product": None, "team": None}
    errors = {}
    for index, name in enumerate(("product", "team")):
        if slug := params.get(name, ""):
            choices = (catalogue or dashboard.catalogue())[index]
            chosen[name] = next((choice for choice in choices if choice.slug == slug), None)
            if chosen[name] is None:
                errors[name] = f"No {name} {slug!r}."
    return chosen["product"], chosen["team"], errors


def _query(product: dashboard.Choice | None, team: dashboard.Choice | None) -> str:
    parts = []
    if product is not None:
        parts.append(f"product={product.slug}")
    if team is not None:
        parts.append(f"team={team.slug}")
    return "&".join(parts)


# A shape is what makes a board differ (``dashboard.BOARDS``): filters, visibility,
# labelling right, zone and language.
Shape = tuple[str, tuple[int, ...] | None, bool, str, str]


# The boards this process served lately, by their key in the cache: a key names one
# content (the marker's version never repeats, ``dashboard.change_marker``), so none
# is ever stale. A page or changed poll then reads no board (about 150 KB) from the
# cache when another viewer on the same process read it first.
KEPT: Kept[str] = Kept(limit=16)


def forget() -> None:
    """Drop the boards, shapes and marker this process keeps (a process just started
    has none)."""
    KEPT.clear()
    dashboard.BOARDS.forget()
    dashboard.forget_kept_marker()


def _board_html(
    user: User,
    product: dashboard.Choice | None,
    team: dashboard.Choice | None,
    reads: dashboard.PageReads,
    *,
    viewer: bool = True,
    reuse: bool = True,
) -> SafeString:
    """The board, rendered once per change for everyone who sees the same rows (same
    visibility, filters, labelling right, time zone, language), by Jinja2
    (``rows``): only the rows that changed are rendered again. For a ``viewer`` (not the
    worker's warm-up) the shape is noted, and the board kept in the process. ``reads``:
    what the page read already (the marker at least); its writes are sent with the
    board's. Not to ``reuse``: rendered here even where kept (a process warming up)."""
    can_label = access.can_label(user)
    query = _query(product, team)
    seen = dashboard.visibility(user, marker=reads.marker, noted=reads.noted)
    shape: Shape = (
        query,
        seen,
        can_label,
        timezone.get_current_timezone_name(),
        translation.get_language(),
    )
    shared = (rows.digest(), reads.marker, *shape)
    key = "support-board:" + hashlib.blake2b(repr(shared).encode(), digest_size=16).hexdigest()
    html = KEPT.get(key) if reuse else None
    # Along with a board read from the cache, and once a minute besides: a cache that
    # lost the shapes (a restarted Redis moves the marker too) has them again at once.
    remembering = viewer and (html is None or dashboard.BOARDS.due(shape))
    # A marker this page started has no board kept under it (but one another process
    # rendered since, which costs one render).
    wanted = [key] if html is None and not reads.started and reuse else []
    if remembering and reads.shapes is dashboard.NOT_READ:
        wanted.append(dashboard.BOARDS.key)
    found = cache.get_many(wanted) if wanted else {}
    writes = reads.writes
    if remembering:
        shapes = found.get(dashboard.BOARDS.key, reads.shapes)
        dashboard.BOARDS.note(
            None if shapes is dashboard.NOT_READ else shapes, shape, user.pk, writes
        )
    if html is None:
        html = found.get(key)
        if html is not None and viewer:
            KEPT.put(key, html)
    if html is None:
        board = dashboard.board(
            user,
            product_id=product.pk if product else None,
            team_id=team.pk if team else None,
            choices=reads.catalogue,
        )
        html = rows.board(
            board,
            marker=reads.marker,
            query=query,
            can_label=can_label,
            poll_seconds=POLL_SECONDS,
            # The rest of the active incidents, with the same filters.
            full_list_url=f"{url('incidents:list')}?status=open" + (f"&{query}" if query else ""),
        )
        if board.shareable_with(seen):
            writes.set(key, html, BOARD_SECONDS)
            if viewer:
                KEPT.put(key, html)
    writes.send()
    # Rendered by the template, escaped as always.
    return mark_safe(html)


def warm_boards(*, reuse: bool = True) -> int:
    """Render the boards people have open for the current marker, each for the person
    it was last rendered for (the worker's job after a change: ``incidents.tasks``).
    Boards already rendered cost a cache read, unless not to ``reuse`` (``warm_at_start``);
    someone who may no longer see incidents is skipped. Returns how many boards were
    checked."""
    marker = dashboard.change_marker()
    shapes = dashboard.BOARDS.shapes()
    people = User.objects.in_bulk({user_pk for _when, user_pk in shapes.values()})
    catalogue = dashboard.catalogue() if shapes else ([], [])
    warmed = 0
    for (query, _seen, _can_label, zone, language), (_when, user_pk) in shapes.items():
        user = people.get(user_pk)
        if user is None or not user.is_active or not access.can_view_incidents(user):
            continue
        product, team, errors = _filters(QueryDict(query), catalogue)
        if errors:  # a product or team gone since
            continue
        with timezone.override(zone), translation.override(language):
            reads = dashboard.PageReads(marker, catalogue)
            _board_html(user, product, team, reads, viewer=False, reuse=reuse)
        warmed += 1
    return warmed


def warm_at_start(*, seconds: float = 10) -> int:
    """What a web process does before it serves (gunicorn's ``post_worker_init``,
    ``gunicorn.conf.py``, on the worker's main thread): compile what a page reads once
    the cache lost it, and render the boards people have open (``warm_boards``), even
    those the cache holds, so it has loaded the templates, compiled the board's
    statements for their permissions and keeps their rows. Its first page then costs
    what any process's does: a process that did all that on its first page took it from
    about 3x a trivial view to 7-9x. A database or cache failing at start, or not
    answering within ``seconds``, is logged, not raised: the worker serves, its first
    pages pay, and no connection is left in the middle of a statement."""
    try:
        with time_limit(seconds):
            auth.compile_reads()
            dashboard.compile_reads()
            warmed = warm_boards(reuse=False)
    except Exception:  # any failure of the database or cache: serving matters more
        logger.warning("The support boards were not rendered before serving", exc_info=True)
        connections.close_all()
        return 0
    logger.info("%d support boards rendered before serving", warmed)
    return warmed


def _may_view(user: User | AnonymousUser) -> None:
    """Refuse people who may see no incident, as ``access.visible_incidents`` does,
    without building the queryset it returns (a third of an unchanged page's own time);
    which incidents a board shows is the board's query's business."""
    if not access.can_view_incidents(user):
        raise PermissionDenied(_("You may not view incidents."))


@functools.lru_cache(maxsize=64)
def _rendered_head(
    _source: str,
    _language: str,
    products: tuple[dashboard.Choice, ...],
    teams: tuple[dashboard.Choice, ...],
    product: dashboard.Choice | None,
    team: dashboard.Choice | None,
    can_label: bool,
) -> str:
    # The template's digest and the language are arguments for the key only: the
    # current language is the one rendered in.
    context = {
        "products": products,
        "teams": teams,
        "product": product,
        "team": team,
        "query": _query(product, team),
        "can_label": can_label,
    }
    return render_to_string(HEAD, context)


def _head(
    catalogue: dashboard.Catalogue,
    product: dashboard.Choice | None,
    team: dashboard.Choice | None,
    can_label: bool,
) -> SafeString:
    """The page's title and filters, rendered once per process for each catalogue,
    choice of filters, labelling right and language: with Django's template language
    they were half of an unchanged page's own time."""
    products, teams = catalogue
    html = _rendered_head(
        _template_digest(HEAD),
        translation.get_language(),
        tuple(products),
        tuple(teams),
        product,
        team,
        can_label,
    )
    # Rendered by the template, escaped as always.
    return mark_safe(html)


@require_GET
def support_dashboard(request: PortalRequest) -> HttpResponse:
    # Read first: it brings the permissions ``_may_view`` asks for.
    reads = dashboard.page_reads(request.user)
    _may_view(request.user)
    catalogue = reads.catalogue
    assert catalogue is not None  # a page's reads hold it
    product, team, errors = _filters(request.GET, catalogue)
    can_label = access.can_label(request.user)
    context = {
        "head_html": _head(catalogue, product, team, can_label),
        "board_html": _board_html(request.user, product, team, reads),
        "filter_errors": errors,
    }
    return render(
        request, "incidents/support/dashboard.html", context, status=400 if errors else 200
    )


@require_GET
def dashboard_board(request: PortalRequest) -> HttpResponse:
    """The poll. Nothing changed since the marker the page holds: 204 from the cached
    marker, no query and no render; otherwise the board again, in a constant number of
    queries, rendering only the rows that changed. Most polls find the marker this
    process read or moved a moment ago (``kept_marker``): not even the cache is asked."""
    since = request.GET.get("since")
    if since is not None and since == dashboard.kept_marker():
        return HttpResponse(status=204)
    marker = dashboard.change_marker()
    if since == marker:
        return HttpResponse(status=204)
    _may_view(request.user)
    product, team, errors = _filters(request.GET)
    if errors:
        return HttpResponse(" ".join(errors.values()), status=400)
    return HttpResponse(_board_html(request.user, product, team, dashboard.PageReads(marker)))
