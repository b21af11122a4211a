"""The portal's maintenance pages: the list, planning, editing and cancelling."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import PortalRequest

from .. import access
from ..models import Maintenance
from . import actions, selectors
from .forms import MaintenanceForm


def _viewer(request: PortalRequest) -> None:
    access.require(
        access.can_view_maintenances(request.user), gettext("You may not see maintenances.")
    )


def _planner(request: PortalRequest) -> None:
    access.require(
        access.can_plan_maintenance(request.user),
        gettext("Only people who publish to the status page plan maintenances."),
    )


def _get(pk: int) -> Maintenance:
    try:
        return selectors.maintenance(pk)
    except ObjectDoesNotExist:
        raise Http404(gettext("No such maintenance.")) from None


@require_GET
def maintenance_list(request: PortalRequest) -> HttpResponse:
    _viewer(request)
    context = {
        **selectors.portal_maintenances(),
        "can_plan": access.can_plan_maintenance(request.user),
    }
    return render(request, "comms/maintenance/list.html", context)


@require_http_methods(["GET", "POST"])
def maintenance_create(request: PortalRequest) -> HttpResponse:
    _viewer(request)
    _planner(request)
    if request.method == "GET":
        return render(request, "comms/maintenance/form.html", {"form": MaintenanceForm()})
    form = MaintenanceForm(request.POST)
    if form.is_valid():
        try:
            maintenance = actions.plan_maintenance(by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            messages.success(request, gettext("Maintenance planned."))
            return redirect("comms:maintenance", pk=maintenance.pk)
    return render(request, "comms/maintenance/form.html", {"form": form}, status=400)


def _detail(
    request: PortalRequest,
    maintenance: Maintenance,
    form: MaintenanceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_plan = access.can_plan_maintenance(request.user)
    if form is None and can_plan and maintenance.is_open:
        form = MaintenanceForm.of(maintenance)
    return render(
        request,
        "comms/maintenance/detail.html",
        {"maintenance": maintenance, "form": form, "can_plan": can_plan},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def maintenance_detail(request: PortalRequest, pk: int) -> HttpResponse:
    """GET shows it with its history; POST saves the edit."""
    _viewer(request)
    maintenance = _get(pk)
    if request.method == "GET":
        return _detail(request, maintenance)
    _planner(request)
    form = MaintenanceForm(request.POST)
    if form.is_valid():
        try:
            actions.update_maintenance(maintenance, by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
            return _detail(request, _get(pk), form, status=refusal.status_code)
        messages.success(request, gettext("Maintenance saved."))
        return redirect("comms:maintenance", pk=pk)
    return _detail(request, maintenance, form, status=400)


@require_POST
def maintenance_cancel(request: PortalRequest, pk: int) -> HttpResponse:
    _viewer(request)
    maintenance = _get(pk)
    _planner(request)
    try:
        actions.cancel_maintenance(maintenance, by=request.user)
    except actions.ActionRefused as refusal:
        messages.error(request, refusal.message)
        return _detail(request, _get(pk), status=refusal.status_code)
    messages.success(request, gettext("Maintenance cancelled."))
    return redirect("comms:maintenance", pk=pk)
