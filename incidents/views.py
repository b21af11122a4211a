"""The incident pages. Each view parses input, asks ``access``, calls one action."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from config.http import PortalRequest, parse_id
from incidents import access, actions, follow_ups, panels, selectors
from incidents.filters import IncidentFilter
from incidents.forms import (
    IncidentEditForm,
    IncidentForm,
    RoleAssignForm,
    RoleHandOverForm,
    SeverityForm,
    TimelineEntryForm,
    TransitionForm,
)
from incidents.models import Incident, RoleAssignment, Status

PAGE_SIZE = 50


@require_GET
def incident_list(request: PortalRequest) -> HttpResponse:
    incidents = access.visible_incidents(request.user).for_list().with_case_count()
    filterset = IncidentFilter(request.GET, queryset=incidents)
    valid = filterset.is_valid()
    page = Paginator(filterset.qs if valid else incidents.none(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    template = "incidents/list.html#incident-table" if request.htmx else "incidents/list.html"
    return render(
        request,
        template,
        {"filter": filterset, "page": page, "query": query.urlencode()},
        status=200 if valid else 400,
    )


@require_http_methods(["GET", "POST"])
def incident_create(request: PortalRequest) -> HttpResponse:
    access.require(access.can_create(request.user), _("You may not log incidents."))
    form = IncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = actions.create_incident(by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            messages.success(
                request,
                _("%(key)s logged. Use this key in every message.") % {"key": incident.key},
            )
            return redirect(incident)
    return render(
        request,
        "incidents/create.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


# Words shorter than this ("the", "for", "api") would match nearly every incident.
SIMILAR_MIN_WORD = 4
SIMILAR_WORDS = 6
SIMILAR_SHOWN = 10


@require_GET
def incident_similar(request: PortalRequest) -> HttpResponse:
    """Open incidents the one being logged may be a twin of: on the service or products
    chosen, or sharing words with the summary as it is typed; the most alike first."""
    service_ids = set(_ids(request.GET.getlist("faulty_service")))
    product_ids = set(_ids(request.GET.getlist("affected_products")))
    words = _words(request.GET.get("summary", ""))
    similar: list[Incident] = []
    if service_ids or product_ids or words:
        match = Q(faulty_service__in=service_ids) | Q(affected_products__in=product_ids)
        for word in words:
            match |= Q(summary__icontains=word)
        candidates = (
            access.visible_incidents(request.user).open().for_list().filter(match).distinct()
        )

        def likeness(incident: Incident) -> tuple[int, datetime]:
            summary = incident.summary.lower()
            shared = sum(word in summary for word in words)
            on_service = incident.faulty_service_id in service_ids
            on_product = any(p.pk in product_ids for p in incident.affected_products.all())
            return (shared + 2 * on_service + on_product, incident.created_at)

        similar = sorted(candidates[:50], key=likeness, reverse=True)[:SIMILAR_SHOWN]
    return render(request, "incidents/create.html#similar", {"similar": similar})


def _words(text: str) -> list[str]:
    """The summary's telling words, longest first."""
    words = {word.lower() for word in re.findall(r"\w+", text) if len(word) >= SIMILAR_MIN_WORD}
    return sorted(words, key=lambda word: (-len(word), word))[:SIMILAR_WORDS]


def _ids(values: list[str]) -> list[int]:
    return [number for number in map(parse_id, values) if number is not None]


