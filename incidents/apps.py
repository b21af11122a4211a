from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        # ``__in_array`` for long lists of values (config/lookups.py).
        import config.lookups  # noqa: F401
        from config import auth
        from config.navigation import NavItem, register

        # Kept permissions are forgotten when grants change (config/auth.py).
        auth.watch()

        register(
            NavItem(
                _("Incidents"),
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
        register(NavItem(_("New incident"), "incidents:create", order=20))
        register(NavItem(_("Severity"), "incidents:severity_matrix", order=80))
        register(NavItem("API", "swagger-ui", order=90))
