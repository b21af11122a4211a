from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    """Status pages, communications, e-mail and chat. Reacts to incident events."""

    name = "comms"
    verbose_name = _("Communications")

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from incidents import events, follow_ups, panels
        from incidents.support import dashboard

        from . import actions, follow_up, selectors, views

        dashboard.register_last_update(selectors.last_published_update)

        for name in actions.SUBSCRIBED_EVENTS:
            events.subscribe(name, actions.on_incident_event)
        for name in follow_up.SUBSCRIBED_EVENTS:
            events.subscribe(name, follow_up.on_incident_event)
        follow_ups.register("comms", selectors.final_update_steps)
        panels.register(
            panels.Panel(
                name="comms",
                template="comms/panel.html",
                context=views.panel_context,
                column="main",
                order=50,
            )
        )
        register(
            NavItem(
                _("Status"),
                "comms:internal_status",
                order=30,
                permission="incidents.view_incident",
                section=(
                    "comms:draft",
                    "comms:communication",
                    "comms:maintenances",
                    "comms:maintenance",
                    "comms:maintenance_create",
                ),
            )
        )
