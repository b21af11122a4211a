"""The support team's pages (HANDBOOK §1): case labelling by issue key (also the
dashboard's inline form), the customer follow-up preview and the metrics. The live
dashboard is in ``board``. Views parse, ask ``access``, call actions."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import PortalRequest, parse_id, redirect_back
from incidents import access, actions
from incidents.models import Incident
from incidents.support import actions as support_actions
from incidents.support import follow_up as incident_follow_up
from incidents.support import label_history, metrics, metrics_pages
from incidents.support import panel as support_panel
from incidents.support.models import SupportCase

CSV_MAX_BYTES = 2 * 1024 * 1024
HISTORY_PAGE = 50
CASE_PAGE = 50


class LabelForm(forms.Form):
    key = forms.CharField(
        label=gettext_lazy("Issue key"),
        max_length=40,
        help_text=gettext_lazy("The issue key, e.g. HOT-1234."),
    )
    references = forms.CharField(
        label=gettext_lazy("Case references"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Case references, one a line or separated by commas."),
    )
    csv_file = forms.FileField(
        label=gettext_lazy("or a CSV file"),
        required=False,
        help_text=gettext_lazy(
            "The first column holds the case references; a 'reference' header is skipped."
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        refs = support_actions.parse_references(cleaned.get("references") or "")
        upload = cleaned.get("csv_file")
        if upload is not None:
            if upload.size > CSV_MAX_BYTES:
                self.add_error("csv_file", _("The file is over 2 MB; split it."))
                return cleaned
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("csv_file", _("The file is not UTF-8 text."))
                return cleaned
            rows = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0]]
            if rows and rows[0].lower() == "reference":
                rows = rows[1:]
            refs = support_actions.parse_references([*refs, *rows])
        if not refs and not self.errors:
            self.add_error("references", _("Give at least one case reference."))
        cleaned["refs"] = refs
        return cleaned


def _move_confirmed(request: PortalRequest) -> bool:
    """The "Move them" button of the confirmation sends ``move=1``."""
    return request.POST.get("move") == "1"


@require_POST
def dashboard_label(request: PortalRequest) -> HttpResponse:
    """The dashboard's one-field form: label one or a few cases with a key. A case
    labelled with another incident is not moved until "Move them" confirms it."""
    access.require(access.can_label(request.user), _("You may not label support cases."))
    form = LabelForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(error) for errors in form.errors.values() for error in errors)
        return render(
            request, "incidents/support/_label_result.html", {"error": errors}, status=400
        )
    try:
        result = support_actions.label_cases(
            key=form.cleaned_data["key"],
            references=form.cleaned_data["refs"],
            by=request.user,
            move=_move_confirmed(request),
        )
    except actions.ActionRefused as refusal:
        return render(
            request, "incidents/support/_label_result.html", {"error": refusal.message}, status=400
        )
    return render(
        request,
        "incidents/support/_label_result.html",
        {"summary": _label_summary(result), "result": result},
    )


@require_http_methods(["GET", "POST"])
def case_list(request: PortalRequest) -> HttpResponse:
    """Every case, newest first, and bulk labelling by pasted list or CSV."""
    access.require(access.can_label(request.user), _("You may not label support cases."))
    form = LabelForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = support_actions.label_cases(
                    key=form.cleaned_data["key"],
                    references=form.cleaned_data["refs"],
                    by=request.user,
                    all_or_nothing=False,
                    move=_move_confirmed(request),
                )
            except actions.ActionRefused as refusal:
                refusal.add_to(form)
        if form.errors:
            status = 400
    q = request.GET.get("q", "").strip()
    state = request.GET.get("state", "")
    filter_error = ""
    if state not in CASE_STATES:
        filter_error = f"state: choose labelled or unlabelled, not {state!r}."
        state, status = "", 400
    cases, number, has_next = _case_page(q, state, request.GET.get("page", ""))
    labels = {case.label_id for case in cases if case.label_id}
    visible = set(
        access.visible_incidents(request.user).filter(pk__in=labels).values_list("pk", flat=True)
    )
    kept = urlencode({name: value for name, value in (("q", q), ("state", state)) if value})
    return render(
        request,
        "incidents/support/cases.html",
        {
            "form": form,
            "result": result,
            "cases": cases,
            "number": number,
            "has_next": has_next,
            "q": q,
            "state": state,
            "states": CASE_STATES,
            "filter_error": filter_error,
            "kept": kept,
            "visible": visible,
            "can_see_history": access.can_see_label_history(request.user),
            "undo": _undo_offer(request, request.GET.get("removed", "")),
        },
        status=status,
    )


def _undo_offer(request: PortalRequest, removed: str) -> dict[str, Any] | None:
    """After "Remove label" without JavaScript the list comes back with ``removed=<pk>``:
    it offers Undo while the case is still unlabelled and its last change is that removal
    from an incident the person may see."""
    pk = parse_id(removed)
    if pk is None:
        return None
    case = SupportCase.objects.filter(pk=pk, label__isnull=True).first()
    if case is None:
        return None
    change = case.label_history.select_related("from_incident").first()
    if change is None or change.to_incident_id or change.from_incident is None:
        return None
    if not access.visible_incidents(request.user).filter(pk=change.from_incident.pk).exists():
        return None
    return {"case": case, "incident": change.from_incident}


CASE_STATES = {
    "": gettext_lazy("Labelled or not"),
    "labelled": gettext_lazy("Labelled"),
    "unlabelled": gettext_lazy("Not labelled"),
}


def _case_page(q: str, state: str, page: str) -> tuple[list[SupportCase], int, bool]:
    """One page of cases, newest first, and whether an older page exists: no count of a
    million rows, one query served by the ``case_opened`` index (and, for a rare search
    term on PostgreSQL, by the trigram indexes of migration 0015)."""
    cases = SupportCase.objects.select_related("label", "labelled_by").order_by("-opened_at", "-pk")
    if q:
        cases = cases.filter(
            Q(reference__icontains=q) | Q(customer_name__icontains=q) | Q(organisation__icontains=q)
        )
    if state:
        cases = cases.filter(label__isnull=state == "unlabelled")
    number = parse_id(page) or 1
    start = (number - 1) * CASE_PAGE
    rows = list(cases[start : start + CASE_PAGE + 1])
    return rows[:CASE_PAGE], number, len(rows) > CASE_PAGE


NO_SUCH_CASE = gettext_lazy("No such case.")


@require_POST
def case_unlabel(request: PortalRequest, pk: int) -> HttpResponse:
    """ "Remove label" acts at once and answers "Label removed from SD-1 — Undo" (the
    row itself with HTMX, the list with an Undo bar without)."""
    access.require(access.can_label(request.user), _("You may not label support cases."))
    case = SupportCase.objects.select_related("label").filter(pk=pk).first()
    if case is None:
        raise Http404(NO_SUCH_CASE)
    incident = case.label
    if incident is not None:
        # Unlabelling names the incident: only someone who may see it does it. An unseen
        # one answers exactly like a missing case, never with its key.
        access.access_incident(request.user, incident.key, not_found=NO_SUCH_CASE)
    try:
        case = support_actions.remove_label(case, by=request.user)
    except actions.ActionRefused as refusal:
        if request.htmx:
            return _case_row(request, case, error=refusal.message, status=400)
        messages.error(request, refusal.message)
        return redirect_back(request, reverse("support:cases"))
    if request.htmx:
        return _case_row(request, case, undo={"case": case, "incident": incident})
    back = redirect_back(request, reverse("support:cases"))
    back["Location"] = _with_param(back["Location"], "removed", str(case.pk))
    return back


@require_POST
def case_relabel(request: PortalRequest, pk: int) -> HttpResponse:
    """Undo of "Remove label": label the case with the incident it was removed from
    (``key``), through the one labelling action. A case labelled elsewhere meanwhile
    is not moved."""
    access.require(access.can_label(request.user), _("You may not label support cases."))
    case = SupportCase.objects.filter(pk=pk).first()
    if case is None:
        raise Http404(NO_SUCH_CASE)
    status = 200
    try:
        result = support_actions.label_cases(
            key=request.POST.get("key", ""), references=[case.reference], by=request.user
        )
    except actions.ActionRefused as refusal:
        outcome, status = refusal.message, refusal.status_code
    else:
        outcome = _label_summary(result)
        if result.held:
            # Labelled elsewhere since the label was removed (a lost race): left there.
            outcome = f"{case.reference} is labelled with {result.held[0].where} now: not moved."
            status = 409
    if request.htmx:
        case = SupportCase.objects.select_related("label", "labelled_by").get(pk=pk)
        done = status == 200
        return _case_row(request, case, status=status, **{"note" if done else "error": outcome})
    messages.add_message(request, messages.SUCCESS if status == 200 else messages.ERROR, outcome)
    return redirect_back(request, reverse("support:cases"))


def _with_param(url: str, name: str, value: str) -> str:
    path, _hash, fragment = url.partition("#")
    kept = [
        part
        for part in path.partition("?")[2].split("&")
        if part and not part.startswith(f"{name}=")
    ]
    query = "&".join([*kept, urlencode({name: value})])
    return f"{path.partition('?')[0]}?{query}" + (f"#{fragment}" if fragment else "")


def _case_row(
    request: PortalRequest, case: SupportCase, *, status: int = 200, **outcome: Any
) -> HttpResponse:
    """One row of the case list, as HTMX swaps it after Remove label or Undo."""
    visible = set()
    if case.label_id:
        visible = set(
            access.visible_incidents(request.user)
            .filter(pk=case.label_id)
            .values_list("pk", flat=True)
        )
    context = {
        "case": case,
        "visible": visible,
        "can_see_history": access.can_see_label_history(request.user),
        "back": request.POST.get("next", reverse("support:cases")),
        **outcome,
    }
    return render(request, "incidents/support/cases.html#case-row", context, status=status)


def _label_summary(result: support_actions.LabelResult) -> str:
    """What a labelling did, naming each case and where a moved one came from: the HTMX
    answer and the no-JS message. Cases held elsewhere are named by the confirmation."""
    key = result.incident.key
    parts = []
    if result.labelled:
        parts.append(f"Labelled {', '.join(result.labelled)} with {key}.")
    by_source: dict[str, list[str]] = {}
    for item in result.moved_from:
        by_source.setdefault(item.where, []).append(item.reference)
    for source, refs in by_source.items():
        parts.append(f"Moved {', '.join(refs)} to {key} from {source}.")
    if result.already:
        parts.append(f"{', '.join(result.already)} already labelled with {key}.")
    return " ".join(parts)


def _cases_panel(
    request: PortalRequest, incident: Incident, *, status: int = 200, **outcome: Any
) -> HttpResponse:
    context = {"incident": incident, "panel": support_panel.context(request, incident), **outcome}
    return render(request, "incidents/support/_cases_panel.html", context, status=status)


@require_http_methods(["GET", "POST"])
def incident_cases(request: PortalRequest, key: str) -> HttpResponse:
    """The incident page's cases panel (GET, for HTMX) and its "label cases with this
    key" form. With HTMX the answer is the panel again, its count and list up to date,
    with what happened; without, a redirect to the incident page with a message."""
    incident = access.access_incident(request.user, key)
    if request.method == "GET":
        return _cases_panel(request, incident)
    access.require(access.can_label(request.user), _("You may not label support cases."))
    refs = support_actions.parse_references(request.POST.get("references", ""))
    try:
        result = support_actions.label_cases(
            key=incident.key, references=refs, by=request.user, move=_move_confirmed(request)
        )
    except actions.ActionRefused as refusal:
        if request.htmx:
            return _cases_panel(
                request,
                incident,
                status=400,
                error=refusal.message,
                references=request.POST.get("references", ""),
            )
        messages.error(request, refusal.message)
    else:
        summary = _label_summary(result)
        if request.htmx:
            return _cases_panel(request, incident, result=summary, held=result.held)
        if result.held:
            # Without JavaScript the question is a page of its own, as Django's admin
            # asks before a delete: the cases held elsewhere, and "Move them".
            return render(
                request,
                "incidents/support/move_confirm.html",
                {"incident": incident, "summary": summary, "held": result.held},
            )
        messages.success(request, summary)
    return redirect(f"{incident.get_absolute_url()}#support-cases")


@require_GET
def case_history(request: PortalRequest, pk: int) -> HttpResponse:
    """One case's label history: labelled, moved, removed, by whom and when."""
    access.require(
        access.can_see_label_history(request.user), _("You may not see the label history.")
    )
    case = get_object_or_404(SupportCase.objects.select_related("label"), pk=pk)
    page = Paginator(label_history.for_case(case), HISTORY_PAGE).get_page(request.GET.get("page"))
    visible = label_history.visible_incident_ids(request.user, page.object_list, case.label_id)
    return render(
        request,
        "incidents/support/label_history.html",
        {"case": case, "page": page, "visible": visible},
    )


