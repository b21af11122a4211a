"""On Redis a page never waits behind a warm-up (support boards, metrics pages):
warm-ups go out at the broker's lowest priority, every other task at its highest
(config/settings.py)."""

import os

import pytest

from config.celery import app as celery_app
from incidents.support.tasks import warm_metrics_pages, warm_support_boards
from incidents.tasks import record_heartbeat

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="task priorities are Redis's"
)


def test_a_worker_takes_every_other_task_before_the_warm_ups(private_broker):
    with celery_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("celery")
        queue.clear()
        try:
            warm_support_boards.delay()
            warm_metrics_pages.delay()
            record_heartbeat.delay()
            taken = []
            for _ in range(3):
                message = queue.get(block=True, timeout=5)
                taken.append(message.headers["task"])
                message.ack()
        finally:
            queue.clear()
            queue.close()
    assert taken == [
        "incidents.tasks.record_heartbeat",
        "incidents.support.tasks.warm_support_boards",
        "incidents.support.tasks.warm_metrics_pages",
    ]
