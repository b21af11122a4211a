from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from config.navigation import NavItem, register

        from . import schema  # noqa: F401  # registers the change token's OpenAPI scheme

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
            NavItem(
                "My cleanup tasks",
                "incidents:my_cleanup",
                order=70,
                permission="incidents.take_role",
            )
        )
        register(NavItem("Severity matrix", "incidents:severity_matrix", order=80))
        register(NavItem("API", "swagger-ui", order=90))
