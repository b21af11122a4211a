"""Django's caches, each with one cost removed that a board page paid on every call.

Redis (production): Django's client builds a new ``redis.Redis`` for every cache call;
building one sets up its table of some 170 response callbacks, which cost a board page
about as much as the Redis round trips themselves (profiled). The client is safe to
share: its connections come from the pool, as before, so an outage and reconnection
behave the same. It also sends a page's reads and writes together, in one pipeline
(``send_batch``, for ``config.cache_batch``).

Files (the embedded default): Django's file cache compresses every value with zlib.
A board is about 120 KB of HTML: compressing it took longer than rendering its changed
rows, and inflating it a fifth of a warm page's own time (measured). Values are stored
as plain pickles instead, under a suffix of their own, so files written compressed are
never read (and culling counts only these). Processes of code before and after the
change so share no entry: restart them together (``make run`` does). A value is read
from the whole file at once, not loaded from a buffered file piece by piece, and a file
cut short is a miss (Django's raises, unless the cut falls early in the expiry). A
write renames its file over the old one, which ext4 (``auto_da_alloc``) writes to disk
before the rename returns: about 300 µs a write against 130 µs for a new key on this
project's VM. Unlinking the old file first avoids that, but a reader meanwhile finds no
value, and an ``add`` restarts a counter or a version another process is moving.

Django's file cache also lists its directory before every write, and past
``MAX_ENTRIES`` deletes a random third of the files: the board's marker, catalogue and
open-boards note as likely as a board of a version nobody will ask for again (each
change writes new ones). Here the directory is looked at once every ``CULL_EVERY``
writes of a cache object (so it may exceed the limit by that many writes of each
process meanwhile), and a cull deletes unreadable and expired files, then those due
to expire soonest (for one timeout, the least recently written; the marker and the
permissions' version, kept without a timeout, last).
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import os
import pickle
import time
from typing import TYPE_CHECKING, Any

from django.core.cache.backends import filebased, redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT

from config.cache_batch import read_into

if TYPE_CHECKING:
    from config.cache_batch import Command

logger = logging.getLogger(__name__)


class _Client(redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


# KEYS[1] + 1, or ARGV[1] when that is more; a missing key counts as 0.
_INCR_AT_LEAST = """
local value = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if value < floor then
    redis.call('SET', KEYS[1], ARGV[1])
    return floor
