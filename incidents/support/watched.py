"""The pages of one kind people have had open lately, so that a worker renders them
again after a change and the next viewer finds theirs ready (the support board, the
metrics page).

A page's shape is what makes one rendering differ from another (filters, visibility,
rights, zone, language); each is kept with the person it was last shown to, whom the
worker renders it for. Shapes are noted at most once a minute per shape and process,
the newest few kept in the cache for a quarter of an hour.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from typing import Any

from django.core.cache import cache

from config.cache_batch import Batch

logger = logging.getLogger(__name__)

KEPT = 8
SECONDS = 15 * 60
REFRESH_SECONDS = 60
# A queued warm-up's flag outlives a lost message by at most this long.
FLAG_SECONDS = 60
# After finding no page open, a process asks again after this long: a change (every
# alert that opens an incident) then costs no cache read while nobody looks. A page
# opened meanwhile in another process is computed by its viewer, as without a worker.
QUIET_SECONDS = 5.0

Shapes = dict[Any, tuple[float, int]]  # shape: (when noted, user pk)


class Watched:
    def __init__(self, name: str) -> None:
        self.key = f"{name}:shapes"
        # Set while a warm-up is queued and not started: one warm-up per burst of
        # changes. The warm-up deletes it before it reads anything, so a change after
        # that queues another.
        self.flag = f"{name}:warm-queued"
        # When this process last noted each shape.
        self._noted_at: dict[Hashable, float] = {}
        # Until when this process takes it that no page is open (``ask_warm_up``).
        self._quiet_until = 0.0

    def due(self, shape: Hashable) -> bool:
        """Whether to note ``shape`` now (``note``)."""
        return time.time() - self._noted_at.get(shape, 0.0) >= REFRESH_SECONDS

    def note(self, shapes: Shapes | None, shape: Hashable, user_pk: int, writes: Batch) -> None:
        """Note that ``shape`` is open, given the shapes as read from the cache (``None``
        if there were none), written when ``writes`` are sent. Racing writers may drop a
        shape (more likely the longer from the read to the write: a board's first page on
        a cold cache writes after its render): it is only not warmed then, until it is
        noted again within ``REFRESH_SECONDS``."""
        now = time.time()
        self._quiet_until = 0.0
        if len(self._noted_at) >= KEPT * 8:
            self._noted_at.clear()
        self._noted_at[shape] = now
        shapes = shapes or {}
        if now - shapes.get(shape, (0.0, 0))[0] < REFRESH_SECONDS:
            return
        shapes[shape] = (now, user_pk)
        recent = sorted(
            (item for item in shapes.items() if now - item[1][0] < SECONDS),
            key=lambda item: item[1][0],
            reverse=True,
        )[:KEPT]
        writes.set(self.key, dict(recent), SECONDS)

    def open_now(self, shape: Hashable, user_pk: int) -> None:
        """``note``, reading the shapes only when due."""
        if self.due(shape):
            writes = Batch()
            self.note(cache.get(self.key), shape, user_pk, writes)
            writes.send()

    def shapes(self) -> Shapes:
        return cache.get(self.key) or {}

    def ask_warm_up(self, task: Any) -> bool:
        """After a change: queue ``task`` unless one is queued and not started, while
        someone has a page open. Returns whether anyone has."""
        if time.monotonic() < self._quiet_until:
            return False
        if cache.get(self.key) is None:
            self._quiet_until = time.monotonic() + QUIET_SECONDS
            return False
        try:
            if cache.add(self.flag, True, timeout=FLAG_SECONDS):
                task.delay()
        except Exception:  # the broker only saves work: without it viewers render themselves
            # The flag stays: one attempt per FLAG_SECONDS while the broker is away.
            logger.warning("Could not queue a warm-up (%s)", task.name, exc_info=True)
        return True

    def warm_up_started(self) -> None:
        cache.delete(self.flag)

    def forget(self) -> None:
        """What this process noted (a process just started has noted nothing)."""
        self._noted_at.clear()
        self._quiet_until = 0.0
