"""The tools themselves against a live server: PagerDuty's client libraries (pdpyras and
python-pagerduty) for events, change events and their errors, the real Prometheus
Alertmanager for startsAt/endsAt and its Bearer authorization, and gunicorn's access
log with a key in the path."""

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pagerduty
import pytest
from django.conf import settings
from django.db import OperationalError

from incidents.models import Incident
from incidents.workspace.models import ServiceChange
from oncall.integrations import actions
from oncall.integrations.models import Alert, AlertGroup, GroupState
from tests.conftest import wait_for
from tests.receivers import free_port

with warnings.catch_warnings():
    # pdpyras warns on import that python-pagerduty succeeds it; both are in use.
    warnings.simplefilter("ignore", UserWarning)
    import pdpyras

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
GUNICORN = Path(settings.BASE_DIR) / ".venv" / "bin" / "gunicorn"

pytestmark = pytest.mark.django_db(transaction=True)


def apply():
    """What the worker does; SQLite's shared in-memory test database may be locked by
    the live server's thread for a moment."""
    for _ in range(50):
        try:
            return actions.process_pending()
        except OperationalError:
            time.sleep(0.1)
    raise AssertionError("the database stayed locked")


def pdpyras_session(url, key):
    session = pdpyras.EventsAPISession(key)
    session.url = url
    return session


def python_pagerduty_client(url, key):
    client = pagerduty.EventsApiV2Client(key)
    # Its url setter takes https only; the live server speaks plain http.
    client._url = url
    return client


# pdpyras -------------------------------------------------------------------------------------


def test_pdpyras_triggers_acknowledges_and_resolves(live_server, integration, key):
    session = pdpyras_session(live_server.url, key)
    dedup_key = session.trigger(
        "Disk full on db-1",
        "db-1.example.com",
        severity="critical",
        payload={"timestamp": "2026-03-02T09:41:00Z", "component": "postgres", "class": "disk"},
        custom_details={"free": "1%"},
        links=[{"href": "https://grafana.example.com/d/disk", "text": "Disk"}],
    )
    apply()
    incident = Incident.objects.get()
    assert (incident.summary, incident.severity) == ("Disk full on db-1", 1)
    assert incident.impact_started_at == datetime(2026, 3, 2, 9, 41, tzinfo=UTC)
    group = AlertGroup.objects.get()
    assert group.dedup_key == dedup_key
    assert group.details["component"] == "postgres"
    assert group.details["links"] == [
        {"href": "https://grafana.example.com/d/disk", "text": "Disk"}
    ]
    assert session.acknowledge(dedup_key) == dedup_key
    assert session.resolve(dedup_key) == dedup_key
    apply()
    group.refresh_from_db()
    assert group.state == GroupState.RESOLVED
    assert group.acknowledged_at is not None
    # Fired again after the resolve: a new alert and incident, as PagerDuty does.
    assert session.trigger("Disk full on db-1", "db-1", dedup_key=dedup_key) == dedup_key
    apply()
    assert Incident.objects.count() == 2


def test_pdpyras_reports_our_errors(live_server, integration, key):
    with pytest.raises(pdpyras.PDHTTPError) as unknown:
        pdpyras_session(live_server.url, "0" * 32).trigger("Disk full", "db-1")
    assert unknown.value.response.status_code == 400
    assert "Invalid routing key" in str(unknown.value)
    with pytest.raises(pdpyras.PDHTTPError) as invalid:
        pdpyras_session(live_server.url, key).trigger("Disk full", "db-1", severity="sev1")
    assert invalid.value.response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
        ],
    }
    assert "payload.severity" in str(invalid.value)
    assert not Incident.objects.exists()


def test_pdpyras_change_events_become_changes(live_server, integration, key):
    session = pdpyras.ChangeEventsAPISession(key)
    session.url = live_server.url
    session.submit(
        "Deployed checkout 2.4.1",
        source="deploybot",
        custom_details={"version": "2.4.1"},
        links=[{"href": "https://ci.example.com/run/77", "text": "Run 77"}],
        timestamp="2026-03-02T09:30:00Z",
    )
    change = ServiceChange.objects.get()
    assert (change.service, change.kind, change.summary, change.author) == (
        integration.service,
        "change",
        "Deployed checkout 2.4.1",
        "deploybot",
    )
    assert change.happened_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert change.url == "https://ci.example.com/run/77"
    assert '"version": "2.4.1"' in change.details["custom_details"]


# python-pagerduty ----------------------------------------------------------------------------


def test_python_pagerduty_triggers_acknowledges_and_resolves(live_server, integration, key):
    client = python_pagerduty_client(live_server.url, key)
    dedup_key = client.trigger(
        "Checkout 5xx above 5%",
        "checkout",
        dedup_key="checkout-5xx",
        severity="error",
        payload={"group": "prod", "timestamp": "2026-03-02T09:44:00+00:00"},
        images=[{"src": "https://chart.example.com/5xx.png", "alt": "5xx chart"}],
    )
    assert dedup_key == "checkout-5xx"
    apply()
    incident = Incident.objects.get()
    assert incident.severity == 2
    assert incident.impact_started_at == datetime(2026, 3, 2, 9, 44, tzinfo=UTC)
    assert AlertGroup.objects.get().details["images"] == [
        {"src": "https://chart.example.com/5xx.png", "alt": "5xx chart"}
    ]
    assert client.acknowledge(dedup_key) == dedup_key
    assert client.resolve(dedup_key) == dedup_key
    apply()
    assert AlertGroup.objects.get().state == GroupState.RESOLVED
    assert Incident.objects.get().impact_ended_at is not None


