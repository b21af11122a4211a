"""The status document (HANDBOOK §3): one printable page per incident, and the forms
that add to it. Every write goes through ``actions``; every view asks ``access``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import PortalRequest
from incidents import access, actions, selectors
from incidents.forms import SeverityForm
from incidents.models import EntryKind, Incident, IncidentChange, Severity, Theory, TimelineEntry
from incidents.views import _ids, _who, render_workspace
from incidents.workspace import actions as workspace_actions
from incidents.workspace import selectors as workspace_selectors
from incidents.workspace.forms import (
    AssessmentForm,
    ChangeForm,
    EntryEditForm,
    ExperimentForm,
    TheoryDecisionForm,
    TheoryForm,
    WorkstreamForm,
)
from incidents.workspace.models import ServiceChange, Workstream


def _document(
    request: PortalRequest, incident: Incident, *, status: int = 200, **forms: Form
) -> HttpResponse:
    user = request.user
    theories = list(
        incident.theories.select_related("entry__author", "decided_by").prefetch_related(
            "experiments__entry__author"
        )
    )
    context: dict[str, Any] = {
        "incident": incident,
        "tab": "document",
        "roles": selectors.current_roles(incident),
        "changes": incident.changes.select_related("entry__author", "undone_by"),
        "workstreams": incident.workstreams.select_related("lead"),
        "observations": incident.timeline.filter(kind=EntryKind.OBSERVATION).select_related(
            "author"
        ),
        "theories": theories,
        "loose_experiments": incident.experiments.filter(theory__isnull=True).select_related(
            "entry__author"
        ),
        "decisions": incident.timeline.filter(kind=EntryKind.DECISION).select_related("author"),
        "entries": incident.timeline.select_related("author").prefetch_related("edits"),
        "can_add": access.can_add_entry(user, incident),
        "change_form": forms.get("change_form") or ChangeForm(),
        "theory_form": forms.get("theory_form") or TheoryForm(),
        "experiment_form": forms.get("experiment_form") or ExperimentForm(incident=incident),
        "workstream_form": forms.get("workstream_form") or WorkstreamForm(),
        "decision_form": TheoryDecisionForm(),
    }
    return render(request, "incidents/workspace/document.html", context, status=status)


def nearby_changes_panel(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    return {
        "rows": workspace_selectors.changes_near_impact(incident),
        "window": workspace_selectors.change_window(incident),
    }


@require_GET
def incident_document(request: PortalRequest, key: str) -> HttpResponse:
    return _document(request, access.access_incident(request.user, key))


def _writer(request: PortalRequest, key: str) -> Incident:
    incident = access.access_incident(request.user, key)
    access.require(
        access.can_add_entry(request.user, incident), _("You may not add to the status document.")
    )
    return incident


def _add_entry(
    request: PortalRequest, key: str, kind: str, form_class: Any, form_name: str, anchor: str
) -> HttpResponse:
    incident = _writer(request, key)
    form = (
        form_class(request.POST, incident=incident)
        if form_class is ExperimentForm
        else form_class(request.POST)
    )
    if form.is_valid():
        try:
            actions.add_timeline_entry(incident, kind=kind, by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            return redirect(f"{incident.get_absolute_url()}document/#{anchor}")
    return _document(request, incident, status=400, **{form_name: form})


@require_POST
def document_change(request: PortalRequest, key: str) -> HttpResponse:
    return _add_entry(request, key, EntryKind.CHANGE, ChangeForm, "change_form", "changes")


@require_POST
def document_theory(request: PortalRequest, key: str) -> HttpResponse:
    return _add_entry(request, key, EntryKind.THEORY, TheoryForm, "theory_form", "theories")


@require_POST
def document_experiment(request: PortalRequest, key: str) -> HttpResponse:
    return _add_entry(
        request, key, EntryKind.EXPERIMENT, ExperimentForm, "experiment_form", "theories"
    )


@require_POST
def change_undo(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    incident = _writer(request, key)
    change = get_object_or_404(IncidentChange, incident=incident, pk=pk)
    workspace_actions.undo_change(change, by=request.user)
    messages.success(request, _("Marked undone; the undo is in the changes table."))
    return redirect(f"{incident.get_absolute_url()}document/#changes")


@require_POST
def theory_decide(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    incident = _writer(request, key)
    theory = get_object_or_404(Theory, incident=incident, pk=pk)
    form = TheoryDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose open, confirmed or disproved."))
        return _document(request, incident, status=400)
    workspace_actions.decide_theory(theory, by=request.user, **form.cleaned_data)
    return redirect(f"{incident.get_absolute_url()}document/#theory-{theory.pk}")


@require_POST
def workstream_save(request: PortalRequest, key: str, pk: int | None = None) -> HttpResponse:
    incident = _writer(request, key)
    workstream = get_object_or_404(Workstream, incident=incident, pk=pk) if pk else None
    form = WorkstreamForm(request.POST)
    if form.is_valid():
        try:
            workspace_actions.save_workstream(
                incident, by=request.user, workstream=workstream, **form.cleaned_data
            )
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            return redirect(f"{incident.get_absolute_url()}document/#workstreams")
    if workstream is not None:
        messages.error(
            request,
            _("Workstream %(name)s not saved: %(errors)s")
            % {"name": workstream.name, "errors": form.errors.as_text()},
        )
        return _document(request, incident, status=400)
    return _document(request, incident, status=400, workstream_form=form)


@require_http_methods(["GET", "POST"])
def entry_edit(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    """The author corrects an entry; the earlier versions stay listed under it."""
    incident = access.access_incident(request.user, key)
    entry = get_object_or_404(
        TimelineEntry.objects.prefetch_related("edits__edited_by"), incident=incident, pk=pk
    )
    access.require(access.can_edit_entry(request.user, entry), _("Only the author edits an entry."))
    form = EntryEditForm(
        request.POST or None, initial={"text": entry.text, "occurred_at": entry.occurred_at}
    )
    if request.method == "POST" and form.is_valid():
        try:
            workspace_actions.edit_timeline_entry(entry, by=request.user, **form.cleaned_data)
        except actions.ActionRefused as refusal:
            refusal.add_to(form)
        else:
            messages.success(request, _("Entry corrected; the earlier version is kept."))
            return redirect(f"{incident.get_absolute_url()}#entry-{entry.pk}")
    return render(
        request,
        "incidents/workspace/entry_edit.html",
        {"incident": incident, "entry": entry, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
def service_change_suspect(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    incident = _writer(request, key)
    change = get_object_or_404(ServiceChange.objects.select_related("service"), pk=pk)
    workspace_actions.suspect_service_change(incident, change, by=request.user)
    messages.success(request, _("Recorded as a theory: test it, then confirm or disprove it."))
    return redirect(f"{incident.get_absolute_url()}#nearby-changes")


@require_POST
def service_change_rollback(request: PortalRequest, key: str, pk: int) -> HttpResponse:
    incident = _writer(request, key)
    change = get_object_or_404(ServiceChange.objects.select_related("service"), pk=pk)
    workspace_actions.roll_back_service_change(incident, change, by=request.user)
    messages.success(request, _("Rollback logged in the changes table."))
    return redirect(f"{incident.get_absolute_url()}#nearby-changes")


@require_POST
def incident_break(request: PortalRequest, key: str) -> HttpResponse:
    """Someone steps away to rest: themselves, or sent by the IM (HANDBOOK §9)."""
    incident = access.access_incident(request.user, key)
    ids = _ids([request.POST.get("person", "")])
    if not ids:
        messages.error(request, "Say who takes the break.")
        return render_workspace(request, incident, status=400)
    person = get_object_or_404(get_user_model(), pk=ids[0])
    access.require(
        person.pk == request.user.pk or access.can_delegate(request.user, incident),
        _("Only the incident manager sends someone else on a break."),
    )
    workspace_actions.record_break(incident, person=person, by=request.user)
    messages.success(request, f"Break recorded for {_who(person)}.")
    return redirect(f"{incident.get_absolute_url()}#fatigue")


@require_http_methods(["GET", "POST"])
def incident_assessment(request: PortalRequest, key: str) -> HttpResponse:
    """The assessment beside the severity matrix; each save is a new revision."""
    incident = access.access_incident(request.user, key)
    can_assess = access.can_assess(request.user, incident)
    revisions = list(incident.assessments.select_related("author"))
    latest = revisions[0] if revisions else None
    # A revision starts from the answers of the one before.
    form = AssessmentForm(request.POST or None, initial=_answers(latest) if latest else {})
    if request.method == "POST":
        access.require(can_assess, _("Only the incident manager assesses the incident."))
        if form.is_valid():
            try:
                workspace_actions.save_assessment(incident, by=request.user, **form.cleaned_data)
            except actions.ActionRefused as refusal:
                refusal.add_to(form)
            else:
                messages.success(request, f"Assessment of {incident.key} saved to the timeline.")
                return redirect("incidents:assessment", key=incident.key)
    suggested = latest.suggested_severity if latest else None
    return render(
        request,
        "incidents/workspace/assessment.html",
        {
            "incident": incident,
            "form": form,
            "latest": latest,
            "revisions": revisions,
            "can_assess": can_assess,
            "can_manage": access.can_manage(request.user, incident),
            # Beside the typed count: the cases support labelled with the key.
            "labelled_cases": incident.support_cases.count(),
            "suggested": suggested,
            "severities": Severity,
            "severity_form": SeverityForm(initial={"severity": suggested or incident.severity}),
            "tab": "assessment",
        },
        status=400 if form.errors else 200,
    )


def _answers(assessment: Any) -> dict[str, Any]:
    return {name: getattr(assessment, name) for name in workspace_actions.ASSESSMENT_FIELDS}


def assessment_panel(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    return {"assessment": incident.assessments.select_related("author").first()}


def fatigue_panel(request: HttpRequest, incident: Incident) -> dict[str, Any] | None:
    loads = workspace_selectors.responder_fatigue(incident) if incident.is_open else []
    return {"loads": loads} if loads else None