end
return value
"""


class RedisCache(redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client

    def incr_at_least(self, key: str, floor: int) -> int:
        """The integer at ``key`` plus one, or ``floor`` when that is more, in one atomic
        step: a counter that must never go back, even to a value restored by Redis from
        an older snapshot, follows a clock given as ``floor``."""
        full = self.make_and_validate_key(key)
        client = self._cache.get_client(full, write=True)  # type: ignore[attr-defined]  # not in the stubs
        return int(client.eval(_INCR_AT_LEAST, 1, full, floor))

    def send_batch(self, commands: list[Command]) -> dict[str, Any]:
        """``config.cache_batch.Batch``'s commands in one pipeline: one round trip, on
        the primary (the server writes go to), reads too: a start reads what it stored.
        Not a transaction: a start's read may see a value another process stored since,
        which is as current."""
        client = self._cache.get_client(None, write=True)  # type: ignore[attr-defined]  # not in the stubs
        serializer = self._cache._serializer  # type: ignore[attr-defined]  # not in the stubs
        pipeline = client.pipeline(transaction=False)
        reads = []
        for op, key, value, timeout in commands:
            full = self.make_and_validate_key(key)
            if op == "set":
                expiry = self.get_backend_timeout(timeout)
                if expiry == 0:
                    pipeline.delete(full)
                else:
                    pipeline.set(full, serializer.dumps(value), ex=expiry)
                continue
            if op == "start":
                pipeline.set(full, serializer.dumps(value), nx=True)
            pipeline.get(full)
            reads.append((key, len(pipeline) - 1))
        results = pipeline.execute()
        found: dict[str, Any] = {}
        for key, index in reads:
            read_into(
                found, key, None if results[index] is None else serializer.loads(results[index])
            )
        return found


def _read(path: str) -> bytes:
    """The whole file, read at once: a pickle loaded from a buffered file is read in
    pieces, which took four times as long for a board (137 against 33 µs) and twice as
    long for a version (18 against 9 µs), measured."""
    fd = os.open(path, os.O_RDONLY)
    try:
        # One read takes the file as it was written; the next one finds its end.
        size = os.fstat(fd).st_size + 1
        chunks = []
        while chunk := os.read(fd, size):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


# What ``FileCache._load`` finds for a key without a value (None can be a value).
_MISSING = object()


class FileCache(filebased.FileBasedCache):
    cache_suffix = ".pickle"

    def __init__(self, dir: str, params: dict[str, Any]) -> None:
        super().__init__(dir, params)
        self._cull_every = max(int(params.get("OPTIONS", {}).get("CULL_EVERY", 32)), 1)
        # Writes of this cache object (Django gives each thread its own).
        self._writes = itertools.count()

    def _cull(self) -> None:
        if next(self._writes) % self._cull_every:
            return
        try:
            self._cull_now()
        except OSError:  # the directory itself is away: the write that follows says so
            logger.warning("Could not cull the file cache", exc_info=True)

    def _cull_now(self) -> None:
        paths = self._list_cache_files()  # type: ignore[attr-defined]  # not in the stubs
        if len(paths) < self._max_entries:
            return
        if not self._cull_frequency:
            self.clear()
            return
        ranked = []
        for path in paths:
            expiry = self._expiry(path)
            if expiry is not None:
                ranked.append((expiry, path))
        # Room for the write this cull makes way for, at least.
        kept = self._max_entries - max(self._max_entries // self._cull_frequency, 1)
        for _, path in sorted(ranked)[: max(len(ranked) - kept, 0)]:
            self._delete(path)  # type: ignore[attr-defined]  # not in the stubs

    def _expiry(self, path: str) -> float | None:
        """When the file at ``path`` expires, for a cull: soonest first, never (no
        timeout: the marker, the permissions' version) last, and a file that cannot be
        read (truncated by a crash, written by a newer pickle) before all. None when it
        is gone or has just expired (and is removed)."""
        try:
            with open(path, "rb") as f:
                expiry = pickle.load(f)
        except FileNotFoundError:  # removed by another process meanwhile
            return None
        except Exception:  # any unreadable file: noise for a cache, dropped first
            return -math.inf
        if expiry is None:
            return math.inf
        if expiry < time.time():
            self._delete(path)  # type: ignore[attr-defined]  # not in the stubs
            return None
        return float(expiry)

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        value = self._load(key, version)
        return default if value is _MISSING else value

    def has_key(self, key: str, version: int | None = None) -> bool:
        # Read as ``get`` reads (``add`` asks, for the small values it starts).
        return self._load(key, version) is not _MISSING

    def _load(self, key: str, version: int | None) -> Any:
        """The value stored under ``key``, or ``_MISSING``: none, expired or cut short
        (the last two removed)."""
        fname = self._key_to_file(key, version)  # type: ignore[attr-defined]  # not in the stubs
        try:
            content = _read(fname)
        except FileNotFoundError:
            return _MISSING
        stored = io.BytesIO(content)
        try:
            expiry = pickle.load(stored)
            if expiry is None or expiry >= time.time():
                return pickle.load(stored)
        except (EOFError, pickle.UnpicklingError):
            pass  # a file cut short (a full disk, a crash): a miss, as an expired one
        self._delete(fname)  # type: ignore[attr-defined]  # not in the stubs
        return _MISSING

    def _write_content(self, file: Any, timeout: Any, value: Any) -> None:
        expiry = self.get_backend_timeout(timeout)
        file.write(pickle.dumps(expiry, self.pickle_protocol))
        file.write(pickle.dumps(value, self.pickle_protocol))

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        # Written anew and renamed, as ``set`` does: Django's rewrites the file in place,
        # where a reader without the lock can meet half of it.
        missing = object()
        value = self.get(key, missing, version)
        if value is missing:
            return False
        self.set(key, value, timeout, version)
        return True
