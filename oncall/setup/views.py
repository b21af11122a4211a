"""The team set-up pages. Each view parses input, asks ``access``, calls one action."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from comms import destinations
from comms.models import ChatWebhook, DistributionList, Webhook
from comms.transports.webhook import standard_secret
from config.http import PortalRequest
from incidents.actions import ActionRefused
from incidents.models import Team

from .. import access as oncall_access
from ..models import EscalationStep
from . import access, actions, selectors
from .forms import (
    ChatWebhookForm,
    DistributionListForm,
    PeopleForm,
    PolicyForm,
    PreviewForm,
    RosterCreateForm,
    StepFormSet,
    TeamForm,
    TeamWebhookForm,
)


@require_http_methods(["GET", "POST"])
def team_list(request: PortalRequest) -> HttpResponse:
    access.require(access.can_read(request.user), _("Sign in to see teams."))
    form = TeamForm(request.POST or None)
    status = 200
    if request.method == "POST":
        access.require(access.can_create_team(request.user), _("Only global admins create teams."))
        if form.is_valid():
            try:
                team = actions.create_team(by=request.user, **form.cleaned_data)
            except ActionRefused as refusal:
                refusal.add_to(form)
                status = refusal.status_code
            else:
                messages.success(request, _("Created the team %(team)s.") % {"team": team.name})
                return redirect("oncall:team", team.slug)
        else:
            status = 400
    context = {
        "teams": selectors.teams(),
        "form": form,
        "can_create": access.can_create_team(request.user),
    }
    return render(request, "oncall/setup/teams.html", context, status=status)


def _team_page(request: PortalRequest, team: Team, status: int = 200, **forms: Any) -> HttpResponse:
    active, archived = selectors.team_rosters(team)
    policy, steps = selectors.policy_steps(team)
    admins = [
        row.user for row in team.oncall_admins.select_related("user").order_by("user__username")
    ]
    members = list(team.members.order_by("username"))
    chat = ChatWebhook.objects.filter(team=team, active=True).first()
    can_edit = access.can_edit_team(request.user, team)
    webhooks = list(Webhook.objects.filter(team=team).order_by("name", "pk"))
    distribution_lists = list(DistributionList.objects.filter(team=team).order_by("name"))
    # Team admins edit each in place (a refused edit comes back with its errors).
    failed_hooks, failed_lists = forms.get("hook_forms", {}), forms.get("list_forms", {})
    hook_rows = [
        (
            hook,
            destinations.shown_url(hook.url),
            failed_hooks.get(hook.pk)
            or (TeamWebhookForm(instance=hook, prefix=f"hook-{hook.pk}") if can_edit else None),
        )
        for hook in webhooks
    ]
    list_rows = [
        (
            distribution,
            failed_lists.get(distribution.pk)
            or (
                DistributionListForm(
                    initial={
                        "name": distribution.name,
                        "addresses": distribution.addresses,
                        "language": distribution.language,
                    },
                    prefix=f"list-{distribution.pk}",
                )
                if can_edit
                else None
            ),
        )
        for distribution in distribution_lists
    ]
    context = {
        "team": team,
        "rosters": active,
        "archived": archived,
        "policy": policy,
        "steps": steps,
        "admins": admins,
        "members": members,
        "can_edit": can_edit,
        "can_name_admins": access.can_name_admins(request.user),
        "team_form": forms.get("team_form")
        or TeamForm(initial={"name": team.name, "email": team.email}),
        "members_form": forms.get("members_form")
        or PeopleForm(initial={"people": "\n".join(user.username for user in members)}),
        "admins_form": forms.get("admins_form")
        or PeopleForm(initial={"people": "\n".join(user.username for user in admins)}),
        "roster_form": forms.get("roster_form") or RosterCreateForm(),
        "chat": chat,
        "chat_host": destinations.shown_url(chat.url) if chat else "",
        "chat_form": forms.get("chat_form")
        or ChatWebhookForm(
            initial={
                "format": chat.format if chat else None,
                "language": chat.language if chat else "",
            }
        ),
        "hook_rows": hook_rows,
        "webhook_form": forms.get("webhook_form") or TeamWebhookForm(prefix="hook"),
        "list_rows": list_rows,
        "list_form": forms.get("list_form") or DistributionListForm(prefix="list"),
        "services": list(team.services.order_by("name")),
        "integrations": team.services.filter(integrations__isnull=False).distinct().count(),
    }
    return render(request, "oncall/setup/team.html", context, status=status)


@require_http_methods(["GET", "POST"])
def team_detail(request: PortalRequest, slug: str) -> HttpResponse:
    team = access.access_team(request.user, slug, write=request.method == "POST")
    if request.method == "GET":
        return _team_page(request, team)
    form = TeamForm(request.POST)
    if not form.is_valid():
        return _team_page(request, team, 400, team_form=form)
    try:
        actions.update_team(team, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, 400, team_form=form)
    messages.success(request, _("Saved the team's settings."))
    return redirect("oncall:team", team.slug)


@require_POST
def team_members(request: PortalRequest, slug: str) -> HttpResponse:
    team = access.access_team(request.user, slug, write=True)
    form = PeopleForm(request.POST)
    if not form.is_valid():
        return _team_page(request, team, 400, members_form=form)
    actions.set_team_members(team, users=form.cleaned_data["people"], by=request.user)
    messages.success(request, _("Saved the team's members."))
    return redirect("oncall:team", team.slug)


@require_POST
def team_admins(request: PortalRequest, slug: str) -> HttpResponse:
    team = access.access_team(request.user, slug)
    access.require(access.can_name_admins(request.user), _("Only global admins name team admins."))
    form = PeopleForm(request.POST)
    if not form.is_valid():
        return _team_page(request, team, 400, admins_form=form)
    try:
        actions.set_team_admins(team, users=form.cleaned_data["people"], by=request.user)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, 400, admins_form=form)
    messages.success(request, _("Saved the team's admins."))
    return redirect("oncall:team", team.slug)


@require_POST
def team_chat(request: PortalRequest, slug: str) -> HttpResponse:
    """Set the team's chat webhook, or stop posting to it (``remove``)."""
    team = access.access_team(request.user, slug, write=True)
    if "remove" in request.POST:
        destinations.remove_team_chat_webhook(team, by=request.user)
        messages.success(request, _("Incidents of this team are no longer posted to chat."))
        return redirect("oncall:team", team.slug)
    form = ChatWebhookForm(request.POST)
    if not form.is_valid():
        return _team_page(request, team, 400, chat_form=form)
    try:
        destinations.set_team_chat_webhook(team, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, 400, chat_form=form)
    messages.success(request, _("Saved the team's chat webhook."))
    return redirect("oncall:team", team.slug)


