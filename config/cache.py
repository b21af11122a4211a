"""Django's Redis cache, with one client object per connection pool.

Django's client builds a new ``redis.Redis`` for every cache call; building one sets
up its table of some 170 response callbacks, which cost a board page about as much
as the Redis round trips themselves (profiled). The client is safe to share: its
connections come from the pool, as before, so an outage and reconnection behave the
same.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis


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
