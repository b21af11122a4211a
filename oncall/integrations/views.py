"""The integrations admin pages and the incident panel; where tools send is
``receivers.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.http import PortalRequest
from incidents import access as incident_access
from incidents.models import Incident

from . import access, actions, maintenance, selectors, storms
from .forms import IntegrationForm, StormForm
from .heartbeat_models import Heartbeat
from .models import AlertGroup, AlertOutcome, GroupState, Integration

# The incident page shows this many alert groups; its "all alerts" page this many a page.
PANEL_GROUPS = 20
ALERTS_PAGE = 100

# Admin pages -------------------------------------------------------------------------------


@require_GET
def index(request: PortalRequest) -> HttpResponse:
    services = access.administered_services(request.user)
    return render(
        request,
        "oncall/integrations/index.html",
        {
            "integrations": list(selectors.integrations_for(request.user)),
            "form": IntegrationForm(services=services) if services else None,
        },
    )


@require_POST
def create(request: PortalRequest) -> HttpResponse:
    services = access.administered_services(request.user)
    access.require(bool(services), _("You administer no team's services."))
    form = IntegrationForm(request.POST, services=services)
    if not form.is_valid():
        return render(
            request,
            "oncall/integrations/index.html",
            {"integrations": list(selectors.integrations_for(request.user)), "form": form},
            status=400,
        )
    integration, key = actions.create_integration(by=request.user, **form.cleaned_data)
    return _show_key_once(request, integration, key)


def _show_key_once(request: PortalRequest, integration: Integration, key: str) -> HttpResponse:
    """Redirect to the integration, which shows the key on its next view only: a reload
    of that page neither shows the key again nor repeats the POST (a second integration
    or another rotation). The session holds the key until that view."""
    request.session[_key_slot(integration)] = key
    return redirect("integrations:detail", pk=integration.pk)


def _key_slot(integration: Integration) -> str:
    return f"integration-key:{integration.pk}"


@require_GET
def detail(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    key = request.session.pop(_key_slot(integration), None)
    return _detail(request, integration, key=key)


def _detail(
    request: PortalRequest,
    integration: Integration,
    *,
    key: str | None = None,
    storm_form: StormForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if storm_form is None:
        storm_form = StormForm(
            initial={
                "storm_threshold": integration.storm_threshold,
                "storm_window": integration.storm_window,
            }
        )
    groups = list(
        AlertGroup.objects.filter(integration=integration).select_related("incident")[
            : selectors.RECENT_PAYLOADS
        ]
    )
    storm = storms.latest(integration)
    shown = [group.incident for group in groups] + [storm.incident if storm else None]
    return render(
        request,
        "oncall/integrations/detail.html",
        {
            "integration": integration,
            "new_key": key,
            "urls": selectors.receiving_urls(request, integration, key),
            "groups": groups,
            "hidden": selectors.hidden_incidents(request.user, shown),
            "payloads": selectors.recent(integration, rejected=False),
            "rejected": selectors.recent(integration, rejected=True),
            "heartbeat": Heartbeat.objects.filter(integration=integration).first(),
            "maintenance_windows": maintenance.covering(integration),
            "storm_form": storm_form,
            "storm_rate": storms.rate(integration),
            "storm": storm,
        },
        status=status,
    )


@require_POST
def storm_threshold(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    form = StormForm(request.POST)
    if not form.is_valid():
        return _detail(request, integration, storm_form=form, status=400)
    actions.set_storm_threshold(
        integration,
        threshold=form.cleaned_data["storm_threshold"],
        window=form.cleaned_data["storm_window"],
    )
    messages.success(request, _("The alert storm threshold is saved."))
    return redirect("integrations:detail", pk=integration.pk)


@require_POST
def rotate(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    return _show_key_once(request, integration, actions.rotate_key(integration, by=request.user))


@require_POST
def pause(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    paused = request.POST.get("paused") == "1"
    actions.set_paused(integration, paused=paused, by=request.user)
    messages.success(
        request,
        _("Paused: alerts are accepted and recorded as ignored.")
        if paused
        else _("Resumed: alerts open incidents again."),
    )
    return redirect("integrations:detail", pk=integration.pk)


@require_POST
def test_alert(request: PortalRequest, pk: int) -> HttpResponse:
    integration = access.access_integration(request.user, pk)
    alert = actions.send_test_alert(integration, by=request.user)
    incident = alert.group.incident if alert.group else None
    if incident is not None and selectors.hidden_incidents(request.user, [incident]):
        # During an alert storm the test alert folds into the storm's incident, which
        # may be restricted.
        messages.success(request, _("The test alert joined a restricted incident."))
    elif incident is not None:
        messages.success(request, _("The test alert opened %(key)s.") % {"key": incident.key})
    elif alert.outcome == AlertOutcome.IGNORED:
        messages.info(
            request, _("The test alert was recorded as ignored: the integration is paused.")
        )
    else:
        messages.info(
            request,
            _("The test alert was received (%(outcome)s).")
            % {"outcome": alert.get_outcome_display()},
        )
    return redirect("integrations:detail", pk=integration.pk)


def incident_panel(request: HttpRequest, incident: Incident) -> dict[str, Any] | None:
    """The first alert groups behind an incident, with their raw payloads; hidden when
    none. A storm's thousands are paged on ``incident_alerts``."""
    groups = selectors.groups_of(incident)
    first = list(groups[: PANEL_GROUPS + 1])
    if not first:
        return None
    return {
        "groups": first[:PANEL_GROUPS],
        "count": groups.count() if len(first) > PANEL_GROUPS else len(first),
        "payloads": selectors.payloads_of(incident),
        "storm": storms.of_incident(incident),
        "all_resolved": not groups.exclude(state=GroupState.RESOLVED).exists(),
    }


@require_GET
def incident_alerts(request: PortalRequest, key: str) -> HttpResponse:
    """Every alert group behind an incident, a page at a time."""
    incident = incident_access.access_incident(request.user, key)
    groups = selectors.groups_of(incident)
    page = Paginator(groups, ALERTS_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "oncall/integrations/incident_alerts.html",
        {"incident": incident, "page": page, "storm": storms.of_incident(incident)},
    )