@require_GET
def incident_label_history(request: PortalRequest, key: str) -> HttpResponse:
    """Every case labelled with the incident, moved to or from it, or unlabelled."""
    incident = access.access_incident(request.user, key)
    access.require(
        access.can_see_label_history(request.user), _("You may not see the label history.")
    )
    changes = label_history.for_incident(incident)
    page = Paginator(changes, HISTORY_PAGE).get_page(request.GET.get("page"))
    visible = label_history.visible_incident_ids(request.user, page.object_list, incident.pk)
    return render(
        request,
        "incidents/support/label_history.html",
        {"incident": incident, "page": page, "visible": visible},
    )


@require_http_methods(["GET", "POST"])
def follow_up_preview(request: PortalRequest, key: str) -> HttpResponse:
    """Who will be e-mailed when the incident is resolved, and the e-mail itself; the
    incident's managers can switch the follow-up off (or on again)."""
    incident = access.access_incident(request.user, key)
    access.require(
        access.can_follow_up(request.user, incident),
        _("Only the incident's managers handle the customer follow-up."),
    )
    if request.method == "POST":
        enabled = request.POST.get("enabled") == "on"
        support_actions.set_customer_follow_up(incident, enabled=enabled, by=request.user)
        messages.success(
            request,
            (
                _("Customer follow-up for %(key)s is on.")
                if enabled
                else _("Customer follow-up for %(key)s is off.")
            )
            % {"key": incident.key},
        )
        return redirect("support:follow_up", key=incident.key)
    # Restricted incidents are never followed up (follow_up.should_follow_up).
    due = [] if incident.restricted else list(incident_follow_up.due_cases(incident))
    mails = incident_follow_up.messages(incident, due[:1])
    done = incident.support_cases.filter(followed_up_at__isnull=False).count()
    no_address = incident.support_cases.filter(contact_email="").count()
    return render(
        request,
        "incidents/support/follow_up.html",
        {
            "incident": incident,
            "due": due,
            "sample": mails[0] if mails else None,
            "done": done,
            "no_address": no_address,
            "now": timezone.now(),
        },
    )


