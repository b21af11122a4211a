"""The customers' status page and Statuspage-compatible JSON (the Atom feed: ``atom``).

No login (``login_not_required``), so everything here reads only what customers may see:
external status-page incidents of unrestricted incidents, their published external
updates and the products' statuses. Never a key, a person or an internal name.

The page speaks the visitor's language (``in_visitor_language``): the first one their
browser asks for that the portal speaks, else ``STATUS_PAGE_LANGUAGE`` (customers are not
the staff whose language is the portal's default). The Statuspage JSON keeps its machine
values in every language (``statuspage``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from incidents.models import Product

from . import actions, mail, selectors, uptime
from .content import site_url
from .forms import SubscribeForm
from .maintenance import public as maintenance_json
from .maintenance import selectors as maintenance_selectors
from .models import (
    Communication,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    PageStatus,
    StatusPageIncident,
    Subscriber,
)
from .public_names import public_name
from .statuspage import (
    StatuspageComponentsDocumentSerializer,
    StatuspageIncidentsDocumentSerializer,
    StatuspageStatusDocumentSerializer,
    StatuspageSummaryDocumentSerializer,
    statuspage_json,
)

RATE_WINDOW_SECONDS = 3600

# The banner of each overall status (``selectors.overall_status``'s indicator): the JSON
# keeps Statuspage's English descriptions, the page says them in the visitor's words.
BANNERS = {
    "none": gettext_lazy("All systems operational"),
    "minor": gettext_lazy("Minor service outage"),
    "major": gettext_lazy("Partial system outage"),
    "critical": gettext_lazy("Major system outage"),
    "maintenance": gettext_lazy("Service under maintenance"),
}

View = Callable[..., HttpResponse]


def visitor_language(request: HttpRequest) -> str:
    """A signed-in person's own language; else the first language the browser asks for
    that the portal speaks; else ``STATUS_PAGE_LANGUAGE``, never the portal's default."""
    preferences = getattr(request.user, "preferences", None)
    if request.user.is_authenticated and preferences is not None and preferences.language:
        return str(preferences.language)
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return str(settings.STATUS_PAGE_LANGUAGE)


