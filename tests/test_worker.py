"""A real Celery worker takes the beat's heartbeat from the broker (filesystem or Redis)."""

import time

import pytest
from django.core.cache import cache

from config.health import HEARTBEAT_KEY
from incidents.tasks import record_heartbeat


@pytest.mark.django_db(transaction=True)
def test_heartbeat_crosses_the_broker_to_a_real_worker(worker):
    record_heartbeat.delay()
    deadline = time.monotonic() + 20
    while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get(HEARTBEAT_KEY) is not None
