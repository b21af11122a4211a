"""Alert storms: more new alert groups than an integration's threshold within its window
fold into one incident that pages once; the rate falling back ends the fold."""

import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents import actions as incident_actions
from incidents.entry_texts import render
from incidents.models import EntryKind, Incident, Status, TimelineEntry
from oncall.integrations import actions, tasks
from oncall.integrations.actions import processing
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome, AlertStorm
from oncall.models import Page
from tests.conftest import requires_postgres, wait_for

from . import examples

PD = "/v2/enqueue"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def _on_call(make_roster, team):
    """pia is the team's on-call IM: each severity-1 incident pages her once."""
    make_roster("payments-im", people=["pia"], team=team)


def new_integration(service, admin_user, *, threshold, window=5, name="Prometheus prod"):
    integration, key = actions.create_integration(by=admin_user, name=name, service=service)
    actions.set_storm_threshold(integration, threshold=threshold, window=window)
    return integration, key


def send(key, dedup_key, *, client=None, severity="critical"):
    body = json.dumps(examples.pagerduty(key, dedup_key=dedup_key, severity=severity))
    response = (client or Client()).post(PD, data=body, content_type="application/json")
    assert response.status_code == 202, response.content


def expected(times, threshold, window):
    """The rule in its plainest form: (groups paging on their own, storms opened)."""
    own = storms = 0
    for index, at in enumerate(times):
        count = sum(1 for earlier in times[: index + 1] if earlier > at - window)
        if threshold and count > threshold:
            storms += count == threshold + 1
        else:
            own += 1
    return own, storms


def incidents_of(integration):
    return Incident.objects.filter(alert_groups__integration=integration).distinct()


def assert_nothing_lost(integration, alerts):
    assert Alert.objects.filter(integration=integration).count() == alerts
    assert not Alert.objects.filter(integration=integration, group__isnull=True).exists()
    assert not AlertGroup.objects.filter(integration=integration, incident__isnull=True).exists()


# The rule, on generated arrival patterns --------------------------------------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=30),
    threshold=st.integers(min_value=0, max_value=5),
    window=st.integers(min_value=1, max_value=4),
    batch=st.integers(min_value=1, max_value=12),
)
def test_new_groups_page_or_fold_as_the_rule_says(
    service, admin_user, time_machine, monkeypatch, gaps, threshold, window, batch
):
    """Arrivals (seconds apart) applied in batches of any size: as many incidents and
    pages as the plain rule gives, each storm with its groups, ended once quiet."""
    monkeypatch.setattr(processing, "BATCH_SIZE", batch)
    integration, key = new_integration(service, admin_user, threshold=threshold, window=window)
    times = []
    at = NOW
    for number, gap in enumerate(gaps):
        at += timedelta(seconds=gap)
        times.append(at)
        time_machine.move_to(at, tick=False)
        send(key, f"check-{number}")
    time_machine.move_to(at, tick=False)
    actions.process_pending(integration_id=integration.pk)

    own, storms = expected(times, threshold, timedelta(minutes=window))
    assert_nothing_lost(integration, len(times))
    incidents = incidents_of(integration)
    assert incidents.count() == own + storms
    assert Page.objects.filter(incident__in=incidents).count() == own + storms
    assert AlertStorm.objects.filter(integration=integration).count() == storms
    outcomes = Alert.objects.filter(integration=integration)
    assert outcomes.filter(outcome=AlertOutcome.CREATED).count() == own
    folded = outcomes.filter(outcome=AlertOutcome.FOLDED).count()
    assert folded == len(times) - own
    assert (
        sum(
            AlertStorm.objects.filter(integration=integration).values_list("group_count", flat=True)
        )
        == folded
    )
    # Long after the last group the beat's sweep has ended every storm, each with its
    # two entries; a second sweep changes nothing.
    time_machine.move_to(at + timedelta(minutes=window + 1), tick=False)
    still_open = AlertStorm.objects.filter(ended_at__isnull=True).count()
    assert tasks.end_alert_storms() == still_open
    assert tasks.end_alert_storms() == 0
    for storm in AlertStorm.objects.filter(integration=integration):
        assert storm.ended_at is not None
        assert storm.ended_at >= storm.last_group_at
        assert storm.group_count == AlertGroup.objects.filter(incident=storm.incident).count()
        notes = TimelineEntry.objects.filter(incident=storm.incident, kind=EntryKind.NOTE)
        assert notes.count() == 2


# The storm as people see it ---------------------------------------------------------------


