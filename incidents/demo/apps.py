from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``manage.py load_demo``: demo data across the record and every subpackage."""

    name = "incidents.demo"
    label = "incidents_demo"
    verbose_name = "Incident demo data"
