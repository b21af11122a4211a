from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    """The support team's side. Its models keep the ``incidents`` app label and tables."""

    name = "incidents.support"
    label = "incidents_support"
    verbose_name = "Support"

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from incidents import events, panels
        from incidents.support import dashboard, figures, metrics_pages, panel

        # The metrics' figures change in the transaction of each change they count.
        figures.subscribe()
        # The metrics pages people have open are computed again after each change.
        figures.on_change(metrics_pages.figures_changed)
        # The support board's filter lists are cached until a product or team changes,
        # its rows until one's assignee is renamed.
        dashboard.watch_catalogue()
        dashboard.watch_people()
        events.on_change(dashboard.incidents_changed)

        panels.register(
            panels.Panel(
                name="support_cases",
                template="incidents/support/_cases_panel.html",
                context=panel.context,
                column="side",
                order=40,
            )
        )
        register(
            NavItem(
                _("Dashboard"),
                "support:dashboard",
                order=5,
                permission="incidents.view_incident",
                section=("support:cases", "support:follow_up"),
            )
        )
        register(
            NavItem(_("Metrics"), "support:metrics", order=75, permission="incidents.view_incident")
        )
