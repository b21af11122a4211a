"""The receiving endpoints: each format from its documentation, valid and malformed,
de-duplication, the storm, the resolve flow, keys and pausing."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from incidents import actions as incident_actions
from incidents.entry_texts import render
from incidents.models import EntryKind, Incident, Status
from oncall.integrations import actions, tasks
from oncall.integrations.actions import processing, receiving
from oncall.integrations.models import Alert, AlertGroup, AlertOutcome, GroupState
from tests.factories import UserFactory

from . import examples
from .conftest import apply_pending

AM = "/integrations/alertmanager/{}/"
GENERIC = "/integrations/generic/{}/"
PD = "/v2/enqueue"


def only_incident():
    [incident] = Incident.objects.all()
    return incident


# Alertmanager -------------------------------------------------------------------------------


def test_receiving_stores_the_parsed_alert_pending_and_answers_at_once(integration, key, post):
    response = post(AM.format(key), examples.alertmanager())
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "dedup_key": '{}:{alertname="HighErrorRate"}'}
    alert = Alert.objects.get()
    assert (alert.outcome, alert.action, alert.group, alert.processed_at) == (
        AlertOutcome.PENDING,
        "trigger",
        None,
        None,
    )
    assert alert.dedup_key == '{}:{alertname="HighErrorRate"}'
    assert {name: alert.event[name] for name in ("summary", "severity", "source")} == {
        "summary": "High request error rate on checkout",
        "severity": "critical",
        "source": "http://alertmanager.example.com:9093",
    }
    assert alert.event["description"] == "5xx above 5% for 10 minutes."
    # The tool's own start, and no end while it fires.
    assert (alert.event["started_at"], alert.event["ended_at"]) == ("2026-03-02T09:55:00+00:00", "")
    assert not Incident.objects.exists()  # the worker applies it


def test_alertmanager_firing_opens_an_incident_as_the_alerts_user(integration, key, post):
    post(AM.format(key), examples.alertmanager())
    assert apply_pending() == 1
    incident = only_incident()
    assert incident.summary == "High request error rate on checkout"
    assert incident.severity == 1  # critical
    assert incident.faulty_service == integration.service
    assert [p.slug for p in incident.affected_products.all()] == ["shop"]
    assert incident.created_by.username == "alerts"
    assert not incident.created_by.is_active
    group = AlertGroup.objects.get()
    assert (group.incident, group.state, group.alert_count) == (incident, GroupState.FIRING, 1)
    alert = Alert.objects.get()
    assert json.loads(alert.payload)["groupKey"] == group.dedup_key
    assert (alert.outcome, alert.group) == (AlertOutcome.CREATED, group)
    assert alert.processed_at is not None
    assert incident.detected_at == alert.received_at
    assert apply_pending() == 0  # a second run changes nothing


def test_alertmanager_repeat_notifications_join_the_group(integration, key, deliver):
    for _ in range(3):
        assert deliver(AM.format(key), examples.alertmanager()).status_code == 202
    incident = only_incident()
    group = AlertGroup.objects.get()
    assert group.alert_count == 3
    assert group.incident == incident
    assert list(Alert.objects.values_list("outcome", flat=True).order_by("id")) == [
        "created",
        "deduplicated",
        "deduplicated",
    ]


def test_another_group_key_is_another_incident(key, deliver):
    deliver(AM.format(key), examples.alertmanager())
    deliver(AM.format(key), examples.alertmanager(group_key='{}:{alertname="DiskFull"}'))
    assert Incident.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda body: body.pop("version"), "'version' must be \"4\""),
        (lambda body: body.pop("groupKey"), "'groupKey' is missing."),
        (lambda body: body.update(status="burning"), "'status' must be"),
        (lambda body: body.update(alerts="none"), "'alerts' must be a list of objects."),
    ],
)
def test_alertmanager_malformed_is_400_with_the_reason_and_kept(
    integration, key, post, change, reason
):
    body = examples.alertmanager()
    change(body)
    response = post(AM.format(key), body)
    assert response.status_code == 400
    assert any(reason in error for error in response.json()["errors"])
    rejected = Alert.objects.get(outcome=AlertOutcome.REJECTED)
    assert reason in rejected.reason
    assert rejected.integration == integration
    assert not Incident.objects.exists()


def test_not_json_is_400_and_kept(integration, key, post):
    response = post(AM.format(key), "{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"][0]
    assert Alert.objects.get().payload == "{not json"


# Resolve flow -----------------------------------------------------------------------------


def test_resolving_every_group_records_impact_end_and_asks_the_im(key, deliver):
    deliver(AM.format(key), examples.alertmanager())
    deliver(AM.format(key), examples.alertmanager(group_key="other"))
    incident_a, incident_b = Incident.objects.order_by("pk")
    deliver(AM.format(key), examples.alertmanager("resolved"))
    incident_a.refresh_from_db()
    assert incident_a.impact_ended_at is not None
    assert incident_a.status == Status.NEW  # never resolved by the alerts
    note = incident_a.timeline.get(kind=EntryKind.NOTE)
    assert "The incident manager: resolve the incident once you have confirmed" in note.text
    with translation.override("ko"):
        assert "인시던트 관리자는 영향이 끝났음을 확인하면" in render(note)
    assert AlertGroup.objects.get(dedup_key='{}:{alertname="HighErrorRate"}').state == "resolved"
    incident_b.refresh_from_db()
    assert incident_b.impact_ended_at is None


def test_a_claimed_incident_is_not_resolved_but_its_im_is_asked(key, deliver):
    deliver(AM.format(key), examples.alertmanager())
    incident = only_incident()
    im = UserFactory(username="ines", group="responder")
    incident_actions.claim_incident(incident, by=im)
    deliver(AM.format(key), examples.alertmanager("resolved"))
    incident.refresh_from_db()
    assert incident.status == Status.FIXING
    assert incident.assignee == im
    assert incident.impact_ended_at is not None
    note = incident.timeline.get(kind=EntryKind.NOTE)
    assert note.text.endswith(
        "ines: resolve the incident once you have confirmed the impact is over."
    )
    with translation.override("ko"):
        assert "ines님, 영향이 끝났음을 확인하면 인시던트를 해결하세요." in render(note)


def test_the_alert_firing_again_reopens_the_impact_on_the_same_incident(key, deliver):
    deliver(AM.format(key), examples.alertmanager())
    deliver(AM.format(key), examples.alertmanager("resolved"))
    deliver(AM.format(key), examples.alertmanager())
    incident = only_incident()
    assert incident.impact_ended_at is None
    assert AlertGroup.objects.filter(incident=incident).count() == 2


def test_an_alert_after_people_resolved_the_incident_opens_a_new_one(key, deliver, admin_user):
    deliver(AM.format(key), examples.alertmanager())
    incident = only_incident()
    incident_actions.transition_incident(
        incident, to=Status.RESOLVED, by=admin_user, impact_ended_at=timezone.now()
    )
    deliver(AM.format(key), examples.alertmanager())
    assert Incident.objects.count() == 2
    assert AlertGroup.objects.filter(state=GroupState.FIRING).count() == 1


def test_resolve_for_an_unknown_key_is_accepted_and_ignored(key, deliver):
    response = deliver(AM.format(key), examples.alertmanager("resolved"))
    assert response.status_code == 202
    assert Alert.objects.get().outcome == AlertOutcome.IGNORED
    assert not Incident.objects.exists()


# The storm --------------------------------------------------------------------------------


def test_a_storm_of_1000_identical_alerts_makes_one_incident(key, post, django_assert_num_queries):
    body = json.dumps(examples.pagerduty(key))
    # Receiving is one statement, whatever the storm: it finds the integration by its key
    # and stores the alert (INSERT … SELECT).
    with django_assert_num_queries(1):
        assert post(PD, body).status_code == 202
    for _ in range(999):
        assert post(PD, body).status_code == 202
    assert Alert.objects.filter(outcome=AlertOutcome.PENDING).count() == 1000
    assert apply_pending() == 1000
    incident = only_incident()
    assert AlertGroup.objects.get().alert_count == 1000
    assert Alert.objects.filter(outcome=AlertOutcome.DEDUPLICATED).count() == 999
    assert Alert.objects.filter(outcome=AlertOutcome.CREATED).count() == 1
    assert incident.timeline.filter(kind=EntryKind.CREATED).count() == 1


def test_applying_duplicates_costs_the_same_queries_for_10_or_400(key, post):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    body = json.dumps(examples.pagerduty(key))
    post(PD, body)
    apply_pending()

    def queries_to_apply(count):
        for _ in range(count):
            post(PD, body)
        with CaptureQueriesContext(connection) as queries:
            assert apply_pending() == count
        return len(queries)

    assert queries_to_apply(10) == queries_to_apply(400)
    assert AlertGroup.objects.get().alert_count == 411


def test_a_storm_applied_in_several_batches_counts_each_alert_once(key, post, monkeypatch):
    monkeypatch.setattr(processing, "BATCH_SIZE", 7)
    body = json.dumps(examples.pagerduty(key))
    for _ in range(50):
        post(PD, body)
    assert apply_pending() == 50
    assert AlertGroup.objects.get().alert_count == 50
    assert Incident.objects.count() == 1


def test_a_batch_stops_at_its_time_budget_and_the_next_one_goes_on(key, post, monkeypatch):
    monkeypatch.setattr(processing, "BATCH_SECONDS", 0)
    for number in range(3):
        post(PD, examples.pagerduty(key, dedup_key=f"k{number}"))
    _, applied, more = processing._next_batch(None, set())
    assert (applied, more) == (1, True)  # one alert, then out of time
    assert Alert.objects.filter(outcome=AlertOutcome.PENDING).count() == 2
    assert apply_pending() == 2
    assert Incident.objects.count() == 3


def test_a_run_applies_what_was_pending_and_leaves_later_alerts_to_their_wake_up(
    integration, key, post, monkeypatch
):
    for _ in range(3):
        post(PD, examples.pagerduty(key))
    real_write = processing._Batch._write

    def write_while_another_arrives(batch):
        real_write(batch)
        if not Alert.objects.filter(outcome=AlertOutcome.PENDING).exclude(
            pk__in=[pk for ids in batch.outcomes.values() for pk in ids]
        ):
            actions.receive(integration.key_hash, "pagerduty", "{}", [examples.event()])

    monkeypatch.setattr(processing._Batch, "_write", write_while_another_arrives)
    assert actions.process_pending() == 3
    assert Alert.objects.filter(outcome=AlertOutcome.PENDING).count() == 1
    monkeypatch.setattr(processing._Batch, "_write", real_write)
    assert actions.process_pending() == 1


def test_full_batches_go_on_until_the_backlog_is_applied(key, post, monkeypatch):
    monkeypatch.setattr(processing, "BATCH_SIZE", 5)
    for _ in range(12):
        post(PD, examples.pagerduty(key))
    assert actions.process_pending() == 12


# Order, failures, re-runs ------------------------------------------------------------------


def test_alerts_apply_in_arrival_order_within_one_batch(key, post):
    post(AM.format(key), examples.alertmanager())
    post(AM.format(key), examples.alertmanager("resolved"))
    post(AM.format(key), examples.alertmanager())  # flaps: same open incident, a new group
    assert apply_pending() == 3
    assert list(Alert.objects.order_by("id").values_list("outcome", flat=True)) == [
        "created",
        "resolved",
        "deduplicated",
    ]
    incident = only_incident()
    assert incident.impact_ended_at is None
    assert list(AlertGroup.objects.order_by("id").values_list("state", "alert_count")) == [
        ("resolved", 2),
        ("firing", 1),
    ]


def test_a_killed_batch_rolls_back_and_the_rerun_counts_once(key, post, monkeypatch):
    from django.db import OperationalError

    body = json.dumps(examples.pagerduty(key))
    for _ in range(20):
        post(PD, body)
    real_write = processing._Batch._write

    def die(batch):
        # The worker dies after applying every alert in memory, before the commit.
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(processing._Batch, "_write", die)
    with pytest.raises(OperationalError):
        tasks.process_alerts()
    assert not Incident.objects.exists()
    assert Alert.objects.filter(outcome=AlertOutcome.PENDING).count() == 20
    monkeypatch.setattr(processing._Batch, "_write", real_write)
    assert tasks.process_alerts() == 20  # the redelivered task
    assert tasks.process_alerts() == 0  # and a second run changes nothing
    assert AlertGroup.objects.get().alert_count == 20
    assert Incident.objects.count() == 1


def test_an_alert_that_cannot_be_applied_is_marked_failed_and_the_rest_go_on(
    key, post, monkeypatch
):
    from incidents import actions as incidents_actions

    real_create = incidents_actions.create_incidents

    def create(new, **fields):
        if any(one.summary == "poison" for one in new):
            raise ValueError("a bug")
        return real_create(new, **fields)

    monkeypatch.setattr(incidents_actions, "create_incidents", create)
    post(GENERIC.format(key), {"title": "before"})
    post(GENERIC.format(key), {"title": "poison"})
    post(GENERIC.format(key), {"title": "after"})
    assert apply_pending() == 3
    outcomes = dict(Alert.objects.values_list("dedup_key", "outcome"))
    assert outcomes == {"before": "created", "poison": "failed", "after": "created"}
    assert "a bug" in Alert.objects.get(dedup_key="poison").reason
    assert sorted(Incident.objects.values_list("summary", flat=True)) == ["after", "before"]


def test_a_broker_outage_loses_no_alert(key, post, monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(**options):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.process_alerts, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(PD, examples.pagerduty(key)).status_code == 202
    assert Alert.objects.get().outcome == AlertOutcome.PENDING
    assert tasks.process_alerts() == 1  # the beat's sweep
    assert only_incident()


def test_a_cache_outage_delays_no_alert(key, post, monkeypatch, django_capture_on_commit_callbacks):
    class DownCache:
        def __getattr__(self, name):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(receiving, "cache", DownCache())
    with django_capture_on_commit_callbacks(execute=True):
        assert post(PD, examples.pagerduty(key)).status_code == 202
    assert tasks.process_alerts() == 1  # the sweep applies it all the same
    assert only_incident()


def test_the_beat_sweeps_alerts_left_pending():
    scheduled = []

    class Beat:
        def add_periodic_task(self, every, signature, name):
            scheduled.append((every, signature.task))

    tasks._schedule(Beat())
    assert (tasks.SWEEP_SECONDS, tasks.process_alerts.name) in scheduled
    assert (tasks.SWEEP_SECONDS, tasks.end_alert_storms.name) in scheduled
    assert tasks.SWEEP_SECONDS <= 60


# PagerDuty Events API v2 ------------------------------------------------------------------


def test_pagerduty_trigger_answers_like_pagerduty(key, deliver):
    response = deliver(PD, examples.pagerduty(key))
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "srv01/mysql",
    }
    incident = only_incident()
    assert incident.summary == "DISK at 99% on machine prod-datapipe03.example.com"
    assert "Source: prod-datapipe03.example.com" in incident.description


def test_pagerduty_trigger_without_dedup_key_gets_one_to_resolve_with(key, deliver):
    response = deliver(PD, examples.pagerduty(key, dedup_key=None))
    dedup_key = response.json()["dedup_key"]
    assert len(dedup_key) == 32
    assert deliver(PD, examples.pagerduty(key, "resolve", dedup_key)).status_code == 202
    assert AlertGroup.objects.get(dedup_key=dedup_key).state == GroupState.RESOLVED


def test_pagerduty_acknowledge_and_resolve(key, deliver):
    deliver(PD, examples.pagerduty(key))
    assert deliver(PD, examples.pagerduty(key, "acknowledge")).json()["dedup_key"] == "srv01/mysql"
    group = AlertGroup.objects.get()
    assert group.acknowledged_at is not None
    assert group.state == GroupState.FIRING
    deliver(PD, examples.pagerduty(key, "resolve"))
    group.refresh_from_db()
    assert group.state == GroupState.RESOLVED
    assert only_incident().impact_ended_at is not None


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda e: e.update(event_action="explode"), "'event_action' is invalid"),
        (lambda e: e["payload"].pop("summary"), "'payload.summary' is missing or blank"),
        (lambda e: e["payload"].pop("source"), "'payload.source' is missing or blank"),
        (lambda e: e["payload"].update(severity="bad"), "'payload.severity' is invalid"),
        (lambda e: e.pop("payload"), "'payload' is missing or not an object"),
        (lambda e: e.update(dedup_key="x" * 256), "'dedup_key' is too long"),
    ],
)
def test_pagerduty_invalid_event_is_400_like_pagerduty(integration, key, post, change, error):
    event = examples.pagerduty(key)
    change(event)
    response = post(PD, event)
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert any(e.startswith(error) for e in body["errors"])
    assert Alert.objects.get().outcome == AlertOutcome.REJECTED
    assert not Incident.objects.exists()


def test_pagerduty_resolve_needs_the_dedup_key(key, post):
    response = post(PD, examples.pagerduty(key, "resolve", dedup_key=None))
    assert response.status_code == 400
    assert response.json()["errors"] == ["'dedup_key' is required for event_action 'resolve'"]


def test_pagerduty_without_routing_key_or_json_is_invalid(post):
    assert post(PD, examples.pagerduty("")).json()["errors"] == [
        "'routing_key' is missing or blank"
    ]
    assert post(PD, "nope").status_code == 400


# Generic ----------------------------------------------------------------------------------


def test_generic_alert_with_numeric_severity_and_resolve(key, deliver):
    body = {"title": "Queue backlog", "dedup_key": "queue", "severity": 2, "details": {"depth": 9}}
    assert deliver(GENERIC.format(key), body).status_code == 202
    assert only_incident().severity == 2
    deliver(GENERIC.format(key), {"dedup_key": "queue", "status": "resolved"})
    assert AlertGroup.objects.get().state == GroupState.RESOLVED


def test_generic_malformed_names_the_fields(key, post):
    response = post(GENERIC.format(key), {"status": "maybe", "severity": 9, "details": []})
    assert response.status_code == 400
    errors = " ".join(response.json()["errors"])
    for field in ("'status'", "'severity'", "'details'"):
        assert field in errors


# Severity mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "severity"), [("critical", 1), ("error", 2), ("warning", 3), ("info", 3), ("odd", 3)]
)
def test_default_severity_mapping(key, deliver, label, severity):
    deliver(PD, examples.pagerduty(key, severity=label if label != "odd" else "info"))
    if label == "odd":
        deliver(GENERIC.format(key), {"title": "x", "severity": "odd"})
        assert Incident.objects.get(summary="x").severity == 3
    else:
        assert only_incident().severity == severity


def test_mapping_is_configurable_per_integration(integration, key, deliver):
    integration.severity_map = {"warning": 2}
    integration.default_severity = 1
    integration.save()
    deliver(PD, examples.pagerduty(key, severity="warning"))
    deliver(GENERIC.format(key), {"title": "unlabelled"})
    assert sorted(Incident.objects.values_list("severity", flat=True)) == [1, 2]


def test_a_worse_repeat_raises_the_severity(key, deliver):
    deliver(PD, examples.pagerduty(key, severity="warning"))
    deliver(PD, examples.pagerduty(key, severity="critical"))
    incident = only_incident()
    assert incident.severity == 1
    deliver(PD, examples.pagerduty(key, severity="info"))
    assert only_incident().severity == 1

    entry = incident.timeline.get(kind=EntryKind.SEVERITY)
    dedup_key = entry.data["alert"]
    assert entry.text == f"Severity 3 → 1. Alert {dedup_key!r} now reports critical."
    with translation.override("ko"):
        korean = render(entry)
    assert "Alert" not in korean
    assert "now reports" not in korean
    assert repr(dedup_key) in korean
    assert "critical" in korean


# Keys, pausing, bounds ------------------------------------------------------------------


@pytest.mark.parametrize("url", [AM.format("wrong"), GENERIC.format("wrong")])
def test_a_wrong_key_reveals_nothing(key, post, url):
    response = post(url, examples.alertmanager())
    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}
    assert not Alert.objects.exists()


def test_pagerduty_unknown_routing_key_is_refused_as_pagerduty_does(integration, post):
    response = post(PD, examples.pagerduty("0" * 32))
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Invalid routing key"],
    }
    assert not Alert.objects.exists()


def test_only_post(key, client):
    assert client.get(AM.format(key)).status_code == 405


def test_paused_integration_accepts_and_records_ignored(integration, key, deliver):
    integration.paused = True
    integration.save()
    response = deliver(AM.format(key), examples.alertmanager())
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    pd = deliver(PD, examples.pagerduty(key))
    assert pd.status_code == 202
    assert pd.json()["dedup_key"] == "srv01/mysql"
    assert not Incident.objects.exists()
    assert set(Alert.objects.values_list("outcome", flat=True)) == {AlertOutcome.IGNORED}


def test_big_payloads_are_truncated_and_huge_ones_refused(key, deliver, settings):
    settings.ALERTS_PAYLOAD_MAX_CHARS = 500
    event = examples.pagerduty(key)
    event["payload"]["custom_details"] = {"blob": "x" * 5000}
    assert deliver(PD, event).status_code == 202
    alert = Alert.objects.get()
    assert len(alert.payload) == 500
    assert alert.truncated
    settings.ALERTS_MAX_BODY_BYTES = 1000
    response = deliver(GENERIC.format(key), {"title": "big", "details": {"blob": "y" * 2000}})
    assert response.status_code == 400
    assert "larger than 1000 bytes" in response.json()["errors"][0]


def test_a_long_description_is_stored_cut_like_the_payload(key, deliver, settings):
    settings.ALERTS_PAYLOAD_MAX_CHARS = 500
    body = {"title": "Disk full", "dedup_key": "disk", "description": "d" * 5000}
    assert deliver(GENERIC.format(key), body).status_code == 202
    alert = Alert.objects.get()
    assert len(alert.event["description"]) == 500
    assert alert.event["summary"] == "Disk full"
    assert only_incident().description.startswith("d" * 499 + "…")


def test_prune_deletes_old_payloads_only(key, deliver, time_machine, settings):
    settings.ALERTS_RETENTION_DAYS = 30
    deliver(PD, examples.pagerduty(key))
    time_machine.move_to(timezone.now() + timedelta(days=31))
    deliver(PD, examples.pagerduty(key))
    assert tasks.prune_alerts() == 1
    assert Alert.objects.count() == 1
    assert AlertGroup.objects.get().alert_count == 2  # the group keeps its history
