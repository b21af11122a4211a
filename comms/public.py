"""The customers' status page, its Atom feed and Statuspage-compatible JSON.

No login (``login_not_required``), so everything here reads only what customers may see:
external status-page incidents of unrestricted incidents, their published external
updates and the products' statuses. Never a key, a person or an internal name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_GET, require_http_methods

from . import actions, selectors
from .forms import SubscribeForm
from .models import Component, PageStatus, StatusPageIncident

RATE_WINDOW_SECONDS = 3600


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def rate_limited(request: HttpRequest, scope: str) -> bool:
    """At most COMMS_SUBSCRIBE_RATE attempts per client per hour, counted in the shared
    cache so every web node sees the same count."""
    key = f"comms:rate:{scope}:{_client(request)}"
    cache.add(key, 0, RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW_SECONDS)
        count = 1
    return count > settings.COMMS_SUBSCRIBE_RATE


def _status_page(request: HttpRequest, form: SubscribeForm, *, status: int = 200) -> HttpResponse:
    components = selectors.public_components()
    incidents = list(selectors.public_incidents())
    indicator, description = selectors.overall_status(components)
    return render(
        request,
        "comms/public_status.html",
        {
            "components": components,
            "active": [i for i in incidents if i.status != PageStatus.RESOLVED],
            "history": [i for i in incidents if i.status == PageStatus.RESOLVED],
            "indicator": indicator,
            "description": description,
            "page_name": settings.COMMS_STATUS_PAGE_NAME,
            "form": form,
        },
        status=status,
    )


@login_not_required
@require_GET
def public_status(request: HttpRequest) -> HttpResponse:
    return _status_page(request, SubscribeForm())


@login_not_required
@require_GET
def public_feed(request: HttpRequest) -> HttpResponse:
    page_url = request.build_absolute_uri(reverse("comms:public_status"))
    feed = Atom1Feed(
        title=settings.COMMS_STATUS_PAGE_NAME,
        link=page_url,
        description="Incidents and their updates.",
        feed_url=request.build_absolute_uri(),
        language="en",
    )
    for incident in selectors.public_incidents():
        for update in incident.published:  # type: ignore[attr-defined]
            feed.add_item(
                title=f"{incident.name}: {update.get_page_status_display()}",
                link=f"{page_url}#{incident.public_id}",
                description=update.summary,
                unique_id=f"{page_url}#{incident.public_id}-update-{update.pk}",
                pubdate=update.published_at,
                updateddate=update.published_at,
            )
    return HttpResponse(
        feed.writeString("utf-8"), content_type="application/atom+xml; charset=utf-8"
    )


@login_not_required
@require_http_methods(["POST"])
def public_subscribe(request: HttpRequest) -> HttpResponse:
    if rate_limited(request, "subscribe"):
        return HttpResponse("Too many subscription attempts; try again in an hour.", status=429)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return _status_page(request, form, status=400)
    actions.subscribe(form.cleaned_data["email"], products=form.cleaned_data["products"])
    messages.success(request, "Check your inbox: confirm the subscription from the e-mail.")
    return redirect("comms:public_status")


@login_not_required
@require_http_methods(["GET", "POST"])
def public_confirm(request: HttpRequest, token: str) -> HttpResponse:
    subscriber = actions.confirm_subscription(token)
    if subscriber is None:
        return render(request, "comms/subscription.html", {"state": "unknown"}, status=404)
    return render(request, "comms/subscription.html", {"state": "confirmed"})


@login_not_required
@require_http_methods(["GET", "POST"])
def public_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST does: mail scanners follow links and must not unsubscribe anyone."""
    if request.method == "POST":
        removed = actions.unsubscribe(token)
        return render(
            request, "comms/subscription.html", {"state": "removed" if removed else "unknown"}
        )
    return render(request, "comms/subscription.html", {"state": "ask", "token": token})


