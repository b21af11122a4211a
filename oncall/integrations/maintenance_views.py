"""Maintenance windows in the portal: the list (all, or one service's), planning one,
ending or cancelling one. Team admins for their services, global admins for all."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.http import PortalRequest, parse_id
from incidents.actions import ActionRefused
from incidents.models import Service

from . import access, maintenance
from .forms import MaintenanceForm

LIST_LIMIT = 100


def _page(
    request: PortalRequest,
    form: MaintenanceForm | None,
    service: Service | None,
    status: int = 200,
) -> HttpResponse:
    windows = maintenance.windows_for(request.user)
    if service is not None:
        windows = maintenance.of_service(windows, service)
    context: dict[str, Any] = {
        "rows": list(windows[:LIST_LIMIT]),
        "form": form,
        "service": service,
    }
    return render(request, "oncall/integrations/maintenance.html", context, status=status)


def _service_filter(request: PortalRequest, services: list[Service]) -> Service | None:
    slug = request.GET.get("service", "")
    return next((service for service in services if service.slug == slug), None)


@require_GET
def index(request: PortalRequest) -> HttpResponse:
    services = access.administered_services(request.user)
    service = _service_filter(request, services)
    form = None
    if services:
        initial: dict[str, Any] = {}
        if service is not None:
            initial["target"] = f"service:{service.pk}"
        integration_id = parse_id(request.GET.get("integration", ""))
        if integration_id is not None:
            initial["target"] = f"integration:{integration_id}"
        form = MaintenanceForm(initial=initial, services=services)
    return _page(request, form, service)


@require_POST
def create(request: PortalRequest) -> HttpResponse:
    services = access.administered_services(request.user)
    access.require(bool(services), _("You administer no team's services."))
    form = MaintenanceForm(request.POST, services=services)
    if not form.is_valid():
        return _page(request, form, None, status=400)
    try:
        window = maintenance.plan_maintenance(by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _page(request, form, None, status=400)
    messages.success(
        request,
        _("Maintenance planned for %(target)s: nobody is paged for its alerts meanwhile.")
        % {"target": window.target_name},
    )
    return redirect("integrations:maintenance")


@require_POST
def end(request: PortalRequest, pk: int) -> HttpResponse:
    window = access.access_window(request.user, pk)
    ended = maintenance.end_maintenance(window, by=request.user)
    if ended.cancelled and ended.ended_by_id == request.user.pk:
        messages.success(request, _("Maintenance cancelled."))
    else:
        messages.success(request, _("Maintenance ended: alerts page on-call again."))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("integrations:maintenance")