@require_POST
def team_webhook_add(request: PortalRequest, slug: str) -> HttpResponse:
    """Add a signed webhook; its secret is shown this once."""
    team = access.access_team(request.user, slug, write=True)
    form = TeamWebhookForm(request.POST, prefix="hook")
    if not form.is_valid():
        return _team_page(request, team, 400, webhook_form=form)
    try:
        webhook = destinations.add_team_webhook(team, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, 400, webhook_form=form)
    messages.success(
        request,
        _("Added the webhook %(name)s. Its signing secret, shown only this once: %(secret)s")
        % {"name": webhook.name, "secret": standard_secret(webhook.secret)},
    )
    return redirect("oncall:team", team.slug)


@require_POST
def team_webhook(request: PortalRequest, slug: str, pk: int) -> HttpResponse:
    """Change one of the team's webhooks, or stop sending to it (``remove``)."""
    webhook = access.access_team_webhook(request.user, slug, pk, write=True)
    team = access.access_team(request.user, slug)
    if "remove" in request.POST:
        destinations.remove_team_webhook(webhook, by=request.user)
        messages.success(request, _("Removed the webhook %(name)s.") % {"name": webhook.name})
        return redirect("oncall:team", team.slug)
    form = TeamWebhookForm(request.POST, instance=webhook, prefix=f"hook-{webhook.pk}")
    if not form.is_valid():
        return _team_page(request, team, 400, hook_forms={webhook.pk: form})
    try:
        destinations.update_team_webhook(webhook, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, 400, hook_forms={webhook.pk: form})
    messages.success(
        request, _("Saved the webhook %(name)s.") % {"name": form.cleaned_data["name"]}
    )
    return redirect("oncall:team", team.slug)


@require_POST
def team_distribution_list_add(request: PortalRequest, slug: str) -> HttpResponse:
    team = access.access_team(request.user, slug, write=True)
    form = DistributionListForm(request.POST, prefix="list")
    if not form.is_valid():
        return _team_page(request, team, 400, list_form=form)
    try:
        distribution = destinations.add_team_distribution_list(
            team,
            name=form.cleaned_data["name"],
            addresses=form.address_lines(),
            by=request.user,
            language=form.cleaned_data["language"],
        )
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, 400, list_form=form)
    messages.success(
        request, _("Added the distribution list %(name)s.") % {"name": distribution.name}
    )
    return redirect("oncall:team", team.slug)


