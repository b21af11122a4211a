"""A restricted incident's severity-3 team e-mail: never to the shared team address."""

import pytest

from oncall.models import EventKind, Page
from tests.factories import ServiceFactory, TeamFactory, make_incident

pytestmark = pytest.mark.django_db


def test_a_restricted_severity_3_incident_is_not_mailed_to_the_team_address():
    team = TeamFactory(name="Payments", email="payments@example.com")
    service = ServiceFactory(team=team)

    incident = make_incident(severity=3, faulty_service=service, restricted=True)

    assert not Page.objects.filter(incident=incident).exists()
    [step] = incident.paging_events.filter(kind=EventKind.STEP)
    assert "not e-mailed" in step.text


def test_an_open_severity_3_incident_still_mails_the_team_address():
    team = TeamFactory(name="Payments", email="payments@example.com")
    service = ServiceFactory(team=team)

    incident = make_incident(severity=3, faulty_service=service)

    assert list(Page.objects.filter(incident=incident).values_list("address", flat=True)) == [
        "payments@example.com"
    ]