def _metrics_incidents(request: PortalRequest) -> tuple[metrics_pages.MetricsFilter, Any]:
    form = metrics_pages.MetricsFilter(request.GET)
    incidents = access.visible_incidents(request.user)
    if not form.is_valid():
        return form, incidents.none()
    return form, metrics.filtered(incidents, **form.filters())


@require_GET
def metrics_page(request: PortalRequest) -> HttpResponse:
    """TTD and TTR: distributions, medians and p90, and the incidents missing times. The
    content is kept per version of the figures (``metrics.page``) and computed again by
    a worker after a change (``metrics_pages.warm``): a page already computed costs the
    layout, one query and one cache read."""
    page = metrics_pages.shown(request.user, request.GET)
    if page.status == 200:  # an error's page is not kept: nothing to compute ahead
        metrics_pages.viewed(request.user, request.GET, page)
    return render(
        request,
        "incidents/support/metrics.html",
        {"m": page.figures, "content": page.content},
        status=page.status,
    )


# What makes a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    """A text cell a spreadsheet shows as text, never runs: summaries come from alerts
    too, that is from outside. A leading apostrophe, as OWASP advises for CSV."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def metrics_csv(request: PortalRequest) -> HttpResponse | StreamingHttpResponse:
    """The incident table with its times, streamed: a year of incidents is no problem."""
    form, incidents = _metrics_incidents(request)
    if form.errors:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(
            [
                "key",
                "summary",
                "severity",
                "status",
                "faulty_service",
                "team",
                "impact_started_at",
                "detected_at",
                "impact_ended_at",
                "ttd_minutes",
                "ttr_minutes",
            ]
        )
        for row in metrics.rows(incidents):
            yield writer.writerow(
                [
                    row.key,
                    _csv_text(row.summary),
                    row.severity,
                    row.status,
                    _csv_text(row.service),
                    _csv_text(row.team),
                    *(
                        value.isoformat() if value else ""
                        for value in (row.impact_started_at, row.detected_at, row.impact_ended_at)
                    ),
                    *(
                        f"{value.total_seconds() / 60:.1f}" if value is not None else ""
                        for value in (row.ttd, row.ttr)
                    ),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="incident-times.csv"'
    return response