# Statuspage-compatible JSON (https://metastatuspage.com/api) -------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _page(request: HttpRequest, updated_at: datetime | None) -> dict[str, Any]:
    return {
        "id": "hotline",
        "name": settings.COMMS_STATUS_PAGE_NAME,
        "url": request.build_absolute_uri(reverse("comms:public_status")),
        "time_zone": "Etc/UTC",
        "updated_at": _iso(updated_at or timezone.now()),
    }


def _component(component: Component, position: int) -> dict[str, Any]:
    return {
        "id": component.product.slug,
        "name": component.product.name,
        "status": component.status,
        "created_at": _iso(component.created_at),
        "updated_at": _iso(component.updated_at),
        "position": position,
        "description": component.product.description or None,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": "hotline",
        "group": False,
        "only_show_if_degraded": False,
    }


IMPACT = {1: "critical", 2: "major", 3: "minor"}


def _incident(request: HttpRequest, page: StatusPageIncident) -> dict[str, Any]:
    updates = page.published  # type: ignore[attr-defined]
    monitoring = [u.published_at for u in updates if u.page_status == PageStatus.MONITORING]
    products = list(page.products.all())
    affected = [
        {"code": p.slug, "name": p.name, "old_status": None, "new_status": None} for p in products
    ]
    return {
        "id": page.public_id,
        "name": page.name,
        "status": page.status,
        "created_at": _iso(page.created_at),
        "updated_at": _iso(page.updated_at),
        "monitoring_at": _iso(monitoring[0] if monitoring else None),
        "resolved_at": _iso(page.resolved_at),
        "impact": IMPACT.get(page.incident.severity, "minor"),
        "shortlink": request.build_absolute_uri(reverse("comms:public_status"))
        + f"#{page.public_id}",
        "started_at": _iso(page.created_at),
        "page_id": "hotline",
        "incident_updates": [
            {
                "id": f"upd-{update.pk}",
                "status": update.page_status,
                "body": update.summary,
                "incident_id": page.public_id,
                "created_at": _iso(update.published_at),
                "updated_at": _iso(update.published_at),
                "display_at": _iso(update.published_at),
                "affected_components": affected,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for update in updates
        ],
        "components": [
            _component(p.component, n) for n, p in enumerate(products, 1) if hasattr(p, "component")
        ],
    }


def _incidents(request: HttpRequest, *, unresolved_only: bool) -> list[dict[str, Any]]:
    pages = (
        selectors.public_incidents(unresolved_only=unresolved_only)
        .select_related("incident")
        .prefetch_related("products__component")
    )
    return [_incident(request, page) for page in pages]


def _status() -> tuple[list[Component], dict[str, str]]:
    components = selectors.public_components()
    indicator, description = selectors.overall_status(components)
    return components, {"indicator": indicator, "description": description}


def _latest(components: list[Component]) -> datetime | None:
    return max((c.updated_at for c in components), default=None)


@login_not_required
@require_GET
def api_status(request: HttpRequest) -> JsonResponse:
    components, status = _status()
    return JsonResponse({"page": _page(request, _latest(components)), "status": status})


@login_not_required
@require_GET
def api_summary(request: HttpRequest) -> JsonResponse:
    components, status = _status()
    return JsonResponse(
        {
            "page": _page(request, _latest(components)),
            "components": [_component(c, n) for n, c in enumerate(components, 1)],
            "incidents": _incidents(request, unresolved_only=True),
            "scheduled_maintenances": [],
            "status": status,
        }
    )


@login_not_required
@require_GET
def api_unresolved(request: HttpRequest) -> JsonResponse:
    components, _ = _status()
    return JsonResponse(
        {
            "page": _page(request, _latest(components)),
            "incidents": _incidents(request, unresolved_only=True),
        }
    )


@login_not_required
@require_GET
def api_incidents(request: HttpRequest) -> JsonResponse:
    components, _ = _status()
    return JsonResponse(
        {
            "page": _page(request, _latest(components)),
            "incidents": _incidents(request, unresolved_only=False),
        }
    )
