from django.apps import AppConfig


class CommsConfig(AppConfig):
    """Status pages, communications, e-mail and chat. Reacts to incident events."""

    name = "comms"
    verbose_name = "Communications"
