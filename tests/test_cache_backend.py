"""The Redis cache backend (config/cache.py): one client object per pool, which
reconnects like Django's own when its connection is cut, and a counter that never
goes back."""

import os

import pytest
from django.core.cache import cache

from incidents.support import dashboard

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis")


def test_calls_share_one_client_object():
    client = cache._cache.get_client(write=True)
    cache.set("probe", 1)
    assert cache.get("probe") == 1
    assert cache._cache.get_client(write=True) is client


def test_a_connection_cut_by_redis_is_made_again():
    cache.set("probe", "before")
    client = cache._cache.get_client(write=True)
    # Redis drops the connection the shared client holds (a restart, a timeout).
    client.client_kill_filter(_id=client.client_id())
    cache.set("probe", "after")
    assert cache.get("probe") == "after"


def test_a_counter_follows_its_floor_past_a_value_restored_from_a_snapshot():
    cache.set("counter", 5, timeout=None)  # what an older snapshot brought back
    assert cache.incr_at_least("counter", 1000) == 1000
    assert cache.incr_at_least("counter", 10) == 1001
    assert cache.get("counter") == 1001
    cache.delete("counter")
    assert cache.incr_at_least("counter", 7) == 7


def test_the_boards_version_never_comes_back_after_a_restore():
    first = dashboard._next_version()
    used = [dashboard._next_version() for _ in range(3)]
    cache.set(dashboard.VERSION_KEY, first, timeout=None)  # Redis restored an old snapshot
    assert dashboard._next_version() > max(used)
