from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """The response workspace. Its models keep the ``incidents`` app label and tables."""

    name = "incidents.workspace"
    label = "incidents_workspace"
    verbose_name = "Incident workspace"

    def ready(self) -> None:
        from incidents import panels
        from incidents.workspace import (
            schema,  # noqa: F401  # registers the change token's OpenAPI scheme
            views,
        )

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
                views.nearby_changes_panel,
                column="lead",
                order=20,
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
