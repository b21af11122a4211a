"""After the impact ends (HANDBOOK §10): cleanup tasks and the post-incident review."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import PortalRequest, redirect_back
from incidents import access, actions
from incidents.after import access as after_access
from incidents.after import actions as after_actions
from incidents.after.forms import CleanupTaskForm, ReviewForm
from incidents.after.models import CleanupTask, Review
from incidents.models import Incident
from incidents.views import render_workspace


def _back(incident: Incident) -> HttpResponse:
    return redirect(f"{incident.get_absolute_url()}#cleanup")


def cleanup_panel(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    return {"tasks": incident.cleanup_tasks.select_related("owner"), "form": CleanupTaskForm()}


@require_POST
def cleanup_add(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    access.require(access.can_add_entry(request.user, incident), "You may not add cleanup tasks.")
    form = CleanupTaskForm(request.POST)
    if form.is_valid():
        try:
            after_actions.add_cleanup_task(incident, by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            return _back(incident)
    # The workspace, with this form and its errors in the cleanup card.
    return render_workspace(request, incident, status=400, cleanup_form=form)


@require_POST
def cleanup_done(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    task = get_object_or_404(
        CleanupTask.objects.select_related("incident"), incident=incident, pk=pk
    )
    access.require(
        after_access.can_complete_task(request.user, task), "Only the owner or an IM may."
    )
    done = request.POST.get("done", "1") != "0"
    after_actions.complete_cleanup_task(task, by=request.user, done=done)
    return redirect_back(request, f"{incident.get_absolute_url()}#cleanup")


@require_GET
def my_cleanup_tasks(request: PortalRequest) -> HttpResponse:
    """Open tasks the signed-in person owns, on incidents they may still see; overdue first."""
    tasks = (
        CleanupTask.objects.open()
        .filter(owner=request.user, incident__in=access.visible_incidents(request.user))
        .select_related("incident")
    )
    done = (
        CleanupTask.objects.filter(owner=request.user, done_at__isnull=False)
        .filter(incident__in=access.visible_incidents(request.user))
        .select_related("incident")
        .order_by("-done_at")[:20]
    )
    return render(request, "incidents/after/my_cleanup.html", {"tasks": tasks, "done": done})


def _review_page(
    request: PortalRequest,
    incident: Incident,
    review: Review | None,
    *,
    form: ReviewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_review = access.can_review(request.user, incident)
    if form is None and review is not None:
        form = ReviewForm(initial={"body": review.body})
    return render(
        request,
        "incidents/after/review.html",
        {
            "incident": incident,
            "review": review,
            "form": form,
            "can_review": can_review,
            "tab": "review",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def incident_review(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    review = Review.objects.filter(incident=incident).first()
    if request.method == "GET":
        return _review_page(request, incident, review)
    access.require(access.can_review(request.user, incident), "Only incident managers review.")
    if review is None:
        return _review_page(request, incident, None, status=400)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            after_actions.save_review(review, by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            form.add_error("body", refusal.message)
        else:
            messages.success(request, _("Review saved."))
            return redirect("incidents:review", key=incident.key)
    return _review_page(request, incident, review, form=form, status=400)


@require_POST
def review_start(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    access.require(access.can_review(request.user, incident), "Only incident managers review.")
    try:
        after_actions.start_review(incident, by=request.user)
    except actions.ActionRefused as refusal:
        messages.error(request, refusal.message)
        return _review_page(request, incident, None, status=400)
    messages.success(request, _("Draft written from the incident. Edit it, then mark it done."))
    return redirect("incidents:review", key=incident.key)


@require_POST
def review_complete(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    access.require(access.can_review(request.user, incident), "Only incident managers review.")
    review = get_object_or_404(Review, incident=incident)
    try:
        after_actions.complete_review(review, by=request.user)
    except actions.ActionRefused as refusal:
        messages.error(request, refusal.message)
        return _review_page(request, incident, review, status=refusal.status_code)
    messages.success(request, _("Review done: %(key)s is reviewed.") % {"key": incident.key})
    return redirect("incidents:review", key=incident.key)


@require_GET
def review_export(request: PortalRequest, key: str) -> HttpResponse:
    incident = access.access_incident(request.user, key)
    review = get_object_or_404(Review, incident=incident)
    response = HttpResponse(review.body, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{incident.key}-review.md"'
    return response
