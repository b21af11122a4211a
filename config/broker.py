"""kombu's transports as Hotline uses them, each mended where it killed workers.

The embedded broker: kombu's filesystem transport, with messages written atomically.
kombu writes a message file in place, and a worker listing the folder at that moment
moves and reads a half-written file ("Unrecoverable error: JSONDecodeError" kills it).
Here each message is written under a name the reader ignores, then renamed into place:
a rename within one folder is atomic, so a reader sees whole messages or none.

Redis: when Redis goes away while a worker holds unacknowledged messages, kombu (5.7)
closes the channel by restoring them, and acknowledges the tasks that finish after it
reconnected on the channel they came from, both through the connection it lost: an
AttributeError ("'NoneType' object has no attribute 'hostname'") that the worker cannot
recover from, so it exits instead of reconnecting. Here both are skipped when that
connection is gone: the messages stay in Redis's unacked set and come back after the
visibility timeout, and the work never depended on them (the database holds every page
and outbox row, the sweeps hand them out again, and tasks are idempotent).
"""

import logging
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, redis, virtual
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "hotlinefs"
REDIS_ALIAS = "hotlineredis"

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    # kombu types its base channels' _put differently; this matches the filesystem one.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # The reader takes "<stamp>_<id>.<queue>.msg" only; ".part" keeps this one hidden.
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"


class RedisQoS(redis.QoS):
    def _connection_lost(self) -> bool:
        # kombu's Connection drops its transport's client as it closes.
        return getattr(self.channel.connection, "client", None) is None

    def restore_unacked_once(self, stderr: Any = None) -> None:
        if self._connection_lost():
            logger.warning(
                "Redis connection lost: %d unacknowledged message(s) come back after the "
                "visibility timeout",
                len(self._delivered),
            )
            return
        super().restore_unacked_once(stderr)

    # A task that ran through the outage finishes on the channel it came from, closed
    # since: its message is only forgotten here, Redis keeps it unacknowledged.
    def ack(self, delivery_tag: Any) -> None:
        if self._connection_lost():
            virtual.QoS.ack(self, delivery_tag)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._connection_lost():
            virtual.QoS.ack(self, delivery_tag)
            return
        super().reject(delivery_tag, requeue)


class RedisChannel(redis.Channel):
    QoS = RedisQoS


class RedisTransport(redis.Transport):
    Channel = RedisChannel


TRANSPORT_ALIASES[REDIS_ALIAS] = f"{__name__}:RedisTransport"


def redis_broker_url(url: str) -> str:
    """The broker URL for a ``redis://`` address: the same server through the transport
    above (TLS ``rediss://`` keeps kombu's own)."""
    return f"{REDIS_ALIAS}://{url.removeprefix('redis://')}" if url.startswith("redis://") else url
