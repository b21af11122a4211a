"""Monitoring integrations: Alertmanager, PagerDuty Events v2 and generic JSON alerts
become de-duplicated incidents. ``setup()`` is called from ``OncallConfig.ready()``."""


def setup() -> None:
    """Register the incident-page panel (idempotent). The pages are a tab of "On call"."""
    from incidents import panels

    from . import views

    panels.register(
        panels.Panel("alerts", "oncall/integrations/_panel.html", views.incident_panel, order=40)
    )