def in_visitor_language(view: View) -> View:
    """Render the view in the visitor's language; caches keep one copy per language."""

    @functools.wraps(view)
    def speaking(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = visitor_language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
        response["Content-Language"] = language
        patch_vary_headers(response, ["Accept-Language"])
        return response

    return speaking


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
    names = {page.pk: public_name(page) for page in incidents}
    for page in incidents:
        page.shown_name = names[page.pk]  # type: ignore[attr-defined]
    indicator, _description = selectors.overall_status(components)
    history = uptime.uptime_history(components, names=names)
    for component in components:
        # Beside the component, so the products list stays one loop.
        component.uptime = history[component.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "comms/public_status.html",
        {
            "components": components,
            "active": [i for i in incidents if i.status != PageStatus.RESOLVED],
            "history": [i for i in incidents if i.status == PageStatus.RESOLVED],
            "maintenances": list(maintenance_selectors.open_maintenances()),
            "indicator": indicator,
            "description": BANNERS[indicator],
            "page_name": settings.COMMS_STATUS_PAGE_NAME,
            "form": form,
        },
        status=status,
    )


@login_not_required
@require_GET
@in_visitor_language
def public_status(request: HttpRequest) -> HttpResponse:
    # The mail in the language the visitor reads the page in, unless they choose another.
    return _status_page(request, SubscribeForm(initial={"language": translation.get_language()}))


@login_not_required
@require_http_methods(["POST"])
@in_visitor_language
def public_subscribe(request: HttpRequest) -> HttpResponse:
    if rate_limited(request, "subscribe"):
        return HttpResponse(
            gettext("Too many subscription attempts; try again in an hour."), status=429
        )
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return _status_page(request, form, status=400)
    actions.subscribe(
        form.cleaned_data["email"],
        products=form.cleaned_data["products"],
        language=form.cleaned_data["language"] or translation.get_language(),
    )
    messages.success(
        request, gettext("Check your inbox: confirm the subscription from the e-mail.")
    )
    return redirect("comms:public_status")


@login_not_required
@require_http_methods(["GET", "POST"])
@in_visitor_language
def public_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST confirms: mail scanners open every link of a mail, and a
    subscription must come from the person, not from their provider's scanner."""
    if request.method == "POST":
        subscriber = actions.confirm_subscription(token)
        if subscriber is None:
            return render(request, "comms/subscription.html", {"state": "unknown"}, status=404)
        return render(request, "comms/subscription.html", {"state": "confirmed"})
    pending = Subscriber.objects.filter(confirm_token=token).values_list("confirmed_at", flat=True)
    if not pending:
        return render(request, "comms/subscription.html", {"state": "unknown"}, status=404)
    state = "confirmed" if pending[0] is not None else "confirm"
    return render(request, "comms/subscription.html", {"state": state, "token": token})


# The link's token is the credential (RFC 8058 §4): a mail client's one-click POST has no
# cookie and no CSRF token, and a forger without the token can unsubscribe nobody.
@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
@in_visitor_language
def public_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST does: mail scanners follow links and must not unsubscribe anyone.
    A mail client's one-click POST (``List-Unsubscribe=One-Click``) lands here too."""
    if request.method == "POST":
        if not actions.unsubscribe(token):
            return render(request, "comms/subscription.html", {"state": "unknown"}, status=404)
        return render(request, "comms/subscription.html", {"state": "removed"})
    stored = mail.subscriber_token(token)
    if stored is None or not Subscriber.objects.filter(unsubscribe_token=stored).exists():
        return render(request, "comms/subscription.html", {"state": "unknown"}, status=404)
    return render(request, "comms/subscription.html", {"state": "ask", "token": token})


# Statuspage-compatible JSON (https://metastatuspage.com/api) -------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _page(request: HttpRequest, updated_at: datetime | None) -> dict[str, Any]:
    return {
        "id": "hotline",
        "name": settings.COMMS_STATUS_PAGE_NAME,
        "url": site_url(reverse("comms:public_status")),
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
    return {
        "id": page.public_id,
        "name": page.name,
        "status": page.status,
        "created_at": _iso(page.created_at),
        "updated_at": _iso(page.updated_at),
        "monitoring_at": _iso(monitoring[0] if monitoring else None),
        "resolved_at": _iso(page.resolved_at),
        "impact": IMPACT.get(page.incident.severity, "minor"),
        "shortlink": site_url(reverse("comms:public_status")) + f"#{page.public_id}",
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
                "affected_components": _affected(update, products),
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


def _affected(update: Communication, products: list[Product]) -> list[dict[str, Any]]:
    """Each component the update was published for, with its status before and after
    (the component's history); an update older than that history names the incident's
    products with the status it asked for."""
    changes = update.component_changes.all()
    if changes:
        return [
            {
                "code": change.component.product.slug,
                "name": change.component.product.name,
                # Blank: the component came to exist with this update; the page showed
                # it operational until then.
                "old_status": change.old_status or ComponentStatus.OPERATIONAL,
                "new_status": change.new_status,
            }
            for change in changes
        ]
    return [
        {
            "code": p.slug,
            "name": p.name,
            "old_status": None,
            "new_status": update.component_status or None,
        }
        for p in products
    ]


def _incidents(request: HttpRequest, *, unresolved_only: bool) -> list[dict[str, Any]]:
    pages = (
        selectors.public_incidents(unresolved_only=unresolved_only)
        .select_related("incident")
        # The stubs cannot follow a Prefetch's to_attr ("published").
        .prefetch_related(  # type: ignore[misc]
            "products__component",
            Prefetch(
                "published__component_changes",
                queryset=ComponentStatusChange.objects.select_related("component__product"),
            ),
        )
    )
    return [_incident(request, page) for page in pages]


def _status() -> tuple[list[Component], dict[str, str]]:
    components = selectors.public_components()
    indicator, description = selectors.overall_status(components)
    return components, {"indicator": indicator, "description": description}


def _latest(components: list[Component]) -> datetime | None:
    return max((c.updated_at for c in components), default=None)


@statuspage_json(StatuspageStatusDocumentSerializer, summary="The page's overall status")
def api_status(request: HttpRequest) -> JsonResponse:
    components, status = _status()
    return JsonResponse({"page": _page(request, _latest(components)), "status": status})


@statuspage_json(
    StatuspageSummaryDocumentSerializer,
    summary="Status, components, unresolved incidents and scheduled maintenances",
)
def api_summary(request: HttpRequest) -> JsonResponse:
    components, status = _status()
    return JsonResponse(
        {
            "page": _page(request, _latest(components)),
            "components": [_component(c, n) for n, c in enumerate(components, 1)],
            "incidents": _incidents(request, unresolved_only=True),
            "scheduled_maintenances": maintenance_json.open_documents(),
            "status": status,
        }
    )


@statuspage_json(StatuspageIncidentsDocumentSerializer, summary="Unresolved incidents")
def api_unresolved(request: HttpRequest) -> JsonResponse:
    components, _ = _status()
    return JsonResponse(
        {
            "page": _page(request, _latest(components)),
            "incidents": _incidents(request, unresolved_only=True),
        }
    )


@statuspage_json(StatuspageIncidentsDocumentSerializer, summary="Incidents of the last 90 days")
def api_incidents(request: HttpRequest) -> JsonResponse:
    components, _ = _status()
    return JsonResponse(
        {
            "page": _page(request, _latest(components)),
            "incidents": _incidents(request, unresolved_only=False),
        }
    )


@statuspage_json(StatuspageComponentsDocumentSerializer, summary="The components and their status")
def api_components(request: HttpRequest) -> JsonResponse:
    components, _ = _status()
    return JsonResponse(
        {
            "page": _page(request, _latest(components)),
            "components": [_component(c, n) for n, c in enumerate(components, 1)],
        }
    )
