"""The Redis cache backend (config/cache.py): one client object per pool, which
reconnects like Django's own when its connection is cut."""

import os

import pytest
from django.core.cache import cache

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