def test_a_storm_pages_once_lists_its_groups_and_ends_when_the_rate_falls(
    service, admin_user, time_machine, client, django_user_model
):
    integration, key = new_integration(service, admin_user, threshold=3, window=5)
    for number in range(8):
        time_machine.move_to(NOW + timedelta(seconds=number), tick=False)
        send(key, f"disk-{number}")
    actions.process_pending()

    storm = AlertStorm.objects.get()
    assert storm.group_count == 5
    assert storm.incident.summary == "Alert storm: Prometheus prod"
    assert Page.objects.filter(incident=storm.incident).count() == 1
    assert incidents_of(integration).count() == 4
    start = TimelineEntry.objects.get(incident=storm.incident, kind=EntryKind.NOTE)
    assert start.text.startswith("Alert storm: more than 3 new alert groups in 5 minutes")

    client.force_login(admin_user)
    page = client.get(f"/oncall/integrations/{integration.pk}/").content.decode()
    assert "More than 3 new alert groups within 5 minutes" in page
    assert "8 new alert groups in the last 5 minutes" in page
    assert f">{storm.incident.key}</a> · 5 alert groups since" in page
    incident_page = client.get(f"/incidents/{storm.incident.key}/").content.decode()
    assert "Alert storm: 5 alert groups from Prometheus prod since" in incident_page
    assert incident_page.count("disk-") >= 5

    # Six minutes on, the rate is back under the threshold: the next group pages alone.
    time_machine.move_to(NOW + timedelta(minutes=6), tick=False)
    send(key, "disk-late")
    actions.process_pending()
    storm.refresh_from_db()
    assert storm.ended_at == NOW + timedelta(seconds=4, minutes=5)
    late = AlertGroup.objects.get(dedup_key="disk-late").incident
    assert late != storm.incident
    assert Page.objects.filter(incident=late).count() == 1
    ended = TimelineEntry.objects.filter(incident=storm.incident, kind=EntryKind.NOTE).last()
    assert ended.text.startswith("The alert storm is over: 5 alert groups folded")
    incident_page = client.get(f"/incidents/{storm.incident.key}/").content.decode()
    assert "new alert groups page again" in incident_page

    # The notes are written from facts: a Korean reader reads them in Korean.
    with translation.override("ko"):
        assert render(start).startswith("경보 폭주: Prometheus prod에서 5분 동안")
        assert render(ended).startswith("경보 폭주가 끝났습니다. 경보 그룹 5개가")


def test_groups_of_a_storm_resolve_one_by_one(service, admin_user, time_machine):
    _integration, key = new_integration(service, admin_user, threshold=1, window=5)
    for number in range(3):
        send(key, f"db-{number}")
    actions.process_pending()
    storm = AlertStorm.objects.get()
    client = Client()
    body = examples.pagerduty(key, action="resolve", dedup_key="db-1")
    client.post(PD, data=json.dumps(body), content_type="application/json")
    actions.process_pending()
    states = dict(
        AlertGroup.objects.filter(incident=storm.incident).values_list("dedup_key", "state")
    )
    assert states == {"db-1": "resolved", "db-2": "firing"}


def test_the_panel_shows_a_storms_first_groups_and_pages_the_rest(
    service, admin_user, client_for, django_assert_max_num_queries
):
    _integration, key = new_integration(service, admin_user, threshold=1, window=5)
    for number in range(131):
        send(key, f"node-{number:03}")
    actions.process_pending()
    storm = AlertStorm.objects.get()
    assert storm.group_count == 130
    client = client_for(admin_user)

    panel = client.get(f"/incidents/{storm.incident.key}/").content.decode()
    shown = sorted(set(re.findall(r"<code>(node-\d{3})</code>", panel)))
    assert shown == [f"node-{number:03}" for number in range(1, 21)]
    assert "All 130 alert groups" in panel

    url = f"/oncall/integrations/incidents/{storm.incident.key}/alerts/"
    client.get(url)
    with django_assert_max_num_queries(12):
        first = client.get(url).content.decode()
    last = client.get(url, {"page": 2}).content.decode()
    assert len(set(re.findall(r"node-\d{3}", first))) == 100
    assert sorted(set(re.findall(r"node-\d{3}", last))) == [
        f"node-{number:03}" for number in range(101, 131)
    ]
    assert "Page 2 of 2" in last


def test_a_storm_whose_incident_people_resolved_opens_a_new_one(service, admin_user, manager):
    _integration, key = new_integration(service, admin_user, threshold=1, window=5)
    for number in range(3):
        send(key, f"api-{number}")
    actions.process_pending()
    first = AlertStorm.objects.get()
    incident_actions.transition_incident(
        first.incident, to=Status.RESOLVED, by=manager, impact_ended_at=NOW
    )
    send(key, "api-3")
    actions.process_pending()

    first.refresh_from_db()
    assert first.ended_at is not None
    second = AlertStorm.objects.get(ended_at__isnull=True)
    assert second.incident != first.incident
    assert second.group_count == 1


def test_folding_off_opens_an_incident_per_group(service, admin_user):
    integration, key = new_integration(service, admin_user, threshold=0)
    for number in range(25):
        send(key, f"cpu-{number}")
    actions.process_pending()
    assert incidents_of(integration).count() == 25
    assert not AlertStorm.objects.exists()


