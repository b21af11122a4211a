"""The embedded broker wakes its consumers: a message is taken moments after it is
written, not at the next listing of the folder, and a consumer nobody pokes still finds
its messages by listing (config/broker.py)."""

import os
import threading
import time

import pytest
from django.core.cache import cache
from kombu import Connection

from config import broker
from config.celery import app as celery_app
from config.health import HEARTBEAT_KEY
from incidents.tasks import record_heartbeat
from tests.conftest import start_test_worker, wait_for

# Long enough that a message found by listing would miss every bound below.
SLOW_LISTING = 30.0


def options(folder, polling_interval):
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "polling_interval": polling_interval,
    }


def put_later(folder, payload, seconds, *, transport="hotlinefs://"):
    def put():
        time.sleep(seconds)
        with Connection(transport, transport_options=options(folder, 1.0)) as producer:
            queue = producer.SimpleQueue("probe")
            queue.put(payload)
            queue.close()

    thread = threading.Thread(target=put)
    thread.start()
    return thread


def test_a_waiting_consumer_is_woken_by_the_message_not_by_its_listing(tmp_path):
    with Connection("hotlinefs://", transport_options=options(tmp_path, SLOW_LISTING)) as conn:
        queue = conn.SimpleQueue("probe")
        producer = put_later(tmp_path, {"n": 1}, 0.3)
        started = time.monotonic()

        message = queue.get(timeout=SLOW_LISTING / 2)

        waited = time.monotonic() - started
        producer.join()
        assert message.payload == {"n": 1}
        message.ack()
        # Listing again only after SLOW_LISTING, it would have raised Empty instead.
        assert waited < 5
        assert (conn.transport.wakeups, conn.transport.polls) == (1, 0)
        queue.close()


def test_an_idle_consumer_sleeps_between_listings_after_a_poke(tmp_path):
    # Once a producer has opened and closed the pipe, a reader opened only for reading
    # would see an end of file forever: select returns at once, a busy loop.
    with Connection("hotlinefs://", transport_options=options(tmp_path, 0.25)) as conn:
        queue = conn.SimpleQueue("probe")
        put_later(tmp_path, {"n": 1}, 0).join()
        queue.get(timeout=5).ack()
        transport = conn.transport
        woken = transport.wakeups

        with pytest.raises(queue.Empty):
            queue.get(timeout=1.0)

        assert transport.wakeups == woken
        assert 2 <= transport.polls <= 5
        queue.close()


def test_a_consumer_nobody_pokes_finds_the_message_by_listing(tmp_path):
    # kombu's own transport writes the same folder without poking: the producer side of
    # the wake-up is missing, the listing still delivers.
    with Connection("hotlinefs://", transport_options=options(tmp_path, 0.2)) as conn:
        queue = conn.SimpleQueue("probe")
        producer = put_later(tmp_path, {"n": 2}, 0.3, transport="filesystem://")

        message = queue.get(timeout=10)

        producer.join()
        assert message.payload == {"n": 2}
        message.ack()
        assert conn.transport.polls >= 1
        queue.close()


def test_a_consumer_whose_wake_folder_is_removed_still_receives(tmp_path):
    with Connection("hotlinefs://", transport_options=options(tmp_path, 0.2)) as conn:
        queue = conn.SimpleQueue("probe")
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.1)  # the consumer has made its pipe
        for name in os.listdir(tmp_path / broker.WAKE_FOLDER):
            os.unlink(tmp_path / broker.WAKE_FOLDER / name)
        os.rmdir(tmp_path / broker.WAKE_FOLDER)
        producer = put_later(tmp_path, {"n": 3}, 0.1)

        assert queue.get(timeout=10).payload == {"n": 3}

        producer.join()
        queue.close()


def test_a_pipe_left_by_a_dead_consumer_is_removed_by_the_next_poke(tmp_path):
    wake = tmp_path / broker.WAKE_FOLDER
    wake.mkdir()
    os.mkfifo(wake / "12345-dead")
    (wake / "67890-starting.part").touch()  # one still being made is passed by

    broker.poke(str(tmp_path))

    assert sorted(os.listdir(wake)) == ["67890-starting.part"]


def test_a_poke_without_any_consumer_does_nothing(tmp_path):
    broker.poke(str(tmp_path))
    broker.poke(str(tmp_path / "missing"))
    assert list(tmp_path.iterdir()) == []


def test_a_closed_consumer_takes_its_pipe_away(tmp_path):
    with Connection("hotlinefs://", transport_options=options(tmp_path, 0.1)) as conn:
        queue = conn.SimpleQueue("probe")
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.1)
        assert len(os.listdir(tmp_path / broker.WAKE_FOLDER)) == 1
        queue.close()
    assert os.listdir(tmp_path / broker.WAKE_FOLDER) == []


@pytest.mark.skipif(
    bool(os.environ.get("REDIS_URL")), reason="the embedded broker: runs without REDIS_URL"
)
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_takes_a_task_well_before_its_listing_would(private_broker):
    previous = dict(celery_app.conf.broker_transport_options)
    celery_app.conf.broker_transport_options = {**previous, "polling_interval": SLOW_LISTING}
    try:
        with start_test_worker() as worker:
            transport = worker.consumer.connection.transport
            time.sleep(0.5)  # the worker is waiting
            woken = transport.wakeups
            cache.delete(HEARTBEAT_KEY)
            started = time.monotonic()

            record_heartbeat.delay()

            assert wait_for(lambda: cache.get(HEARTBEAT_KEY) is not None, seconds=10)
            taken = time.monotonic() - started
            assert transport.wakeups > woken
            # kombu's worker listed the folder once a second: this would be luck there.
            assert taken < 0.5
    finally:
        celery_app.conf.broker_transport_options = previous