@require_GET
def incident_detail(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    return render_workspace(request, incident)


def render_workspace(
    request: PortalRequest, incident: Incident, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """The incident page (the workspace), or its timeline for htmx; ``forms`` carry a
    refused form back with its errors."""
    user = request.user
    entries = incident.timeline.select_related("author")
    kind = request.GET.get("kind", "")
    if kind:
        entries = entries.filter(kind=kind)
    context = {
        "incident": incident,
        "entries": entries,
        "kind": kind,
        "can_edit": access.can_edit(user, incident),
        "can_manage": access.can_manage(user, incident),
        "can_add_entry": access.can_add_entry(user, incident),
        "transitions": [(to, Status(to).label) for to in actions.TRANSITIONS[incident.status]],
        "entry_form": forms.get("entry_form") or TimelineEntryForm(),
        "transition_form": forms.get("transition_form") or TransitionForm(),
        "severity_form": forms.get("severity_form")
        or SeverityForm(initial={"severity": incident.severity}),
        "kinds": TimelineEntryForm.base_fields["kind"].choices,  # type: ignore[attr-defined]
        **_roles_context(request, incident, forms.get("role_form")),
        # Refused forms of the panels, shown again with their errors.
        "refused": forms,
        "tab": "workspace",
    }
    if request.htmx:
        return render(request, "incidents/detail.html#timeline", context, status=status)
    context["lead_panels"] = panels.render_list(request, incident, "lead")
    context["main_panels"] = panels.render_list(request, incident, "main")
    context["side_panels"] = panels.render_list(request, incident, "side")
    return render(request, "incidents/detail.html", context, status=status)


def _refused(
    request: PortalRequest, incident: Incident, refusal: actions.ActionRefused, **forms: Any
) -> HttpResponse:
    messages.error(request, refusal.message)
    return render_workspace(request, incident, status=refusal.status_code, **forms)


@require_http_methods(["GET", "POST"])
def incident_edit(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    access.require(access.can_edit(request.user, incident), _("You may not edit this incident."))
    form = IncidentEditForm(request.POST or None, instance=incident)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            actions.update_incident(incident, by=request.user, **changes)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            messages.success(request, _("%(key)s updated.") % {"key": incident.key})
            return redirect(incident)
    return render(
        request,
        "incidents/edit.html",
        {"form": form, "incident": incident},
        status=400 if form.errors else 200,
    )


@require_POST
def incident_claim(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    access.require(access.can_manage(request.user, incident), _("Only incident managers claim."))
    try:
        incident = actions.claim_incident(incident, by=request.user)
    except actions.ActionRefused as refusal:
        return _refused(request, incident, refusal)
    messages.success(request, _("You are the incident manager of %(key)s.") % {"key": incident.key})
    return redirect(incident)


@require_POST
def incident_transition(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    access.require(
        access.can_manage(request.user, incident), _("Only incident managers change status.")
    )
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return render_workspace(request, incident, status=400, transition_form=form)
    try:
        incident = actions.transition_incident(incident, by=request.user, **form.cleaned_data)
    except actions.ActionRefused as refusal:
        refusal.add_to(form)
        return _refused(request, incident, refusal, transition_form=form)
    messages.success(
        request,
        _("%(key)s is %(status)s.")
        % {"key": incident.key, "status": incident.get_status_display().lower()},
    )
    # What other parts say is left to do (the public page's final update); the incident
    # page's panels carry the buttons.
    for step in follow_ups.next_steps(incident, user=request.user):
        messages.warning(request, step.text)
    return redirect(incident)


@require_POST
def incident_severity(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    access.require(
        access.can_manage(request.user, incident), _("Only incident managers change severity.")
    )
    form = SeverityForm(request.POST)
    if not form.is_valid():
        return render_workspace(request, incident, status=400, severity_form=form)
    incident = actions.change_severity(incident, by=request.user, **form.cleaned_data)
    messages.success(
        request,
        _("%(key)s is now severity %(severity)s.")
        % {"key": incident.key, "severity": incident.severity},
    )
    return redirect(incident)


@require_http_methods(["GET", "POST"])
def incident_timeline(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    if request.method == "GET":
        return render_workspace(request, incident)
    access.require(
        access.can_add_entry(request.user, incident), _("You may not add to the timeline.")
    )
    form = TimelineEntryForm(request.POST)
    if form.is_valid():
        try:
            actions.add_timeline_entry(incident, by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
    if form.errors:
        if not request.htmx:
            return render_workspace(request, incident, status=400, entry_form=form)
        # The form, not the timeline, shows what to fix.
        response = render(
            request,
            "incidents/detail.html#entry-form",
            {"incident": incident, "entry_form": form},
            status=400,
        )
        retarget(response, "#entry-form")
        reswap(response, "outerHTML")
        return response
    if request.htmx:
        return render_workspace(request, incident)
    return redirect(f"{incident.get_absolute_url()}#timeline")


def _roles_context(
    request: PortalRequest, incident: Incident, role_form: RoleAssignForm | None = None
) -> dict[str, Any]:
    history = selectors.role_history(incident)
    current = [held for held in history if held.is_current]
    user = request.user
    can_delegate = access.can_delegate(user, incident)
    return {
        "current_roles": sorted(
            current,
            key=lambda held: (
                not (held.role == "incident_manager" and held.person_id == incident.assignee_id),
                held.role != "incident_manager",
            ),
        ),
        "past_roles": [held for held in history if not held.is_current],
        "can_delegate": can_delegate and incident.is_open,
        "role_form": role_form or RoleAssignForm(),
        "handover_form": RoleHandOverForm(),
    }


def _roles_response(
    request: PortalRequest, incident: Incident, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """After a role change: the roles card for htmx, the page (PRG) otherwise."""
    if request.htmx:
        incident.refresh_from_db()
        context = {
            "incident": incident,
            **_roles_context(request, incident, forms.get("role_form")),
        }
        return render(request, "incidents/detail.html#roles", context, status=status)
    if status >= 400:
        return render_workspace(request, incident, status=status, **forms)
    return redirect(f"{incident.get_absolute_url()}#roles")


@require_http_methods(["GET", "POST"])
def incident_roles(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    if request.method == "GET":
        return _roles_response(request, incident)
    access.require(
        access.can_delegate(request.user, incident), _("Only the incident manager delegates roles.")
    )
    form = RoleAssignForm(request.POST)
    if form.is_valid():
        try:
            held = actions.assign_role(incident, by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            messages.success(
                request,
                _("%(name)s is now %(role)s.") % {"name": _who(held.person), "role": held.label},
            )
            return _roles_response(request, incident)
    return _roles_response(request, incident, status=400, role_form=form)


def _role(incident: Incident, pk: int) -> RoleAssignment:
    return get_object_or_404(
        RoleAssignment.objects.select_related("person"), incident=incident, pk=pk
    )


def _who(user: Any) -> str:
    return user.get_full_name() or user.get_username()


@require_POST
def role_hand_over(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    held = _role(incident, pk)
    access.require(
        access.can_delegate(request.user, incident),
        _("Only the incident manager hands roles over."),
    )
    form = RoleHandOverForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose who takes the role over."))
        return _roles_response(request, incident, status=400)
    try:
        new = actions.hand_over_role(held, by=request.user, **form.cleaned_data)
    except actions.ActionRefused as refusal:
        messages.error(request, refusal.message)
        return _roles_response(request, incident, status=refusal.status_code)
    messages.success(
        request, _("%(name)s took over %(role)s.") % {"name": _who(new.person), "role": new.label}
    )
    return _roles_response(request, incident)


@require_POST
def role_release(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    held = _role(incident, pk)
    access.require(access.can_release(request.user, held), _("You may not end this role."))
    try:
        actions.release_role(held, by=request.user)
    except actions.ActionRefused as refusal:
        messages.error(request, refusal.message)
        return _roles_response(request, incident, status=refusal.status_code)
    messages.success(
        request,
        _("%(name)s no longer holds %(role)s.") % {"name": _who(held.person), "role": held.label},
    )
    return _roles_response(request, incident)


@require_GET
def severity_matrix(request: PortalRequest) -> HttpResponse:
    return render(request, "incidents/severity_matrix.html")


@require_GET
def short_link(request: PortalRequest, key: str) -> HttpResponse:
    """``/hot-12`` for people in a hurry; the detail page decides who may see it."""
    return redirect("incidents:detail", key=access.normalize_key(key))


@require_GET
def home(request: PortalRequest) -> HttpResponse:
    # The support team runs its day from the dashboard; everyone else starts at the list.
    if access.can_label(request.user):
        return redirect("support:dashboard")
    return redirect("incidents:list")
