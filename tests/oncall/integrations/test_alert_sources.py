"""Alert sources as their tools send them: the impact's times from the tool, what the
alerts say shown to responders, PagerDuty's change events, error shape and paths, the
key kept secret (payloads, Bearer header, logs)."""

import json
import logging
from datetime import UTC, datetime

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection

from incidents.models import Incident
from incidents.workspace.models import ServiceChange
from oncall.integrations.logs import RedactKeys, redact_path
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome, GroupState
from tests.factories import make_incident

from . import examples

AM = "/integrations/alertmanager/{}/"
AM_BEARER = "/integrations/alertmanager/"
PD = "/v2/enqueue"
PD_CHANGE = "/v2/change/enqueue"
ARRIVAL = datetime(2026, 3, 2, 10, 0, 40, tzinfo=UTC)


def at(text):
    return datetime.fromisoformat(text)


def alertmanager_group(status="firing"):
    """A group of two alerts that began five minutes apart, as Alertmanager sends it."""
    body = examples.alertmanager(status)
    first = body["alerts"][0]
    second = json.loads(json.dumps(first))
    first["startsAt"] = "2026-03-02T09:55:00.123456789Z"
    second["startsAt"] = "2026-03-02T09:50:00Z"
    second["labels"]["instance"] = "checkout-2:9100"
    second["annotations"] = {"summary": "Errors on checkout-2", "runbook": "https://runbooks/x"}
    second["generatorURL"] = "http://prometheus.example.com:9090/graph?g0.expr=rate2"
    if status == "resolved":
        first["endsAt"] = "2026-03-02T10:20:00Z"
        second["endsAt"] = "2026-03-02T10:30:00Z"
    body["alerts"].append(second)
    return body


@pytest.fixture
def arrived():
    with time_machine.travel(ARRIVAL, tick=False) as traveller:
        yield traveller


# Alertmanager: the impact's times are the tool's ---------------------------------------------


def test_alertmanager_impact_starts_at_the_groups_earliest_starts_at(key, deliver, arrived):
    deliver(AM.format(key), alertmanager_group())
    incident = Incident.objects.get()
    assert incident.impact_started_at == at("2026-03-02T09:50:00+00:00")
    assert incident.detected_at == ARRIVAL  # arrival is when we learned of it
    group = AlertGroup.objects.get()
    assert group.started_at == at("2026-03-02T09:50:00+00:00")


def test_alertmanager_impact_ends_at_the_groups_latest_ends_at(key, deliver, arrived):
    deliver(AM.format(key), alertmanager_group())
    arrived.move_to(datetime(2026, 3, 2, 10, 31, 10, tzinfo=UTC))
    deliver(AM.format(key), alertmanager_group("resolved"))
    incident = Incident.objects.get()
    assert incident.impact_ended_at == at("2026-03-02T10:30:00+00:00")
    group = AlertGroup.objects.get()
    assert (group.state, group.ended_at) == (GroupState.RESOLVED, incident.impact_ended_at)


def test_a_later_alert_that_began_earlier_moves_the_impact_start(key, deliver, arrived):
    body = examples.alertmanager()
    deliver(AM.format(key), body)
    assert Incident.objects.get().impact_started_at == at("2026-03-02T09:55:00+00:00")
    body["alerts"][0]["startsAt"] = "2026-03-02T09:40:00Z"
    deliver(AM.format(key), body)
    assert Incident.objects.get().impact_started_at == at("2026-03-02T09:40:00+00:00")


def test_a_start_ahead_of_our_clock_is_the_arrival(key, deliver, arrived):
    body = examples.alertmanager()
    body["alerts"][0]["startsAt"] = "2026-03-02T10:05:00Z"
    deliver(AM.format(key), body)
    assert Incident.objects.get().impact_started_at == ARRIVAL


def test_labels_annotations_and_generator_urls_show_on_the_incident_and_integration(
    key, integration, deliver, client_for, manager, admin_user
):
    deliver(AM.format(key), alertmanager_group())
    incident = Incident.objects.get()
    page = client_for(manager).get(f"/incidents/{incident.key}/").content.decode()
    admin_page = client_for(admin_user).get(f"/oncall/integrations/{integration.pk}/")
    for html in (page, admin_page.content.decode()):
        assert "instance=checkout-2:9100" in html
        assert "instance=checkout-1:9100" in html
        assert "Errors on checkout-2" in html
        assert "https://runbooks/x" in html
        assert 'href="http://prometheus.example.com:9090/graph?g0.expr=rate2"' in html


def test_a_generator_url_that_is_not_http_is_no_link(key, deliver, client_for, manager):
    body = examples.alertmanager()
    body["alerts"][0]["generatorURL"] = "javascript:alert(1)"
    deliver(AM.format(key), body)
    incident = Incident.objects.get()
    page = client_for(manager).get(f"/incidents/{incident.key}/").content.decode()
    assert 'href="javascript:' not in page  # the raw payload still shows it, as text
    assert "instance=checkout-1:9100" in page


