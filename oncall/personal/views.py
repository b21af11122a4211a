"""Pages of personal on-call: my notification rules and test pages, shift swaps, and
the load report. Each view parses input, asks ``access``, calls one action."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import PortalRequest
from incidents.actions import ActionRefused

from ..access import administered_teams
from . import access, load, rules, swaps
from .forms import PeriodForm, RuleForm, SwapForm, TestPageForm
from .models import Chain, ShiftSwap, SwapState


def _rules_page(request: PortalRequest, status: int = 200, **forms: Any) -> HttpResponse:
    user = request.user
    chains = rules.rules_of(user)
    context = {
        "chains": [(value, label, chains[value]) for value, label in Chain.choices],
        "form": forms.get("form") or RuleForm(user=user),
        "test_form": forms.get("test_form") or TestPageForm(),
        "has_methods": user.contact_methods.exists(),
        "test_pages": user.test_pages.all()[:5],
    }
    return render(request, "oncall/rules.html", context, status=status)


@require_http_methods(["GET", "POST"])
def rules_page(request: PortalRequest) -> HttpResponse:
    access.require(access.can_read(request.user), _("Sign in to set your notification rules."))
    if request.method == "GET":
        return _rules_page(request)
    form = RuleForm(request.POST, user=request.user)
    if not form.is_valid():
        return _rules_page(request, 400, form=form)
    try:
        rules.add_rule(request.user, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _rules_page(request, 400, form=form)
    messages.success(request, _("Rule added."))
    return redirect("oncall:rules")


@require_POST
def rule_remove(request: PortalRequest, pk: int) -> HttpResponse:
    rule = access.own_rule(request.user, pk)
    rules.remove_rule(rule, by=request.user)
    messages.success(request, _("Rule removed."))
    return redirect("oncall:rules")


@require_POST
def test_page_send(request: PortalRequest) -> HttpResponse:
    access.require(access.can_read(request.user), _("Sign in to page yourself."))
    form = TestPageForm(request.POST)
    if not form.is_valid():
        return _rules_page(request, 400, test_form=form)
    try:
        page = rules.send_test_page(request.user, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _rules_page(request, 400, test_form=form)
    return redirect("oncall:test_page", page.pk)


@require_GET
def test_page_detail(request: PortalRequest, pk: int) -> HttpResponse:
    """The test page's result; polled (HTMX) until the worker has sent it."""
    page = access.own_test_page(request.user, pk)
    template = "oncall/test_page.html#result" if request.htmx else "oncall/test_page.html"
    return render(request, template, {"page": page})


# Swaps ------------------------------------------------------------------------------------


def _swaps_page(
    request: PortalRequest, status: int = 200, form: SwapForm | None = None
) -> HttpResponse:
    open_swaps = swaps.open_swaps().select_related("roster", "offered_by").order_by("starts_at")
    mine = (
        ShiftSwap.objects.filter(offered_by=request.user)
        .exclude(state=SwapState.OPEN)
        .select_related("roster", "taken_by")
        .order_by("-starts_at")[:10]
    )
    context = {"open_swaps": open_swaps, "mine": mine, "form": form or SwapForm()}
    return render(request, "oncall/swaps.html", context, status=status)


@require_http_methods(["GET", "POST"])
def swaps_page(request: PortalRequest) -> HttpResponse:
    access.require(access.can_read(request.user), _("Sign in to see swaps."))
    if request.method == "GET":
        return _swaps_page(request)
    form = SwapForm(request.POST)
    if not form.is_valid():
        return _swaps_page(request, 400, form)
    data = form.cleaned_data
    try:
        swaps.offer_swap(
            data["roster"],
            by=request.user,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            note=data["note"],
        )
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _swaps_page(request, 400, form)
    messages.success(request, _("Swap offered: a teammate can take it now."))
    return redirect("oncall:swaps")


@require_POST
def swap_take(request: PortalRequest, pk: int) -> HttpResponse:
    swap = access.access_swap(request.user, pk)
    try:
        swaps.take_swap(swap, by=request.user)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return _swaps_page(request, refusal.status_code)
    messages.success(request, _("You took the swap: you are on call then."))
    return redirect("oncall:swaps")


@require_POST
def swap_withdraw(request: PortalRequest, pk: int) -> HttpResponse:
    swap = access.access_swap(request.user, pk)
    try:
        swaps.withdraw_swap(swap, by=request.user)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return _swaps_page(request, refusal.status_code)
    messages.success(request, _("Swap withdrawn."))
    return redirect("oncall:swaps")


# The load report ------------------------------------------------------------------------------


def period(form: PeriodForm) -> tuple[datetime, datetime]:
    """The period of a valid form: whole days in the portal's zone, the last 28 by default."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start, end = load.default_period(timezone.now())
    since, until = form.cleaned_data.get("since"), form.cleaned_data.get("until")
    if until:
        end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)
    if since:
        start = datetime.combine(since, time(0), tzinfo=zone)
    elif until:
        start = end - timedelta(days=28)
    return start, end


@require_GET
def load_report(request: PortalRequest) -> HttpResponse:
    access.require(access.can_see_load(request.user), _("Only admins and team admins see it."))
    form = PeriodForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "rows": [], "charts": None}
        return render(request, "oncall/load.html", context, status=400)
    start, end = period(form)
    teams = administered_teams(request.user)
    rows = load.report(start, end, teams=teams)
    if request.GET.get("format") == "csv":
        response = HttpResponse(load.as_csv(rows, start, end), content_type="text/csv")
        name = f"oncall-load-{start:%Y-%m-%d}-{end - timedelta(days=1):%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = {
        "form": form,
        "rows": rows,
        "start": start,
        "last_day": end - timedelta(days=1),
        "charts": load.charts(rows) if rows else None,
        "query": request.GET.urlencode(),
        "teams": None if teams is None else [team.name for team in teams.order_by("name")],
    }
    return render(request, "oncall/load.html", context)
