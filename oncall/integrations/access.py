"""Who administers integrations: global admins, and team admins for their team's
services (the on-call rules: ``oncall.access.can_edit_team``). Payloads can hold
internal details, so only they see them; the incident panel follows the incident's own
visibility."""

from __future__ import annotations

from django.db.models import Q

from incidents.models import Service

from .. import access as oncall_access
from ..models import TeamAdmin
from .maintenance_models import MaintenanceWindow
from .models import Integration

User = oncall_access.User


def can_admin_service(user: User, service: Service) -> bool:
    return oncall_access.can_edit_team(user, service.team)


def can_admin(user: User, integration: Integration) -> bool:
    return can_admin_service(user, integration.service)


def administered_services(user: User) -> list[Service]:
    services = Service.objects.order_by("name")
    if oncall_access.is_global_admin(user):
        return list(services)
    if not user.is_authenticated:
        return []
    teams = TeamAdmin.objects.filter(user_id=user.pk).values("team")
    return list(services.filter(Q(team__in=teams)))


def administered(user: User) -> list[int] | None:
    """Service ids the user administers; None means all of them."""
    if oncall_access.is_global_admin(user):
        return None
    return [service.pk for service in administered_services(user)]


def access_integration(user: User, pk: int) -> Integration:
    from django.http import Http404
    from django.utils.translation import gettext as _

    integration = Integration.objects.select_related("service__team").filter(pk=pk).first()
    # Not yours and not there look the same.
    if integration is None or not can_admin(user, integration):
        raise Http404(_("No such integration."))
    return integration


require = oncall_access.require


def can_admin_window(user: User, window: MaintenanceWindow) -> bool:
    """Maintenance windows are planned and ended by the admins of the service they
    cover (the integration's service for an integration's window)."""
    service = window.service if window.integration is None else window.integration.service
    return service is not None and can_admin_service(user, service)


def access_window(user: User, pk: int) -> MaintenanceWindow:
    from django.http import Http404
    from django.utils.translation import gettext as _

    window = (
        MaintenanceWindow.objects.select_related(
            "service__team", "integration__service__team", "created_by", "ended_by"
        )
        .filter(pk=pk)
        .first()
    )
    if window is None or not can_admin_window(user, window):
        raise Http404(_("No such maintenance window."))
    return window