# PagerDuty Events API v2 -------------------------------------------------------------------


def test_pagerduty_timestamp_is_the_impact_start(key, deliver):
    deliver(PD, examples.pagerduty(key))
    incident = Incident.objects.get()
    assert incident.impact_started_at == at("2015-07-17T08:42:58.315+00:00")


def test_pagerduty_details_show_on_the_alert_group(
    key, integration, deliver, client_for, admin_user
):
    event = examples.pagerduty(key)
    event["links"] = [{"href": "https://grafana.example.com/d/disk", "text": "Disk dashboard"}]
    event["images"] = [{"src": "https://chart.example.com/disk.png", "alt": "Disk chart"}]
    deliver(PD, event)
    group = AlertGroup.objects.get()
    assert (group.details["component"], group.details["group"], group.details["class"]) == (
        "mysql",
        "prod-datapipe",
        "disk",
    )
    html = client_for(admin_user).get(f"/oncall/integrations/{integration.pk}/").content.decode()
    assert 'href="https://grafana.example.com/d/disk"' in html
    assert "Disk dashboard" in html
    assert "Disk chart" in html
    assert "ping time" in html
    assert "1500ms" in html
    assert "prod-datapipe" in html


def test_a_pagerduty_trigger_after_its_resolve_opens_a_new_group_and_incident(key, deliver):
    deliver(PD, examples.pagerduty(key))
    deliver(PD, examples.pagerduty(key, "resolve"))
    deliver(PD, examples.pagerduty(key))
    first, second = Incident.objects.order_by("id")
    assert first.is_open
    assert first.impact_ended_at is not None
    groups = AlertGroup.objects.order_by("id")
    assert [(g.state, g.incident_id) for g in groups] == [
        (GroupState.RESOLVED, first.pk),
        (GroupState.FIRING, second.pk),
    ]
    assert list(Alert.objects.order_by("id").values_list("outcome", flat=True)) == [
        "created",
        "resolved",
        "created",
    ]


def test_the_enqueue_path_with_a_trailing_slash_works(key, deliver):
    assert deliver(PD + "/", examples.pagerduty(key)).status_code == 202
    assert Incident.objects.count() == 1


def test_invalid_events_answer_in_pagerdutys_shape(key, post):
    event = examples.pagerduty(key)
    event["payload"]["timestamp"] = "yesterday"
    event["links"] = "https://example.com"
    response = post(PD, event)
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [
            "'payload.timestamp' is not an ISO 8601 date-time with an offset after 2000",
            "'links' must be a list of objects, each with a 'href'",
        ],
    }
    assert post(PD, "{not json").json()["status"] == "invalid event"


# Change events -------------------------------------------------------------------------------


def change(key, **payload):
    return {
        "routing_key": key,
        "payload": {
            "summary": "Build 4242 deployed to checkout",
            "timestamp": "2026-03-02T09:48:00Z",
            "source": "ci.example.com",
            "custom_details": {"build_state": "passed", "build_number": "4242"},
            **payload,
        },
        "links": [{"href": "https://ci.example.com/builds/4242", "text": "Build 4242"}],
    }


def test_a_change_event_becomes_a_change_of_the_service(key, integration, post, arrived):
    response = post(PD_CHANGE, change(key))
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Change event processed"}
    recorded = ServiceChange.objects.get()
    assert (recorded.service, recorded.kind, recorded.summary, recorded.author) == (
        integration.service,
        "change",
        "Build 4242 deployed to checkout",
        "ci.example.com",
    )
    assert recorded.happened_at == at("2026-03-02T09:48:00+00:00")
    assert recorded.url == "https://ci.example.com/builds/4242"
    alert = Alert.objects.get()
    assert alert.outcome == AlertOutcome.CHANGE
    assert key not in alert.payload
    assert "[redacted]" in alert.payload
    assert post(PD_CHANGE + "/", change(key)).status_code == 202


def test_a_change_shows_near_the_impact_start(
    key, integration, post, client_for, api_for, manager, arrived
):
    post(PD_CHANGE, change(key))
    incident = make_incident(
        faulty_service=integration.service,
        impact_started_at=at("2026-03-02T09:55:00+00:00"),
        detected_at=ARRIVAL,
    )
    page = client_for(manager).get(f"/incidents/{incident.key}/").content.decode()
    assert "Build 4242 deployed to checkout" in page
    assert "7 min before" in page
    assert 'href="https://ci.example.com/builds/4242"' in page
    assert "build_number" in page
    [row] = api_for(manager).get(f"/api/incidents/{incident.key}/nearby-changes/").json()
    assert row["offset_seconds"] == -7 * 60
    assert row["change"]["kind"] == "change"
    assert row["change"]["details"]["links"] == [
        {"href": "https://ci.example.com/builds/4242", "text": "Build 4242"}
    ]


