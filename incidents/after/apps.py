from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AfterConfig(AppConfig):
    """After the incident. Its models keep the ``incidents`` app label and tables."""

    name = "incidents.after"
    label = "incidents_after"
    verbose_name = "After the incident"

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from incidents import panels
        from incidents.after import views

        panels.register(
            panels.Panel(
                "cleanup", "incidents/after/_cleanup_panel.html", views.cleanup_panel, order=10
            )
        )
        register(
            NavItem(
                _("My tasks"),
                "incidents:my_cleanup",
                order=70,
                permission="incidents.take_role",
            )
        )
