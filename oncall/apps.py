from django.apps import AppConfig


class OncallConfig(AppConfig):
    """Rosters, paging and escalation. Reacts to incident events; never imported by them."""

    name = "oncall"
    verbose_name = "On-call"
