from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from config.navigation import NavItem, register

        from . import (
            after_views,
            dashboard,
            document_views,
            events,
            panels,
            schema,  # noqa: F401  # registers the change token's OpenAPI scheme
            support_panel,
            views,
        )

        # The support board's filter lists are cached until a product or team changes.
        dashboard.watch_catalogue()
        events.on_change(dashboard.incidents_changed)

        panels.register(
            panels.Panel(
                "assessment",
                "incidents/workspace/_assessment_panel.html",
                views.assessment_panel,
                column="lead",
                order=10,
            )
        )
        panels.register(
            panels.Panel(
                "nearby_changes",
                "incidents/workspace/_nearby_changes_panel.html",
                document_views.nearby_changes_panel,
                column="lead",
                order=20,
            )
        )
        panels.register(
            panels.Panel(
                "cleanup",
                "incidents/after/_cleanup_panel.html",
                after_views.cleanup_panel,
                order=10,
            )
        )
        panels.register(
            panels.Panel(
                "fatigue",
                "incidents/workspace/_fatigue_panel.html",
                views.fatigue_panel,
                column="side",
                order=10,
            )
        )
        panels.register(
            panels.Panel(
                name="support_cases",
                template="incidents/_cases_panel.html",
                context=support_panel.context,
                column="side",
                order=40,
            )
        )
        register(
            NavItem(
                "Dashboard",
                "support:dashboard",
                order=5,
                permission="incidents.view_incident",
                section=("support:cases", "support:follow_up"),
            )
        )

        register(
            NavItem(
                "Incidents",
                "incidents:list",
                order=10,
                section=(
                    "incidents:detail",
                    "incidents:assessment",
                    "incidents:document",
                    "incidents:review",
                ),
            )
        )
        register(NavItem("New incident", "incidents:create", order=20))
        register(
            NavItem("Metrics", "support:metrics", order=75, permission="incidents.view_incident")
        )
        register(
            NavItem(
                "My tasks",
                "incidents:my_cleanup",
                order=70,
                permission="incidents.take_role",
            )
        )
        register(NavItem("Severity", "incidents:severity_matrix", order=80))
        register(NavItem("API", "swagger-ui", order=90))
