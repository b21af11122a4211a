"""The open pages a worker renders again after a change (``watched.Watched``): a process
that found none open reads the cache again only after a while, unless it notes one."""

import time
from types import SimpleNamespace

from incidents.support import watched
from incidents.support.watched import Watched


def test_a_process_that_found_no_page_open_asks_the_cache_again_after_a_while(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(
        watched, "time", SimpleNamespace(time=time.time, monotonic=lambda: clock[0])
    )
    queued = []
    task = SimpleNamespace(name="warm", delay=lambda: queued.append(True))
    pages, elsewhere = Watched("test-pages"), Watched("test-pages")
    assert pages.ask_warm_up(task) is False
    # Opened in another process: this one does not read the cache for a while.
    elsewhere.open_now(("shape",), 1)
    assert pages.ask_warm_up(task) is False
    clock[0] += watched.QUIET_SECONDS
    assert pages.ask_warm_up(task) is True
    assert queued == [True]
    # One warm-up queued until it starts.
    assert pages.ask_warm_up(task) is True
    assert queued == [True]
    pages.warm_up_started()
    assert pages.ask_warm_up(task) is True
    assert queued == [True, True]


def test_a_page_opened_in_the_process_counts_at_once(monkeypatch):
    queued = []
    task = SimpleNamespace(name="warm", delay=lambda: queued.append(True))
    pages = Watched("test-pages")
    assert pages.ask_warm_up(task) is False
    pages.open_now(("shape",), 1)
    assert pages.ask_warm_up(task) is True
    assert queued == [True]
