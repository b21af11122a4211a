"""`make run` shows an upcoming maintenance on the public page, planned once."""

import pytest
from django.core.management import call_command
from django.test import Client

from comms.models import Maintenance

pytestmark = pytest.mark.django_db


def test_the_demo_plans_one_upcoming_maintenance_once(settings):
    settings.DEMO_DATA = True
    call_command("load_demo", verbosity=0)
    call_command("load_demo_comms", verbosity=0)
    call_command("load_demo_comms", verbosity=0)

    maintenance = Maintenance.objects.get()
    assert maintenance.status == "scheduled"
    [shown] = (
        Client()
        .get("/api/v2/scheduled-maintenances/upcoming.json")
        .json()["scheduled_maintenances"]
    )
    assert shown["name"] == maintenance.title
    assert maintenance.title in Client().get("/status/").content.decode()
