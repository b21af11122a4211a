"""A restricted incident on the integration page, its storm card, its test-alert message
and the API: named only to the people involved in it (DESIGN rule 8). Administering the
integration involves nobody."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import actions as incident_actions
from incidents.models import Incident
from oncall.integrations import actions
from oncall.integrations.models import AlertStorm
from oncall.models import TeamAdmin
from tests.factories import UserFactory

from . import examples

PD = "/v2/enqueue"
# What people wrote of it once restricted (the raw payloads keep what the tool sent:
# its admins see those by design).
SUMMARY = "Leaked tokens of the payment service"


@pytest.fixture
def pia(team):
    """A team admin of the integration's team: she administers it, nothing more."""
    person = UserFactory(username="pia", group="responder")
    TeamAdmin.objects.create(team=team, user=person)
    return person


def restrict(incident):
    Incident.objects.filter(pk=incident.pk).update(restricted=True, summary=SUMMARY)
    incident.refresh_from_db()
    return incident


@pytest.fixture
def secret(key, deliver):
    """The integration's one alert group, whose incident was then made restricted."""
    deliver(PD, examples.pagerduty(key))
    return restrict(Incident.objects.get())


def page_of(client, integration):
    response = client.get(f"/oncall/integrations/{integration.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_admin_not_involved_sees_a_restricted_incident_without_key(
    client_for, pia, admin_user, integration, secret
):
    for person in (pia, admin_user):
        page = page_of(client_for(person), integration)
        assert "a restricted incident" in page
        assert secret.key not in page
        assert reverse("short", args=[secret.key]) not in page
        assert SUMMARY not in page


def test_an_admin_involved_in_it_sees_its_key(client_for, pia, integration, secret):
    incident_actions.involve(secret, person=pia, reason="paged")
    page = page_of(client_for(pia), integration)
    assert f'<a href="{reverse("short", args=[secret.key])}">{secret.key}</a>' in page
    assert "a restricted incident" not in page


def test_an_unrestricted_incident_shows_its_key_to_every_admin(
    client_for, pia, integration, key, deliver
):
    deliver(PD, examples.pagerduty(key))
    incident = Incident.objects.get()
    page = page_of(client_for(pia), integration)
    assert f">{incident.key}</a>" in page
    assert "a restricted incident" not in page


@pytest.fixture
def storm(integration, key, post):
    """An alert storm (more than one new group in five minutes) whose incident is
    restricted."""
    actions.set_storm_threshold(integration, threshold=1, window=5)
    for number in range(3):
        post(PD, examples.pagerduty(key, dedup_key=f"disk-{number}"))
    actions.process_pending()
    found = AlertStorm.objects.select_related("incident").get()
    restrict(found.incident)
    return found


def storm_card(page):
    return page.split('id="alert-storms"')[1].split("</section>")[0]


def test_the_storm_card_hides_a_restricted_storm_incident_from_the_not_involved(
    client_for, pia, integration, storm
):
    card = storm_card(page_of(client_for(pia), integration))
    assert "a restricted incident</span> · 2 alert groups since" in card
    assert storm.incident.key not in card


def test_the_storm_card_names_it_to_the_involved(client_for, pia, integration, storm):
    incident_actions.involve(storm.incident, person=pia, reason="paged")
    card = storm_card(page_of(client_for(pia), integration))
    assert f">{storm.incident.key}</a> · 2 alert groups since" in card
    assert "a restricted incident" not in card


def test_the_form_refused_keeps_the_storm_incident_hidden(client_for, pia, integration, storm):
    response = client_for(pia).post(
        f"/oncall/integrations/{integration.pk}/storms/",
        {"storm_threshold": "-1", "storm_window": "5"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "a restricted incident" in page
    assert storm.incident.key not in page


def test_a_test_alert_folded_into_a_restricted_storm_does_not_name_it(
    client_for, pia, integration, storm
):
    response = client_for(pia).post(f"/oncall/integrations/{integration.pk}/test/", follow=True)
    page = response.content.decode()
    assert "The test alert joined a restricted incident." in page
    assert storm.incident.key not in page


def test_a_test_alert_folded_into_a_storm_names_it_to_the_involved(
    client_for, pia, integration, storm
):
    incident_actions.involve(storm.incident, person=pia, reason="paged")
    response = client_for(pia).post(f"/oncall/integrations/{integration.pk}/test/", follow=True)
    assert f"The test alert opened {storm.incident.key}." in response.content.decode()


def test_hiding_costs_one_query_whatever_the_number_of_restricted_groups(
    client_for, pia, integration, key, post, secret
):
    client = client_for(pia)

    def count():
        with CaptureQueriesContext(connection) as queries:
            page_of(client, integration)
        return len(queries)

    count()  # the permissions kept (config/auth.py)
    few = count()
    for number in range(5):
        post(PD, examples.pagerduty(key, dedup_key=f"k{number}"))
    actions.process_pending()
    for incident in Incident.objects.all():
        restrict(incident)
    assert count() == few


def test_the_api_names_no_incident_of_the_integration(api_for, pia, integration, secret):
    # The API gives the integration's settings, not its alert groups or storms: it names
    # no incident to anyone, restricted or not.
    client = api_for(pia)
    for url in ("/api/integrations/", f"/api/integrations/{integration.pk}/"):
        response = client.get(url)
        assert response.status_code == 200
        body = json.dumps(response.json())
        assert secret.key not in body
        assert SUMMARY not in body


def test_the_alerts_of_a_restricted_incident_are_not_found_by_outsiders(
    client_for, pia, integration, secret
):
    url = reverse("integrations:incident_alerts", args=[secret.key])
    assert client_for(pia).get(url).status_code == 404
    incident_actions.involve(secret, person=pia, reason="paged")
    assert client_for(pia).get(url).status_code == 200
