from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OncallConfig(AppConfig):
    """Rosters, paging and escalation. Reacts to incident events; never imported by them."""

    name = "oncall"
    verbose_name = _("On-call")

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from incidents import events, panels
        from incidents.workspace import fatigue

        from . import actions, integrations, selectors, views

        events.subscribe(events.CREATED, actions.on_incident_created)
        events.subscribe(events.SEVERITY_CHANGED, actions.on_severity_changed)
        events.subscribe(events.STATUS_CHANGED, actions.on_status_changed)
        events.subscribe(events.ASSIGNEE_CHANGED, actions.on_assignee_changed)
        fatigue.register_page_counter(selectors.pages_received)
        fatigue.register_next_responder(selectors.next_responder)
        integrations.setup()
        panels.register(
            panels.Panel("oncall", "oncall/_panel.html", views.incident_panel, column="side")
        )
        register(
            NavItem(
                _("On call"),
                "oncall:index",
                order=30,
                section=(
                    "oncall:roster",
                    "oncall:calendar",
                    "oncall:gaps",
                    "oncall:contacts",
                    "integrations:index",
                    "integrations:detail",
                    "integrations:create",
                    "integrations:heartbeat",
                    "integrations:maintenance",
                    "integrations:maintenance_create",
                    "oncall:teams",
                    "oncall:team",
                    "oncall:escalation",
                ),
            )
        )
