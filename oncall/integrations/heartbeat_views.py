"""The heartbeat URL tools ping (no login: the integration key authenticates, and is
never logged or stored), and the heartbeat settings page of an integration."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from config.http import PortalRequest
from incidents.actions import ActionRefused

from . import access, heartbeats, selectors
from .forms import HeartbeatForm
from .heartbeat_models import Heartbeat
from .models import Integration, hash_key


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def ping(request: HttpRequest, key: str) -> JsonResponse:
    """A ping: GET for cron's ``curl``, POST for tools that only post (the body is
    ignored). The same 404 for a wrong key as for an integration without a heartbeat."""
    heartbeat = heartbeats.record_ping(hash_key(key))
    if heartbeat is None:
        return JsonResponse({"error": "Not found."}, status=404)
    response = JsonResponse(
        {
            "status": "ok",
            "next_expected_at": heartbeat.next_expected_at.isoformat(timespec="seconds"),
        }
    )
    response["Cache-Control"] = "no-store"
    return response


def _page(
    request: PortalRequest,
    integration: Integration,
    form: HeartbeatForm,
    status: int = 200,
) -> HttpResponse:
    heartbeat = Heartbeat.objects.filter(integration=integration).first()
    return render(
        request,
        "oncall/integrations/heartbeat.html",
        {
            "integration": integration,
            "heartbeat": heartbeat,
            "form": form,
            "urls": selectors.receiving_urls(request, integration, None),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def edit(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    if request.method == "GET":
        current = Heartbeat.objects.filter(integration=integration).first()
        initial = (
            {"interval_minutes": current.interval_minutes, "grace_minutes": current.grace_minutes}
            if current
            else None
        )
        return _page(request, integration, HeartbeatForm(initial=initial))
    form = HeartbeatForm(request.POST)
    if not form.is_valid():
        return _page(request, integration, form, status=400)
    try:
        heartbeat = heartbeats.set_heartbeat(
            integration,
            by=request.user,
            interval=timedelta(minutes=form.cleaned_data["interval_minutes"]),
            grace=timedelta(minutes=form.cleaned_data["grace_minutes"]),
        )
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _page(request, integration, form, status=400)
    messages.success(
        request,
        _("Heartbeat saved: a ping is expected every %(minutes)s minutes.")
        % {"minutes": heartbeat.interval_minutes},
    )
    return redirect("integrations:detail", pk=integration.pk)


@require_POST
def remove(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    if heartbeats.remove_heartbeat(integration, by=request.user):
        messages.success(request, _("Heartbeat turned off: no pings are expected any more."))
    return redirect("integrations:detail", pk=integration.pk)