def test_python_pagerduty_reports_our_errors(live_server, integration, key):
    client = python_pagerduty_client(live_server.url, "0" * 32)
    with pytest.raises(pagerduty.HttpError) as unknown:
        client.trigger("Checkout down", "checkout")
    assert unknown.value.response.status_code == 400
    assert "Invalid routing key" in str(unknown.value)
    client = python_pagerduty_client(live_server.url, key)
    with pytest.raises(pagerduty.HttpError) as invalid:
        client.send_change_event(payload={"summary": "", "source": "ci"})
    assert invalid.value.response.json()["errors"] == ["'payload.summary' is missing or blank"]
    assert not ServiceChange.objects.exists()


def test_python_pagerduty_change_events_become_changes(live_server, integration, key):
    client = python_pagerduty_client(live_server.url, key)
    client.send_change_event(
        payload={
            "summary": "Feature flag new-checkout on",
            "source": "flagd",
            "timestamp": "2026-03-02T09:35:00Z",
            "custom_details": {"flag": "new-checkout"},
        },
        links=[{"href": "https://flags.example.com/new-checkout"}],
    )
    change = ServiceChange.objects.get()
    assert (change.kind, change.summary, change.author, change.url) == (
        "change",
        "Feature flag new-checkout on",
        "flagd",
        "https://flags.example.com/new-checkout",
    )
    assert Alert.objects.get().outcome == "change"


# Prometheus Alertmanager ---------------------------------------------------------------------


@contextlib.contextmanager
def alertmanager(tmp_path, receiver_yaml):
    """A real Alertmanager whose only receiver is ``receiver_yaml``; yields its API."""
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        f"""
route:
  receiver: hotline
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hotline
{receiver_yaml}
"""
    )
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    api = f"http://127.0.0.1:{port}/api/v2"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{api}/status", timeout=1)
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "Alertmanager did not start"
                time.sleep(0.1)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=10)


def post_alerts(api, alerts):
    request = urllib.request.Request(
        f"{api}/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    assert urllib.request.urlopen(request, timeout=5).status == 200


def applied(condition):
    def check():
        apply()
        try:
            return condition()
        except OperationalError:
            return False

    return check


def rfc3339(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.alertmanager
@pytest.mark.skipif(
    ALERTMANAGER is None,
    reason="the Prometheus Alertmanager binary is missing: apt-get install prometheus-alertmanager",
)
def test_real_alertmanager_with_a_bearer_key_records_its_start_and_end(
    live_server, integration, key, tmp_path
):
    """The key in Alertmanager's http_config authorization, not in the URL; the impact
    starts at the alert's startsAt and ends at its endsAt, not at their deliveries."""
    receiver = f"""    webhook_configs:
      - url: {live_server.url}/integrations/alertmanager/
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
"""
    now = datetime.now(UTC).replace(microsecond=0)
    started, ended = now - timedelta(minutes=10), now - timedelta(minutes=1)
    labels = {"alertname": "CheckoutDown", "severity": "critical", "instance": "checkout-1"}
    alert = {
        "labels": labels,
        "annotations": {"summary": "Checkout is down", "runbook": "https://runbooks/checkout"},
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=up",
        "startsAt": rfc3339(started),
    }
    with alertmanager(tmp_path, receiver) as api:
        post_alerts(api, [alert])
        assert wait_for(applied(Incident.objects.exists)), "no incident from Alertmanager"
        incident = Incident.objects.get()
        assert incident.impact_started_at == started
        assert incident.detected_at > now - timedelta(seconds=5)
        group = AlertGroup.objects.get()
        [shown] = group.details["alerts"]
        assert shown["labels"] == labels
        assert shown["generator_url"] == "http://prometheus.example.com/graph?g0.expr=up"
        post_alerts(api, [{**alert, "endsAt": rfc3339(ended)}])

        def impact_ended():
            return Incident.objects.get().impact_ended_at is not None

        assert wait_for(applied(impact_ended)), "no resolve from Alertmanager"
    incident.refresh_from_db()
    assert incident.impact_ended_at == ended
    assert not Alert.objects.filter(payload__contains=key).exists()


# gunicorn's access log -----------------------------------------------------------------------


def test_gunicorn_access_log_leaves_keys_and_bearer_tokens_out(tmp_path):
    """gunicorn as the Procfile runs it (reading gunicorn.conf.py from the project),
    with an access-log format that would print the Authorization header."""
    port, log = free_port(), tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    process = subprocess.Popen(
        [
            str(GUNICORN),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(log),
            "--access-logformat",
            '"%(r)s" %(s)s %(U)s auth=%({authorization}i)s',
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    secret = "5f0e4d3c2b1a09f8e7d6c5b4a3928170"
    try:
        url = f"http://127.0.0.1:{port}/integrations/alertmanager/{secret}/?x=1"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(request, timeout=2)
            except urllib.error.HTTPError as answered:
                status = answered.code
                break
            except OSError:
                assert process.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert status == 405  # a GET: refused before any database
        assert wait_for(lambda: log.exists() and log.read_text().strip(), seconds=10)
    finally:
        process.terminate()
        process.wait(timeout=10)
    line = log.read_text()
    assert secret not in line
    assert '"GET /integrations/alertmanager/[key]/?x=1 HTTP/1.1" 405' in line
    assert "/integrations/alertmanager/[key]/ auth=[redacted]" in line
