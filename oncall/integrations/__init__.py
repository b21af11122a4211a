"""Monitoring integrations: Alertmanager, PagerDuty Events v2 and generic JSON alerts
become de-duplicated incidents. ``setup()`` is called from ``OncallConfig.ready()``."""


def setup() -> None:
    """Register the navigation link and the incident-page panel (idempotent)."""
    from config.navigation import NavItem, register
    from incidents import panels

    from . import views

    register(
        NavItem(
            "Integrations",
            "integrations:index",
            order=35,
            section=("integrations:detail", "integrations:create"),
        )
    )
    panels.register(
        panels.Panel("alerts", "oncall/integrations/_panel.html", views.incident_panel, order=40)
    )
