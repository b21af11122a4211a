"""Receiving endpoints (no login: tools authenticate with the integration key) and the
integrations admin pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from config.http import PortalRequest
from config.input_guard import InputRefused, load_json
from incidents.models import Incident

from . import access, actions, selectors
from .formats import Malformed, alertmanager, generic, pagerduty
from .forms import IntegrationForm
from .models import AlertGroup, AlertOutcome, GroupState, Integration, hash_key


def _not_found() -> JsonResponse:
    # The same answer for a wrong key as for a page that does not exist.
    return JsonResponse({"error": "Not found."}, status=404)


def _decode(request: HttpRequest) -> tuple[Any, str | None]:
    """The JSON body, or why it is not one."""
    if len(request.body) > settings.ALERTS_MAX_BODY_BYTES:
        return None, f"The body is larger than {settings.ALERTS_MAX_BODY_BYTES} bytes."
    try:
        return load_json(request.body), None
    except InputRefused as refused:
        # A NUL (PostgreSQL stores none) or nesting too deep (Python's decoder recurses).
        return None, str(refused)
    except (ValueError, UnicodeDecodeError) as error:
        return None, f"The body is not valid JSON: {error}."


def _receive(request: HttpRequest, key: str, module: Any) -> JsonResponse:
    """Store the delivery (one statement finds the integration by its key and inserts the
    alert) and answer; the worker applies it moments later."""
    key_hash = hash_key(key)
    body, problem = _decode(request)
    try:
        if problem is not None:
            raise Malformed([problem])
        events = module.parse(body)
    except Malformed as malformed:
        if actions.reject(key_hash, module.NAME, request.body, malformed.errors) is None:
            return _not_found()
        return JsonResponse({"error": "Malformed payload.", "errors": malformed.errors}, status=400)
    stored = actions.receive(key_hash, module.NAME, request.body, events)
    if stored is None:
        return _not_found()
    # Accepted, not yet applied. The dedup key is what a later resolve names.
    answer = {"status": "accepted", "dedup_key": events[0].dedup_key}
    if stored == AlertOutcome.IGNORED:
        answer.update(status="ignored", message="The integration is paused.")
    return JsonResponse(answer, status=202)


@login_not_required
@csrf_exempt
@require_POST
def alertmanager_webhook(request: HttpRequest, key: str) -> JsonResponse:
    return _receive(request, key, alertmanager)


@login_not_required
@csrf_exempt
@require_POST
def generic_webhook(request: HttpRequest, key: str) -> JsonResponse:
    return _receive(request, key, generic)


def _pd_invalid(errors: list[str]) -> JsonResponse:
    return JsonResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status=400,
    )


@login_not_required
@csrf_exempt
@require_POST
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    """PagerDuty's Events API v2, answered as PagerDuty does: 202 with the dedup key,
    400 "invalid event" with the errors. The integration key is the ``routing_key``."""
    body, problem = _decode(request)
    if problem is not None:
        return _pd_invalid([problem])
    key = pagerduty.routing_key(body)
    if not key:
        return _pd_invalid(["'routing_key' is missing or blank"])
    try:
        events = pagerduty.parse(body)
    except Malformed as malformed:
        if actions.reject(hash_key(key), pagerduty.NAME, request.body, malformed.errors) is None:
            return _not_found()
        return _pd_invalid(malformed.errors)
    if actions.receive(hash_key(key), pagerduty.NAME, request.body, events) is None:
        return _not_found()
    # PagerDuty too answers before it processes: "processed" is its wording for queued.
    return JsonResponse(
        {"status": "success", "message": "Event processed", "dedup_key": events[0].dedup_key},
        status=202,
    )


# Admin pages -------------------------------------------------------------------------------


@require_GET
def index(request: PortalRequest) -> HttpResponse:
    services = access.administered_services(request.user)
    return render(
        request,
        "oncall/integrations/index.html",
        {
            "integrations": list(selectors.integrations_for(request.user)),
            "form": IntegrationForm(services=services) if services else None,
        },
    )


@require_POST
def create(request: PortalRequest) -> HttpResponse:
    services = access.administered_services(request.user)
    access.require(bool(services), "You administer no team's services.")
    form = IntegrationForm(request.POST, services=services)
    if not form.is_valid():
        return render(
            request,
            "oncall/integrations/index.html",
            {"integrations": list(selectors.integrations_for(request.user)), "form": form},
            status=400,
        )
    integration, key = actions.create_integration(by=request.user, **form.cleaned_data)
    return _show_key_once(request, integration, key)


def _show_key_once(request: PortalRequest, integration: Integration, key: str) -> HttpResponse:
    """Redirect to the integration, which shows the key on its next view only: a reload
    of that page neither shows the key again nor repeats the POST (a second integration
    or another rotation). The session holds the key until that view."""
    request.session[_key_slot(integration)] = key
    return redirect("integrations:detail", pk=integration.pk)


def _key_slot(integration: Integration) -> str:
    return f"integration-key:{integration.pk}"


@require_GET
def detail(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    key = request.session.pop(_key_slot(integration), None)
    return render(
        request,
        "oncall/integrations/detail.html",
        {
            "integration": integration,
            "new_key": key,
            "urls": selectors.receiving_urls(request, integration, key),
            "groups": list(
                AlertGroup.objects.filter(integration=integration).select_related("incident")[
                    : selectors.RECENT_PAYLOADS
                ]
            ),
            "payloads": selectors.recent(integration, rejected=False),
            "rejected": selectors.recent(integration, rejected=True),
        },
    )


@require_POST
def rotate(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    return _show_key_once(request, integration, actions.rotate_key(integration, by=request.user))


@require_POST
def pause(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    paused = request.POST.get("paused") == "1"
    actions.set_paused(integration, paused=paused, by=request.user)
    messages.success(
        request,
        "Paused: alerts are accepted and recorded as ignored."
        if paused
        else "Resumed: alerts open incidents again.",
    )
    return redirect("integrations:detail", pk=integration.pk)


@require_POST
def test_alert(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    alert = actions.send_test_alert(integration, by=request.user)
    incident = alert.group.incident if alert.group else None
    if incident is not None:
        messages.success(request, f"The test alert opened {incident.key}.")
    elif alert.outcome == AlertOutcome.IGNORED:
        messages.info(request, "The test alert was recorded as ignored: the integration is paused.")
    else:
        messages.info(request, f"The test alert was received ({alert.get_outcome_display()}).")
    return redirect("integrations:detail", pk=integration.pk)


def incident_panel(request: HttpRequest, incident: Incident) -> dict[str, Any] | None:
    """The alerts behind an incident, with their raw payloads; hidden when none."""
    groups = selectors.groups_of(incident)
    if not groups:
        return None
    return {
        "groups": groups,
        "payloads": selectors.payloads_of(incident),
        "all_resolved": all(group.state == GroupState.RESOLVED for group in groups),
    }
