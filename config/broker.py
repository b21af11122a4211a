"""kombu's transports as Hotline uses them, each mended where it killed workers.

The embedded broker: kombu's filesystem transport, with messages written atomically.
kombu writes a message file in place, and a worker listing the folder at that moment
moves and reads a half-written file ("Unrecoverable error: JSONDecodeError" kills it).
Here each message is written under a name the reader ignores, then renamed into place:
a rename within one folder is atomic, so a reader sees whole messages or none.

kombu's worker finds a message by listing the folder, and sleeps a second between
listings: every hop through the broker (a page is one or two) waited half a second on
average, a whole one at worst. Here a consumer waits on a named pipe of its own instead
(``wake/<pid>-<random>`` inside the queue folder), and a producer, after the rename,
writes one byte to each pipe there: the waiting worker lists the folder within
milliseconds. Nothing spins: an idle worker sleeps in ``select`` exactly as long as it
slept before, and the listing stays the fallback (a producer that cannot poke, a pipe
folder that is gone) at kombu's interval. A pipe whose consumer died has no reader, so
opening it fails (ENXIO) and the producer removes it.

Redis: when Redis goes away while a worker holds unacknowledged messages, kombu (5.7)
closes the channel by restoring them, and acknowledges the tasks that finish after it
reconnected on the channel they came from, both through the connection it lost: an
AttributeError ("'NoneType' object has no attribute 'hostname'") that the worker cannot
recover from, so it exits instead of reconnecting. Here both are skipped when that
connection is gone: the messages stay in Redis's unacked set and come back after the
visibility timeout, and the work never depended on them (the database holds every page
and outbox row, the sweeps hand them out again, and tasks are idempotent).
"""

import contextlib
import errno
import functools
import logging
import os
import select
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, redis, virtual
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "hotlinefs"
REDIS_ALIAS = "hotlineredis"

logger = logging.getLogger(__name__)


# The folder of wake-up pipes inside a queue folder (a name without a dot: the reader
# takes only "<stamp>_<id>.<queue>.msg").
WAKE_FOLDER = "wake"


def poke(folder: str) -> None:
    """Wake every consumer waiting on ``folder``: one byte into each pipe in its wake
    folder. Never raises: a consumer not woken finds the message at its next listing."""
    wake = os.path.join(folder, WAKE_FOLDER)
    try:
        names = os.listdir(wake)
    except OSError:
        return
    for name in names:
        if name.endswith(".part"):
            continue
        path = os.path.join(wake, name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno == errno.ENXIO:
                # No reader: its consumer died without removing it.
                with contextlib.suppress(OSError):
                    os.unlink(path)
            continue
        try:
            os.write(fd, b"\0")
        except OSError:
            # EAGAIN: the pipe is full of unread bytes, so its consumer wakes anyway.
            pass
        finally:
            os.close(fd)


class WakePipe:
    """A consumer's named pipe in a queue folder's wake folder, opened read-write: it
    has a writer as long as it lives, so ``select`` never sees an end of file (which
    would return at once, forever: a busy loop)."""

    def __init__(self, folder: str) -> None:
        wake = os.path.join(folder, WAKE_FOLDER)
        os.makedirs(wake, exist_ok=True)
        self.path = os.path.join(wake, f"{os.getpid()}-{uuid.uuid4().hex[:12]}")
        # Made and opened under a name producers pass by, then renamed into place: a
        # producer never meets it without a reader (and removes it as dead).
        partial = f"{self.path}.part"
        os.mkfifo(partial, 0o600)
        self.fd = os.open(partial, os.O_RDWR | os.O_NONBLOCK)
        os.replace(partial, self.path)

    def clear(self) -> None:
        """Forget the pokes so far (before listing the folder: a message renamed in
        before a poke that is cleared here is seen by that listing)."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 4096):
                pass

    def wait(self, seconds: float) -> bool:
        """Sleep until poked or ``seconds`` pass; whether it was poked."""
        readable, _, _ = select.select([self.fd], [], [], seconds)
        return bool(readable)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self.fd)


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
        # After the rename: a consumer woken now finds the whole message.
        poke(self.data_folder_out)


class Transport(filesystem.Transport):
    """The filesystem transport, its consumers woken by a poke instead of the next
    listing. ``wakeups`` and ``polls`` count how the waits between listings ended."""

    Channel = Channel

    wakeups = 0
    polls = 0

    @functools.cached_property
    def wake_pipe(self) -> WakePipe | None:
        # kombu's stubs type the client as None; it is the Connection.
        options = self.client.transport_options  # type: ignore[attr-defined]
        folder = options.get("data_folder_in", "data_in")
        if not hasattr(os, "mkfifo"):
            return None  # Windows has no named pipes: the listing alone, as before
        try:
            return WakePipe(folder)
        except OSError:
            # A folder that takes no pipe: the listing at kombu's interval still works.
            logger.warning("No wake-up pipe in %s: polling it", folder, exc_info=True)
            return None

    # The virtual transport's signature, which kombu's stubs type as the base's.
    def drain_events(  # type: ignore[override]
        self, connection: Any, timeout: float | None = None
    ) -> None:
        """kombu's loop, with the sleep between listings a wait on the wake pipe."""
        pipe = self.wake_pipe
        if pipe is None:
            super().drain_events(connection, timeout)
            return
        started, cycle = monotonic(), self.cycle
        assert cycle is not None  # set in __init__; kombu's stubs allow None
        while True:
            pipe.clear()
            try:
                cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            wait = self.polling_interval
            if timeout is not None:
                left = timeout - (monotonic() - started)
                if left <= 0:
                    raise TimeoutError()
                wait = min(wait, left)
            if pipe.wait(wait):
                self.wakeups += 1
            else:
                self.polls += 1

    def close_connection(self, connection: Any) -> None:
        super().close_connection(connection)
        # Only a pipe this transport made (cached_property keeps it in __dict__).
        pipe = self.__dict__.pop("wake_pipe", None)
        if pipe is not None:
            pipe.close()


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
