"""Concurrency on PostgreSQL, and the real Prometheus Alertmanager end to end."""

import json
import shutil
import subprocess
import threading
import time
import urllib.request

import pytest
from django.db import connection

from incidents.models import Incident
from oncall.integrations import actions
from oncall.integrations.formats import TRIGGER, Event
from oncall.integrations.models import AlertGroup
from tests.conftest import requires_postgres
from tests.receivers import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_a_new_key_make_one_incident(integration):
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes, errors = [], []
    event = Event(action=TRIGGER, dedup_key="race", summary="Race", severity="critical")

    def deliver():
        try:
            barrier.wait()
            outcomes.append(actions.handle_event(integration, "generic", "{}", event).outcome)
        except Exception as error:  # collected: an exception in a thread would vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == ["created"] + ["deduplicated"] * (threads_count - 1)
    assert Incident.objects.count() == 1
    assert AlertGroup.objects.get().alert_count == threads_count


@pytest.mark.alertmanager
@pytest.mark.skipif(
    ALERTMANAGER is None,
    reason="the Prometheus Alertmanager binary is missing: apt-get install prometheus-alertmanager",
)
@pytest.mark.django_db(transaction=True)
def test_real_alertmanager_opens_an_incident(live_server, integration, key, tmp_path):
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
    webhook_configs:
      - url: {live_server.url}/integrations/alertmanager/{key}/
        send_resolved: true
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
    try:
        api = f"http://127.0.0.1:{port}/api/v2"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{api}/status", timeout=1)
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "Alertmanager did not start"
                time.sleep(0.1)
        alerts = [
            {
                "labels": {"alertname": "CheckoutDown", "severity": "critical"},
                "annotations": {"summary": "Checkout is down"},
            }
        ]
        request = urllib.request.Request(
            f"{api}/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        assert urllib.request.urlopen(request, timeout=5).status == 200
        deadline = time.monotonic() + 20
        while not Incident.objects.exists():
            assert time.monotonic() < deadline, "no incident from Alertmanager"
            time.sleep(0.1)
        incident = Incident.objects.get()
        assert (incident.summary, incident.severity) == ("Checkout is down", 1)
        assert AlertGroup.objects.get().dedup_key.endswith('{alertname="CheckoutDown"}')
    finally:
        process.terminate()
        process.wait(timeout=10)
