"""A page's cache reads and writes sent together (config/cache_batch.py): the same as
sent one by one, on the embedded default's file cache and on whichever cache the tests
run with (Redis with ``REDIS_URL``), and in one round trip on Redis."""

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.cache_batch import Batch

KEYS = st.sampled_from(["batch:a", "batch:b", "batch:c"])
VALUES = st.one_of(
    st.integers(-(2**70), 2**70), st.text(max_size=20), st.lists(st.integers(), max_size=3)
)
COMMANDS = st.lists(
    st.one_of(
        st.tuples(st.just("get"), KEYS),
        st.tuples(st.just("start"), KEYS, VALUES),
        st.tuples(st.just("set"), KEYS, VALUES, st.sampled_from([None, 60, 0])),
    ),
    max_size=12,
)


@pytest.fixture(params=["files", "configured"])
def each_cache(request, settings, tmp_path):
    if request.param == "files":
        settings.CACHES = {
            "default": {"BACKEND": "config.cache.FileCache", "LOCATION": str(tmp_path)}
        }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(before=st.dictionaries(KEYS, VALUES), commands=COMMANDS)
def test_a_batch_reads_and_writes_as_its_commands_one_by_one(each_cache, before, commands):
    cache.delete_many(["batch:a", "batch:b", "batch:c"])
    cache.set_many(before, timeout=None)
    held = dict(before)
    expected = {}
    batch = Batch()
    for op, key, *rest in commands:
        getattr(batch, op)(key, *rest)
        if op == "set":
            value, timeout = rest
            if timeout == 0:  # Django's meaning: expired at once
                held.pop(key, None)
            else:
                held[key] = value
            continue
        if op == "start":
            held.setdefault(key, rest[0])
        if key in held:
            expected[key] = held[key]
        else:
            expected.pop(key, None)
    assert batch.send() == expected
    assert cache.get_many(["batch:a", "batch:b", "batch:c"]) == held
    assert batch.send() == {}  # sent once


def test_a_started_key_has_no_timeout_and_keeps_a_value_stored_first(each_cache):
    cache.delete_many(["batch:started", "batch:there"])
    cache.set("batch:there", "first", timeout=None)
    batch = Batch()
    batch.start("batch:started", 1)
    batch.start("batch:there", "second")
    assert batch.send() == {"batch:started": 1, "batch:there": "first"}
    assert cache.get("batch:there") == "first"
    if hasattr(cache, "send_batch"):
        full = cache.make_and_validate_key("batch:started")
        assert cache._cache.get_client(write=True).ttl(full) == -1  # no expiry


def test_on_redis_a_batch_is_one_round_trip(redis_sends):
    batch = Batch()
    batch.get("batch:a")
    batch.start("batch:b", 7)
    batch.set("batch:c", "written", 30)
    batch.set("batch:a", "gone", 0)
    batch.send()
    assert len(redis_sends) == 1
