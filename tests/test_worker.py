"""A real Celery worker takes the beat's heartbeat from the broker (filesystem or Redis)."""

import pytest
from django.core.cache import cache
from kombu import Connection

from config import broker
from config.health import HEARTBEAT_KEY
from incidents.tasks import record_heartbeat
from tests.conftest import wait_for


@pytest.mark.django_db(transaction=True)
def test_heartbeat_crosses_the_broker_to_a_real_worker(worker):
    record_heartbeat.delay()
    assert wait_for(lambda: cache.get(HEARTBEAT_KEY) is not None)


def test_embedded_broker_never_hands_out_a_half_written_message(tmp_path):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection("hotlinefs://", transport_options=options) as connection:
        queue = connection.SimpleQueue("probe")
        # What a writer leaves while still writing: the reader must pass it by.
        (tmp_path / "1_half.probe.msg.part").write_bytes(b'{"trunc')
        queue.put({"n": 1})

        assert queue.get(timeout=2).payload == {"n": 1}
        left = [path.name for path in tmp_path.iterdir() if path.name != broker.WAKE_FOLDER]
        assert left == ["1_half.probe.msg.part"]
        queue.close()
