"""A time limit for work on the main thread that waits on the network, which has no
timeout of its own: a database or cache that accepts a connection and never answers
holds a read forever (gunicorn's worker timeout starts only once the worker serves)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class TimeLimitReached(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TimeLimitReached`` in the block once ``seconds`` have passed. SIGALRM, so
    the main thread only (``signal`` refuses any other), and one limit at a time: a
    blocked socket read is interrupted and the exception raised there."""

    def reached(_signal: int, _frame: FrameType | None) -> None:
        raise TimeLimitReached(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, reached)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
