"""A real Celery worker takes the beat's heartbeat from the broker (filesystem or Redis)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache

from config.celery import app
from config.health import HEARTBEAT_KEY
from incidents.tasks import record_heartbeat


@pytest.fixture
def worker(settings, tmp_path):
    if not settings.REDIS_URL:
        # A private queue folder, so a developer's running worker never steals the task.
        queue = tmp_path / "queue"
        queue.mkdir()
        options = {"data_folder_in": str(queue), "data_folder_out": str(queue)}
        previous = dict(app.conf.broker_transport_options)
        app.conf.broker_transport_options = {**previous, **options}
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        yield
    if not settings.REDIS_URL:
        app.conf.broker_transport_options = previous


@pytest.mark.django_db(transaction=True)
def test_heartbeat_crosses_the_broker_to_a_real_worker(worker):
    record_heartbeat.delay()
    deadline = time.monotonic() + 20
    while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get(HEARTBEAT_KEY) is not None
