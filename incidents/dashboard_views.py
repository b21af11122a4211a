"""The support dashboard (HANDBOOK §1): one page a support team keeps open all day,
and the poll that keeps it current. Views parse, ask ``access``, read ``dashboard``."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from config.http import PortalRequest

from . import access, dashboard, fragments

POLL_SECONDS = 5
BOARD = "incidents/dashboard.html#board"
# A board is reused while the marker holds, which moves at least once a minute.
BOARD_SECONDS = 120
ACTIVE_ROW = "incidents/dashboard.html#active-row"
RESOLVED_ROW = "incidents/dashboard.html#resolved-row"


def _filters(
    request: PortalRequest,
) -> tuple[dashboard.Choice | None, dashboard.Choice | None, dict[str, str]]:
    """The product and team filters, by slug, as kept in the URL; unknown ones are 400.
    Looked up in the cached catalogue the filter lists show: no query."""
    chosen: dict[str, dashboard.Choice | None] = {"product": None, "team": None}
    errors = {}
    for index, name in enumerate(("product", "team")):
        if slug := request.GET.get(name, ""):
            choices = dashboard.catalogue()[index]
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


def _board_html(
    request: PortalRequest,
    product: dashboard.Choice | None,
    team: dashboard.Choice | None,
    marker: str,
) -> SafeString:
    """The board, rendered once per change for everyone who sees the same rows (same
    visibility, filters, labelling right, time zone); its rows come from the row
    cache, so after a change only the changed rows are rendered again."""
    can_label = access.can_label(request.user)
    query = _query(product, team)
    seen = dashboard.visibility(request.user, marker=marker)
    shared = (
        fragments.digest(BOARD),
        marker,
        query,
        seen,
        can_label,
        timezone.get_current_timezone_name(),
        translation.get_language(),
    )
    key = "support-board:" + hashlib.blake2b(repr(shared).encode(), digest_size=16).hexdigest()
    html = cache.get(key)
    if html is None:
        board = dashboard.board(
            request.user,
            product_id=product.pk if product else None,
            team_id=team.pk if team else None,
        )
        context = {
            "board": board,
            "active_rows": fragments.render_each(
                ACTIVE_ROW,
                board.active,
                inputs=dashboard.active_row_inputs,
                context={"can_label": can_label, "updates_unknown": not board.updates_known},
                as_name="incident",
            ),
            "resolved_rows": fragments.render_each(
                RESOLVED_ROW,
                board.resolved,
                inputs=dashboard.resolved_row_inputs,
                context={},
                as_name="incident",
            ),
            "marker": marker,
            "query": query,
            "can_label": can_label,
            "poll_seconds": POLL_SECONDS,
            # The rest of the active incidents, with the same filters.
            "full_list_url": f"{reverse('incidents:list')}?status=open"
            + (f"&{query}" if query else ""),
        }
        # No request: the board needs no context processor (navigation, messages).
        html = render_to_string(BOARD, context)
        if board.shareable_with(seen):
            cache.set(key, html, BOARD_SECONDS)
    # Rendered by the template, escaped as always.
    return mark_safe(html)


@require_GET
def support_dashboard(request: PortalRequest) -> HttpResponse:
    access.visible_incidents(request.user)  # raises for people who may see no incident
    product, team, errors = _filters(request)
    products, teams = dashboard.catalogue()
    context = {
        "board_html": _board_html(request, product, team, dashboard.change_marker()),
        "query": _query(product, team),
        "can_label": access.can_label(request.user),
        "products": products,
        "teams": teams,
        "product": product,
        "team": team,
        "filter_errors": errors,
    }
    return render(request, "incidents/dashboard.html", context, status=400 if errors else 200)


@require_GET
def dashboard_board(request: PortalRequest) -> HttpResponse:
    """The poll. Nothing changed since the marker the page holds: 204 from the cached
    marker, no query and no render; otherwise the board again, in a constant number of
    queries, rendering only the rows that changed."""
    marker = dashboard.change_marker()
    if request.GET.get("since") == marker:
        return HttpResponse(status=204)
    access.visible_incidents(request.user)
    product, team, errors = _filters(request)
    if errors:
        return HttpResponse(" ".join(errors.values()), status=400)
    return HttpResponse(_board_html(request, product, team, marker))