def test_the_integration_page_costs_no_more_queries_with_more_groups(
    key, integration, deliver, client_for, admin_user, django_assert_max_num_queries
):
    client = client_for(admin_user)
    deliver(AM.format(key), alertmanager_group())
    with django_assert_max_num_queries(100) as one_group:
        client.get(f"/oncall/integrations/{integration.pk}/")
    # Read now: each request clears the connection's query log.
    allowed = len(one_group.captured_queries)
    assert allowed > 5
    for index in range(5):
        deliver(AM.format(key), examples.alertmanager(group_key=f"group-{index}"))
    with django_assert_max_num_queries(allowed):
        page = client.get(f"/oncall/integrations/{integration.pk}/")
    assert page.content.decode().count("Labels, annotations and details") == 6


def test_a_change_ahead_of_our_clock_happened_when_it_arrived(key, post, arrived):
    assert post(PD_CHANGE, change(key, timestamp="2026-03-02T12:00:00Z")).status_code == 202
    assert ServiceChange.objects.get().happened_at == ARRIVAL


def test_a_bad_change_event_writes_nothing_and_says_why(key, post, arrived):
    response = post(PD_CHANGE, change(key, summary="", timestamp="1999-12-31T23:00:00Z"))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "'payload.summary' is missing or blank",
        "'payload.timestamp' is not an ISO 8601 date-time with an offset after 2000",
    ]
    assert not ServiceChange.objects.exists()
    assert set(Alert.objects.values_list("outcome", flat=True)) == {AlertOutcome.REJECTED}
    unknown = post(PD_CHANGE, change("0" * 32))
    assert (unknown.status_code, unknown.json()["errors"]) == (400, ["Invalid routing key"])


def test_a_paused_integration_records_no_change(key, integration, post):
    integration.paused = True
    integration.save()
    assert post(PD_CHANGE, change(key)).status_code == 202
    assert not ServiceChange.objects.exists()
    assert Alert.objects.get().outcome == AlertOutcome.IGNORED


# The key stays secret ------------------------------------------------------------------------


def test_stored_payloads_never_show_the_routing_key(
    key, integration, deliver, client_for, admin_user
):
    deliver(PD, examples.pagerduty(key))
    bad = examples.pagerduty(key)
    bad["payload"]["severity"] = "sev1"
    deliver(PD, bad)
    assert Alert.objects.count() == 2
    assert not Alert.objects.filter(payload__contains=key).exists()
    html = client_for(admin_user).get(f"/oncall/integrations/{integration.pk}/").content.decode()
    assert key not in html
    assert "[redacted]" in html


def test_payloads_stored_before_are_redacted_by_the_migration(key, integration):
    from importlib import import_module

    migration = import_module("oncall.migrations.0014_alert_sources")
    old = Alert.objects.create(
        integration=integration,
        format="pagerduty",
        outcome=AlertOutcome.CREATED,
        payload=json.dumps(examples.pagerduty(key)),
    )
    migration.redact_routing_keys(django_apps, connection.schema_editor)
    old.refresh_from_db()
    assert key not in old.payload
    assert json.loads(old.payload)["routing_key"] == "[redacted]"


def test_alertmanager_may_send_the_key_as_a_bearer_token(key, deliver, post):
    response = deliver(AM_BEARER, examples.alertmanager(), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 202
    assert Incident.objects.count() == 1
    missing = post(AM_BEARER, examples.alertmanager())
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    wrong = post(AM_BEARER, examples.alertmanager(), HTTP_AUTHORIZATION="Bearer " + "0" * 32)
    assert (wrong.status_code, wrong.json()) == (401, {"error": "No integration has this key."})
    generic = post(
        "/integrations/generic/", {"title": "Disk full"}, HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert generic.status_code == 202


def test_a_key_in_a_not_found_path_is_not_logged(key, post, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert post(AM.format("0" * 32), examples.alertmanager()).status_code == 404
    assert "0" * 32 not in caplog.text
    assert "/integrations/alertmanager/[key]/" in caplog.text


def test_the_redaction_filter_covers_runserver_lines_and_every_receiver():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("POST /integrations/heartbeat/abc123/?x=1 HTTP/1.1", "202", "40"),
        None,
    )
    RedactKeys().filter(record)
    assert record.getMessage() == '"POST /integrations/heartbeat/[key]/?x=1 HTTP/1.1" 202 40'
    assert redact_path("/oncall/integrations/12/") == "/oncall/integrations/12/"


def test_runserver_access_lines_leave_the_key_out(key, tmp_path):
    """The real ``django.server`` logger as configured by settings.LOGGING."""
    handler_records = []

    class Keep(logging.Handler):
        def emit(self, record):
            handler_records.append(self.format(record))

    logger = logging.getLogger("django.server")
    keep = Keep()
    logger.addHandler(keep)
    try:
        logger.info('"%s" %s %s', f"POST /integrations/alertmanager/{key}/ HTTP/1.1", "202", "40")
    finally:
        logger.removeHandler(keep)
    assert handler_records == ['"POST /integrations/alertmanager/[key]/ HTTP/1.1" 202 40']
