"""What a process keeps beside the cache.

Under keys that name one content each (a version that only grows is part of the key):
nothing kept is ever stale, so nothing is invalidated. Or under a place whose content
changes, where a reader checks what the entry is (``metrics_months.MONTHS``: the
month's version; ``metrics_months.PLACES``: the months a span was merged from). Past
``limit`` entries the least recently used goes. A process just started keeps nothing,
as after ``clear``.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class Kept(Generic[Value]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: dict[Hashable, Value] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            value = self._values.pop(key, None)
            if value is not None:
                self._values[key] = value  # used now: the last to go
            return value

    def put(self, key: Hashable, value: Value) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._values[key] = value
            while len(self._values) > self.limit:
                del self._values[next(iter(self._values))]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
