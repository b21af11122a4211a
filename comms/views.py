"""The portal's communication pages: the internal status page, drafts with their live
checklist, review and publishing, and the incident-page panel."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from config.http import PortalRequest
from incidents import access as incident_access
from incidents.models import Incident
from incidents.selectors import current_roles

from . import access, actions, content, selectors
from .forms import CommunicationForm, DraftForm, ReviewForm
from .models import Audience, Communication


def panel_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    user = request.user
    return {
        "topic": content.topic(incident),
        "roles": current_roles(incident),
        "communications": selectors.incident_communications(incident),
        "next_update": selectors.next_update_due(incident),
        "can_draft": access.can_draft(user, incident),
        "draft_form": DraftForm(),
        # Resolved, and the public page still says "ongoing": the final update to publish.
        "next_steps": selectors.final_update_steps(incident, user),
    }


@require_GET
def internal_status(request: PortalRequest) -> HttpResponse:
    access.require(
        access.can_view_internal_page(request.user), gettext("You may not see incidents.")
    )
    visible = incident_access.visible_incidents(request.user)
    pages = list(selectors.internal_incidents(visible))
    with_page = {page.incident_id for page in pages}
    # Open incidents nobody has announced yet still show, by their internal name.
    unannounced = visible.open().exclude(pk__in=with_page).order_by("severity", "-created_at")
    return render(
        request, "comms/internal_status.html", {"pages": pages, "unannounced": unannounced}
    )


@require_POST
def draft_create(request: PortalRequest, key: str) -> HttpResponse:
    incident = incident_access.access_incident(request.user, key)
    access.require(
        access.can_draft(request.user, incident), gettext("You may not draft communications.")
    )
    form = DraftForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose the audience and the kind of communication."))
        return redirect(incident)
    try:
        communication = actions.draft_communication(
            incident,
            audience=form.cleaned_data["audience"],
            kind=form.cleaned_data["kind"],
            by=request.user,
        )
    except actions.ActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect(incident)
    return redirect("comms:communication", pk=communication.pk)


def _page(
    request: PortalRequest,
    communication: Communication,
    *,
    form: CommunicationForm | None = None,
    review_form: ReviewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    incident = communication.incident
    context = {
        "communication": communication,
        "incident": incident,
        "form": form or _form(communication),
        "review_form": review_form or ReviewForm(),
        "checklist": content.checklist(communication),
        "needs_checklist": content.needs_checklist(communication),
        "warnings": content.warnings(communication),
        "can_publish": access.can_publish(request.user, incident),
        "can_draft": access.can_draft(request.user, incident),
    }
    return render(request, "comms/communication.html", context, status=status)


def _form(communication: Communication, data: Any = None) -> CommunicationForm:
    """The draft's form; the products' status only matters to the public page."""
    form = CommunicationForm(data, instance=Communication.objects.get(pk=communication.pk))
    if communication.audience == Audience.INTERNAL:
        del form.fields["component_status"]
    return form


@require_http_methods(["GET", "POST"])
def communication_detail(request: PortalRequest, pk: int) -> HttpResponse:
    """The draft: GET shows it; POST saves it (and publishes when asked)."""
    communication = access.access_communication(request.user, pk)
    incident = communication.incident
    if request.method == "GET":
        return _page(request, communication)
    access.require(
        access.can_draft(request.user, incident), gettext("You may not edit communications.")
    )
    form = _form(communication, request.POST)
    if not form.is_valid():
        return _page(request, communication, form=form, status=400)
    publish = "publish" in request.POST
    if publish:
        access.require(
            access.can_publish(request.user, incident),
            gettext("Only incident managers and communications managers publish."),
        )
    try:
        with_changes = actions.update_communication(
            communication,
            by=request.user,
            **{name: form.cleaned_data[name] for name in form.fields},
        )
        if publish:
            actions.publish_communication(with_changes, by=request.user)
    except actions.ActionRefused as refusal:
        refusal.add_to(form)
        communication.refresh_from_db()
        return _page(request, communication, form=form, status=refusal.status_code)
    if publish:
        messages.success(
            request,
            gettext("Published the %(communication)s.") % {"communication": communication.label},
        )
        target = incident.get_absolute_url()
        return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    messages.success(request, gettext("Draft saved."))
    return redirect("comms:communication", pk=pk)


@require_POST
def communication_checklist(request: PortalRequest, pk: int) -> HttpResponse:
    """The live checklist: the form's current values checked without saving anything."""
    communication = access.access_communication(request.user, pk)
    access.require(
        access.can_draft(request.user, communication.incident), gettext("You may not draft.")
    )
    form = _form(communication, request.POST)
    form.is_valid()
    # An invalid field (a half-typed date) counts as missing; the rest as typed.
    for name, value in form.cleaned_data.items():
        setattr(communication, name, value)
    if "next_update_at" in form.errors:
        communication.next_update_at = None
    return render(
        request,
        "comms/communication.html#checklist",
        {
            "checklist": content.checklist(communication),
            "needs_checklist": content.needs_checklist(communication),
            "warnings": content.warnings(communication),
            "communication": communication,
        },
    )


@require_POST
def communication_review(request: PortalRequest, pk: int) -> HttpResponse:
    communication = access.access_communication(request.user, pk)
    access.require(
        access.can_draft(request.user, communication.incident),
        gettext("You may not ask for reviews."),
    )
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            actions.request_review(
                communication, reviewer=form.cleaned_data["reviewer"], by=request.user
            )
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            messages.success(
                request,
                gettext("Sent to %(reviewer)s for review.")
                % {"reviewer": form.cleaned_data["reviewer"]},
            )
            return redirect("comms:communication", pk=pk)
    return _page(request, communication, review_form=form, status=400)