@require_POST
def team_distribution_list(request: PortalRequest, slug: str, pk: int) -> HttpResponse:
    """Change one of the team's distribution lists, or delete it (``remove``)."""
    distribution = access.access_team_distribution_list(request.user, slug, pk, write=True)
    team = access.access_team(request.user, slug)
    if "remove" in request.POST:
        destinations.remove_team_distribution_list(distribution, by=request.user)
        messages.success(
            request, _("Removed the distribution list %(name)s.") % {"name": distribution.name}
        )
        return redirect("oncall:team", team.slug)
    form = DistributionListForm(request.POST, prefix=f"list-{distribution.pk}")
    if not form.is_valid():
        return _team_page(request, team, 400, list_forms={distribution.pk: form})
    try:
        destinations.update_team_distribution_list(
            distribution,
            name=form.cleaned_data["name"],
            addresses=form.address_lines(),
            by=request.user,
            language=form.cleaned_data["language"],
        )
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, 400, list_forms={distribution.pk: form})
    messages.success(
        request, _("Saved the distribution list %(name)s.") % {"name": form.cleaned_data["name"]}
    )
    return redirect("oncall:team", team.slug)


@require_POST
def team_roster_create(request: PortalRequest, slug: str) -> HttpResponse:
    team = access.access_team(request.user, slug, write=True)
    form = RosterCreateForm(request.POST)
    if not form.is_valid():
        return _team_page(request, team, 400, roster_form=form)
    try:
        roster = actions.create_team_roster(team, by=request.user, **form.cleaned_data)
    except ActionRefused as refusal:
        refusal.add_to(form)
        return _team_page(request, team, refusal.status_code, roster_form=form)
    messages.success(request, _("Created the roster %(roster)s.") % {"roster": roster.name})
    return redirect("oncall:roster", roster.slug)


@require_POST
def roster_archive(request: PortalRequest, slug: str) -> HttpResponse:
    roster = oncall_access.access_roster(request.user, slug, write=True)
    try:
        actions.archive_roster(roster, by=request.user)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request, _("Archived %(roster)s: it pages nobody now.") % {"roster": roster.name}
        )
    return redirect("oncall:roster", roster.slug)


@require_POST
def roster_restore(request: PortalRequest, slug: str) -> HttpResponse:
    roster = oncall_access.access_roster(request.user, slug, write=True)
    actions.restore_roster(roster, by=request.user)
    messages.success(request, _("Restored %(roster)s.") % {"roster": roster.name})
    return redirect("oncall:roster", roster.slug)


def _in_order(formset: Any) -> list[Any]:
    """The rows by their "Order" number (a row left without one keeps its place)."""
    rows = list(enumerate(formset.forms, start=1))
    rows.sort(key=lambda row: (row[1].cleaned_data.get("ORDER") or row[0], row[0]))
    return [form for _place, form in rows]


def _initial_steps(steps: list[EscalationStep]) -> list[dict[str, Any]]:
    return [
        {
            "kind": step.target_kind,
            "wait_minutes": step.wait_minutes,
            "roster": step.roster.slug if step.roster else None,
            "user": step.user.username if step.user else None,
        }
        for step in steps
    ]


@require_http_methods(["GET", "POST"])
def escalation_policy(request: PortalRequest, slug: str) -> HttpResponse:
    """The team's escalation policy: its steps, and who gets paged when."""
    team = access.access_team(request.user, slug, write=request.method == "POST")
    policy, saved_steps = selectors.policy_steps(team)
    status = 200
    if request.method == "POST":
        policy_form = PolicyForm(request.POST)
        formset = StepFormSet(request.POST, prefix="steps")
        if policy_form.is_valid() and formset.is_valid():
            steps = [step for form in _in_order(formset) if (step := form.step()) is not None]
            try:
                actions.save_escalation_policy(
                    team, steps=steps, repeat=policy_form.cleaned_data["repeat"], by=request.user
                )
            except ActionRefused as refusal:
                refusal.add_to(policy_form)
            else:
                messages.success(
                    request,
                    _(
                        "Saved the escalation policy: incidents from now on follow it; "
                        "escalations already running keep theirs."
                    ),
                )
                return redirect("oncall:escalation", team.slug)
        status = 400
    else:
        policy_form = PolicyForm(initial={"repeat": policy.repeat if policy else 0})
        formset = StepFormSet(initial=_initial_steps(saved_steps), prefix="steps")
    preview_form = PreviewForm(request.GET or None)
    at = timezone.now()
    if preview_form.is_valid() and preview_form.cleaned_data["at"]:
        at = preview_form.cleaned_data["at"]
    elif preview_form.is_bound and not preview_form.is_valid():
        status = 400
    context = {
        "team": team,
        "policy": policy,
        "policy_form": policy_form,
        "formset": formset,
        "preview_form": preview_form,
        "preview_at": at,
        "preview": selectors.preview(team, at),
        "can_edit": access.can_edit_team(request.user, team),
    }
    return render(request, "oncall/setup/escalation.html", context, status=status)