def test_new_and_existing_integrations_fold_at_20_in_5_minutes(service, admin_user):
    integration, _key = actions.create_integration(by=admin_user, name="x", service=service)
    assert (integration.storm_threshold, integration.storm_window) == (20, 5)


# Cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("groups", [10, 40])
def test_a_batch_of_folded_groups_costs_a_few_queries_each(
    service, admin_user, django_assert_max_num_queries, groups
):
    _integration, key = new_integration(service, admin_user, threshold=2, window=5)
    for number in range(3):
        send(key, f"warm-{number}")
    actions.process_pending()  # the storm is open
    for number in range(groups):
        send(key, f"mem-{number}")
    with django_assert_max_num_queries(25 + 2 * groups):
        assert actions.process_pending() == groups
    assert AlertStorm.objects.get().group_count == 1 + groups


# Editing the threshold ---------------------------------------------------------------------


def test_an_admin_sets_the_threshold_on_the_page(client, admin_user, service):
    integration, _key = new_integration(service, admin_user, threshold=20)
    client.force_login(admin_user)
    url = f"/oncall/integrations/{integration.pk}/storms/"
    response = client.post(url, {"storm_threshold": "50", "storm_window": "10"})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.storm_threshold, integration.storm_window) == (50, 10)
    client.post(url, {"storm_threshold": "", "storm_window": "10"})
    integration.refresh_from_db()
    assert integration.storm_threshold == 0
    page = client.get(f"/oncall/integrations/{integration.pk}/").content.decode()
    assert "Folding is off" in page


def test_a_bad_window_is_refused_naming_the_field(client, admin_user, service):
    integration, _key = new_integration(service, admin_user, threshold=20)
    client.force_login(admin_user)
    url = f"/oncall/integrations/{integration.pk}/storms/"
    response = client.post(url, {"storm_threshold": "5", "storm_window": "0"})
    assert response.status_code == 400
    assert "storm_window" in response.context["storm_form"].errors
    integration.refresh_from_db()
    assert integration.storm_window == 5


def test_outsider_cannot_set_the_threshold(client, outsider, admin_user, service):
    integration, _key = new_integration(service, admin_user, threshold=20)
    client.force_login(outsider)
    url = f"/oncall/integrations/{integration.pk}/storms/"
    response = client.post(url, {"storm_threshold": "1", "storm_window": "1"})
    assert response.status_code in (403, 404)
    integration.refresh_from_db()
    assert integration.storm_threshold == 20


def test_the_api_sets_and_shows_the_threshold(api_for, admin_user, outsider, service):
    integration, _key = new_integration(service, admin_user, threshold=20)
    url = f"/api/integrations/{integration.pk}/"
    api = api_for(admin_user)
    response = api.patch(url, {"storm_threshold": 7, "storm_window": 2}, format="json")
    assert response.status_code == 200
    assert (response.json()["storm_threshold"], response.json()["storm_window"]) == (7, 2)
    bad = api.patch(url, {"storm_window": 0}, format="json")
    assert bad.status_code == 400
    assert "storm_window" in bad.json()
    assert api.patch(url, {}, format="json").status_code == 400
    denied = api_for(outsider).patch(url, {"storm_threshold": 1}, format="json")
    assert denied.status_code in (403, 404)
    integration.refresh_from_db()
    assert (integration.storm_threshold, integration.storm_window) == (7, 2)


# As production runs it: no test transaction, real workers --------------------------------


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_storm_on_the_real_worker_path(service, admin_user, worker):
    """Alerts through the receiver, applied by a real worker woken as in production."""
    integration, key = new_integration(service, admin_user, threshold=5, window=5)
    client = Client()
    for number in range(30):
        send(key, f"node-{number}", client=client)
    assert wait_for(lambda: not Alert.objects.filter(outcome="pending").exists(), 60)
    storm = AlertStorm.objects.get()
    assert storm.group_count == 25
    assert incidents_of(integration).count() == 6
    assert Page.objects.filter(incident=storm.incident).count() == 1
    assert_nothing_lost(integration, 30)


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_open_one_storm_and_one_incident_per_group(service, admin_user):
    integration, key = new_integration(service, admin_user, threshold=4, window=5)
    client = Client()
    for number in range(40):
        send(key, f"edge-{number}", client=client)
        if number % 3 == 0:
            send(key, f"edge-{number}", client=client)  # a duplicate of a new group
    barrier = threading.Barrier(2)
    errors = []

    def work():
        try:
            barrier.wait()
            while Alert.objects.filter(outcome="pending").exists():
                actions.process_pending(integration_id=integration.pk)
        except Exception as error:  # collected: an exception in a thread would vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AlertStorm.objects.count() == 1
    assert AlertGroup.objects.filter(integration=integration).count() == 40
    assert incidents_of(integration).count() == 5
    assert AlertStorm.objects.get().group_count == 36
    assert_nothing_lost(integration, 54)
    counted = sum(AlertGroup.objects.values_list("alert_count", flat=True))
    assert counted == 54
