from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from config.navigation import NavItem, register

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
        register(NavItem("Severity", "incidents:severity_matrix", order=80))
        register(NavItem("API", "swagger-ui", order=90))
