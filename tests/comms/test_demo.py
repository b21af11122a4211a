"""The demo command gives `make run` a public status page with content, idempotently."""

import pytest
from django.core.management import call_command
from django.test import Client

from comms.models import Communication, DistributionList, StatusPageIncident

pytestmark = pytest.mark.django_db


def test_demo_comms_publishes_initial_updates_once(settings):
    settings.DEMO_DATA = True
    call_command("load_demo", verbosity=0)
    call_command("load_demo_comms", verbosity=0)
    counts = (Communication.objects.count(), StatusPageIncident.objects.count())
    call_command("load_demo_comms", verbosity=0)

    assert (Communication.objects.count(), StatusPageIncident.objects.count()) == counts
    assert counts[0] >= 2
    assert DistributionList.objects.filter(is_default=True).count() == 1
    body = Client().get("/status/").content.decode()
    assert "Issue with" in body
    assert "HOT-" not in body


def test_demo_comms_is_off_without_demo_data(settings):
    settings.DEMO_DATA = False
    call_command("load_demo_comms", verbosity=0)
    assert not Communication.objects.exists()
