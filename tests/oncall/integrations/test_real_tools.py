"""Concurrency on PostgreSQL (requests and workers), and the real Prometheus
Alertmanager end to end with a real worker."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client

from incidents.models import Incident
from oncall.integrations import actions
from oncall.integrations.models import Alert, AlertGroup, Integration
from tests.conftest import requires_postgres, wait_for
from tests.receivers import free_port

from . import examples

PD = "/v2/enqueue"

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_and_workers_make_one_incident(integration, key, worker):
    """Requests for one new key race each other while workers (a real one and threads)
    apply them: one group, one incident, every alert counted once."""
    senders, per_sender, appliers = 6, 15, 3
    barrier = threading.Barrier(senders + appliers)
    sending = threading.Event()
    statuses, errors = [], []
    body = json.dumps(examples.pagerduty(key, dedup_key="race"))

    def send():
        client = Client()
        try:
            barrier.wait()
            for _ in range(per_sender):
                response = client.post(PD, data=body, content_type="application/json")
                statuses.append(response.status_code)
        except Exception as error:  # collected: an exception in a thread would vanish
            errors.append(error)
        finally:
            connection.close()

    def apply():
        try:
            barrier.wait()
            while sending.is_set() or Alert.objects.filter(outcome="pending").exists():
                actions.process_pending()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    sending.set()
    senders_threads = [threading.Thread(target=send) for _ in range(senders)]
    appliers_threads = [threading.Thread(target=apply) for _ in range(appliers)]
    for thread in senders_threads + appliers_threads:
        thread.start()
    for thread in senders_threads:
        thread.join()
    sending.clear()
    for thread in appliers_threads:
        thread.join()
    total = senders * per_sender
    assert errors == []
    assert statuses == [202] * total
    assert wait_for(lambda: not Alert.objects.filter(outcome="pending").exists())
    assert Incident.objects.count() == 1
    group = AlertGroup.objects.get()
    assert group.alert_count == total
    outcomes = sorted(Alert.objects.values_list("outcome", flat=True))
    assert outcomes == ["created"] + ["deduplicated"] * (total - 1)


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_busy_integration_makes_a_later_run_wait_not_skip(integration, key):
    """A run that finds the integration locked waits for it rather than returning with
    its alert left behind."""
    post = Client().post
    post(PD, data=json.dumps(examples.pagerduty(key)), content_type="application/json")
    locked, release, applied = threading.Event(), threading.Event(), []

    def hold_the_lock():
        with transaction.atomic():
            Integration.objects.select_for_update(no_key=True).get(pk=integration.pk)
            locked.set()
            release.wait(10)
        connection.close()

    def run():
        applied.append(actions.process_pending())
        connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(10)
    runner = threading.Thread(target=run)
    runner.start()
    runner.join(0.5)
    assert runner.is_alive()  # waiting for the lock, not gone
    release.set()
    holder.join()
    runner.join(10)
    assert applied == [1]
    assert Incident.objects.count() == 1


KILLED_WORKER = """
import sys, time
import django
django.setup()
from oncall.integrations import actions
from oncall.integrations.actions import processing

def write_slowly(batch):
    print("applied in memory, not committed", flush=True)
    time.sleep(60)

processing._Batch._write = write_slowly
actions.process_pending()
"""


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_nothing_and_the_rerun_counts_once(integration, key):
    client = Client()
    body = json.dumps(examples.pagerduty(key))
    for _ in range(30):
        client.post(PD, data=body, content_type="application/json")
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline().startswith("applied in memory")
        # It holds the integration's lock and has opened an incident in its transaction.
        assert not Incident.objects.exists()
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(10)
    assert Alert.objects.filter(outcome="pending").count() == 30
    assert actions.process_pending() == 30  # the task again, as acks_late redelivers it
    assert AlertGroup.objects.get().alert_count == 30
    assert Incident.objects.count() == 1


def incident_opened():
    try:
        return Incident.objects.exists()
    except OperationalError:
        # SQLite's shared in-memory test database locks whole tables: the worker is
        # writing the incident right now.
        return False


@pytest.mark.alertmanager
@pytest.mark.skipif(
    ALERTMANAGER is None,
    reason="the Prometheus Alertmanager binary is missing: apt-get install prometheus-alertmanager",
)
@pytest.mark.django_db(transaction=True)
def test_real_alertmanager_opens_an_incident(live_server, integration, key, tmp_path, worker):
    """Alertmanager posts to the portal; the real worker, woken by the request, applies it."""
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
        assert wait_for(incident_opened), "no incident from Alertmanager"
        incident = Incident.objects.get()
        assert (incident.summary, incident.severity) == ("Checkout is down", 1)
        assert AlertGroup.objects.get().dedup_key.endswith('{alertname="CheckoutDown"}')
    finally:
        process.terminate()
        process.wait(timeout=10)
