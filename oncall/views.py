"""The on-call pages. Each view parses input, asks ``access``, calls one action."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.http import PortalRequest
from incidents import access as incident_access
from incidents.actions import ActionRefused
from incidents.models import Incident

from . import access, actions, delivery, feeds, selectors
from .forms import (
    ContactMethodForm,
    ManualPageForm,
    OverrideForm,
    ParticipantsForm,
    RosterSettingsForm,
)
from .models import ContactMethod, Escalation, Override, Page, Roster, Rotation
from .personal import calendar as readable_calendar


@require_GET
def index(request: PortalRequest) -> HttpResponse:
    access.require(access.can_read(request.user), _("Sign in to see rosters."))
    return render(request, "oncall/index.html", {"rows": selectors.board()})


def _roster_page(
    request: PortalRequest, roster: Roster, status: int = 200, **forms: Any
) -> HttpResponse:
    roster = selectors.rosters_for_schedule().get(pk=roster.pk)
    now = timezone.now()
    members = selectors.newest_members(roster)
    context = {
        "roster": roster,
        "row": selectors.now_and_next(roster, now),
        "can_edit": access.can_edit_roster(request.user, roster),
        "upcoming": list(selectors.schedule.schedule(roster, now, now + timedelta(days=14))),
        "overrides": [o for o in roster.overrides.all() if o.ends_at > now],
        "feed_url": request.build_absolute_uri(feeds.roster_feed_path(roster)),
        "settings_form": forms.get("settings_form")
        or RosterSettingsForm(
            initial={
                field: getattr(roster, field) for field in ("name", *actions.ROTATION_SETTINGS)
            }
        ),
        "participants_form": forms.get("participants_form")
        or ParticipantsForm(initial={"participants": "\n".join(user.username for user in members)}),
        "members": members,
        # The shifts as they run now (the roster's own fields show the newest version).
        "rotation_now": selectors.schedule.in_force(selectors.schedule.rotations(roster), now),
        "changes_ahead": [r for r in roster.rotations.all() if r.effective_from > now],
        "override_form": forms.get("override_form") or OverrideForm(),
    }
    return render(request, "oncall/roster.html", context, status=status)


@require_http_methods(["GET", "POST"])
def roster_detail(request: PortalRequest, slug: str) -> HttpResponse:
    roster = access.access_roster(request.user, slug, write=request.method == "POST")
    if request.method == "GET":
        return _roster_page(request, roster)
    form = RosterSettingsForm(request.POST)
    if not form.is_valid():
        return _roster_page(request, roster, 400, settings_form=form)
    try:
        actions.update_roster(roster, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _roster_page(request, roster, 400, settings_form=form)
    messages.success(
        request, _("Saved the shift settings of %(roster)s.") % {"roster": roster.name}
    )
    return redirect("oncall:roster", roster.slug)


def _from(rotation: Rotation) -> str:
    when = timezone.localtime(rotation.effective_from)
    return f"{when:%Y-%m-%d %H:%M %Z}"


@require_POST
def roster_participants(request: PortalRequest, slug: str) -> HttpResponse:
    roster = access.access_roster(request.user, slug, write=True)
    form = ParticipantsForm(request.POST)
    if not form.is_valid():
        return _roster_page(request, roster, 400, participants_form=form)
    try:
        rotation = actions.change_rotation(roster, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _roster_page(request, roster, 400, participants_form=form)
    messages.success(
        request,
        _("Saved the rotation of %(roster)s: it takes effect %(when)s.")
        % {"roster": roster.name, "when": _from(rotation)},
    )
    return redirect("oncall:roster", roster.slug)


@require_POST
def override_add(request: PortalRequest, slug: str) -> HttpResponse:
    roster = access.access_roster(request.user, slug, write=True)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _roster_page(request, roster, 400, override_form=form)
    try:
        actions.add_override(roster, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _roster_page(request, roster, 400, override_form=form)
    messages.success(request, _("Override added."))
    return redirect("oncall:roster", roster.slug)


@require_POST
def override_remove(request: PortalRequest, slug: str, pk: int) -> HttpResponse:
    roster = access.access_roster(request.user, slug, write=True)
    override = get_object_or_404(Override, pk=pk, roster=roster)
    actions.remove_override(override, by=request.user)
    messages.success(request, _("Override removed."))
    return redirect("oncall:roster", roster.slug)


@require_GET
def calendar(request: PortalRequest) -> HttpResponse:
    access.require(access.can_read(request.user), _("Sign in to see rosters."))
    zone = readable_calendar.viewer_zone(request.GET.get("tz"))
    context = readable_calendar.build(zone)
    # A zone the person chose is theirs: the page's script must not swap in the browser's.
    preferences = getattr(request.user, "preferences", None)
    context["zone_chosen"] = bool(preferences and preferences.time_zone)
    return render(request, "oncall/calendar.html", context)


@require_GET
def gaps(request: PortalRequest) -> HttpResponse:
    access.require(access.can_read(request.user), _("Sign in to see rosters."))
    return render(request, "oncall/gaps.html", {"gaps": selectors.coverage_gaps()})


@require_http_methods(["GET", "POST"])
def contacts(request: PortalRequest) -> HttpResponse:
    """Each person chooses how they are paged."""
    form = ContactMethodForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.add_contact_method(request.user, by=request.user, **form.cleaned_data)
            except ActionRefused as refusal:
                refusal.add_to(form)
            else:
                messages.success(request, _("Contact method added."))
                return redirect("oncall:contacts")
        status = 400
    context = {
        "form": form,
        "methods": request.user.contact_methods.all(),
        "feed_url": request.build_absolute_uri(feeds.person_feed_path(request.user)),
    }
    return render(request, "oncall/contacts.html", context, status=status)


@require_POST
def contact_remove(request: PortalRequest, pk: int) -> HttpResponse:
    method = get_object_or_404(ContactMethod, pk=pk, user=request.user)
    actions.remove_contact_method(method, by=request.user)
    messages.success(request, _("Contact method removed."))
    return redirect("oncall:contacts")


# Acknowledging and paging from an incident ---------------------------------------------


# A page whose incident is unseen answers exactly like a page that does not exist.
NO_SUCH_PAGE = gettext_lazy("No such page.")


def _page_or_404(pk: int, *related: str) -> Page:
    page = Page.objects.select_related(*related).filter(pk=pk).first()
    if page is None:
        raise Http404(NO_SUCH_PAGE)
    return page


def _ack(request: PortalRequest, page: Page) -> HttpResponse:
    incident_access.access_incident(request.user, page.incident.key, not_found=NO_SUCH_PAGE)
    access.require(access.can_acknowledge(request.user, page), _("Only the person paged or an IM."))
    try:
        actions.acknowledge_page(page, by=request.user)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            _("Acknowledged: escalation of %(key)s stopped.") % {"key": page.incident.key},
        )
    return redirect(page.incident)


@require_http_methods(["GET", "POST"])
def acknowledge_link(request: PortalRequest, token: str) -> HttpResponse:
    """The link in a page. GET only shows a button: chat link previews must not ack."""
    try:
        page_id = delivery.page_from_token(token)
    except signing.SignatureExpired:
        return render(
            request, "oncall/ack.html", {"error": _("This link has expired.")}, status=410
        )
    except signing.BadSignature:
        raise Http404(NO_SUCH_PAGE) from None
    page = _page_or_404(page_id, "incident", "user")
    if request.method == "POST":
        return _ack(request, page)
    incident_access.access_incident(request.user, page.incident.key, not_found=NO_SUCH_PAGE)
    return render(request, "oncall/ack.html", {"page": page})


@require_POST
def page_acknowledge(request: PortalRequest, pk: int) -> HttpResponse:
    page = _page_or_404(pk, "incident")
    return _ack(request, page)


@require_POST
def incident_page(request: PortalRequest, key: str) -> HttpResponse:
    incident = incident_access.access_incident(request.user, key)
    access.require(access.can_page(request.user, incident), _("Only responders and IMs page."))
    form = ManualPageForm(request.POST)
    if form.is_valid():
        try:
            page = actions.page_manually(incident, by=request.user, **form.cleaned_data)
        except ActionRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("Paged %(recipient)s.") % {"recipient": page.recipient})
            return redirect(incident)
    else:
        # Each field's errors under its label, as the form names it to people.
        messages.error(
            request,
            "; ".join(
                f"{form.fields[name].label}: {' '.join(map(str, errors))}"
                if name in form.fields
                else " ".join(map(str, errors))
                for name, errors in form.errors.items()
            ),
        )
    return redirect(incident)


def incident_panel(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    pages, history = selectors.incident_paging(incident)
    user = request.user
    return {
        "pages": pages,
        # Each page with where each of its channels stands.
        "rows": [(page, selectors.channel_states(page)) for page in pages],
        "history": history,
        "escalation": Escalation.objects.filter(incident=incident).first(),
        "can_page": access.can_page(user, incident),
        "acknowledgeable": {
            p.pk
            for p in pages
            if p.state in ("pending", "sent") and access.can_acknowledge(user, p)
        },
        "form": ManualPageForm(),
    }


# iCalendar feeds: secret-token URLs that calendar apps fetch without a session ---------


@login_not_required
@require_GET
def roster_feed(request: HttpRequest, token: str) -> HttpResponse:
    roster = get_object_or_404(selectors.rosters_for_schedule(), feed_token=token)
    return feeds.response(feeds.roster_calendar(roster), f"{roster.slug}.ics")


@login_not_required
@require_GET
def person_feed(request: HttpRequest, token: str) -> HttpResponse:
    user = feeds.user_from_token(token)
    if user is None:
        raise Http404(_("No such feed."))
    return feeds.response(feeds.person_calendar(user), f"{user.username}-oncall.ics")
