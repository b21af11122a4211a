"""The embedded default's file cache (config/cache.py): Django's, storing plain pickles
instead of zlib streams, and behaving as Django's in everything else."""

import os
import pickle
import stat
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.cache import FileCache

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture
def files(tmp_path):
    return FileCache(str(tmp_path), {})


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Keys as the portal writes them: Django warns of any a memcached would refuse.
@given(
    key=st.text(
        st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789:-_"), min_size=1, max_size=40
    ),
    value=VALUES,
    timeout=st.sampled_from([None, 60]),
)
def test_what_is_set_is_read_back_and_stored_as_a_plain_pickle(files, key, value, timeout):
    files.set(key, value, timeout)
    assert files.get(key) == value
    assert files.get_many([key, "absent"]) == {key: value}
    with open(files._key_to_file(key), "rb") as f:
        expiry = pickle.load(f)
        assert pickle.load(f) == value  # no zlib stream
        assert f.read() == b""
    assert expiry is None if timeout is None else expiry > time.time()


def test_an_expired_value_is_gone_and_its_file_removed(files):
    files.set("board", "<tr>", 1)
    path = files._key_to_file("board")
    files.set("other", 1)
    with open(path, "r+b") as f:  # as if written two seconds ago
        f.write(pickle.dumps(time.time() - 1, files.pickle_protocol))
    assert files.get("board", "missing") == "missing"
    assert not os.path.exists(path)
    assert not files.has_key("board")
    assert not files.touch("board")
    assert files.get("other") == 1


def test_a_large_value_is_read_whole(files):
    board = os.urandom(3 * 2**20 + 17)
    files.set("board", board, 60)
    assert files.get("board") == board


@pytest.mark.parametrize("timeout", [60, None])
def test_a_file_cut_short_is_a_miss_and_removed(files, timeout):
    files.set("board", "<tr>" * 100, timeout)
    path = files._key_to_file("board")
    with open(path, "rb") as f:
        whole = f.read()
    # As a full disk or a crash might leave it: empty, or cut anywhere.
    for length in range(len(whole)):
        with open(path, "wb") as f:
            f.write(whole[:length])
        assert files.get("board", "missing") == "missing"
        assert not os.path.exists(path)
        with open(path, "wb") as f:
            f.write(whole[:length])
        assert not files.has_key("board")  # as ``add`` asks
        assert not os.path.exists(path)


def test_touch_keeps_the_value_under_a_new_expiry(files):
    files.set("shapes", {"a": (1.0, 2)}, 60)
    assert files.touch("shapes", None)
    assert files.get("shapes") == {"a": (1.0, 2)}
    with open(files._key_to_file("shapes"), "rb") as f:
        assert pickle.load(f) is None
        pickle.load(f)
        assert f.read() == b""  # the shorter expiry left nothing behind
    assert files.touch("shapes", 60)
    assert files.get("shapes") == {"a": (1.0, 2)}
    assert not files.touch("absent")


def test_add_incr_and_delete_behave_as_djangos(files):
    assert files.add("version", 5)
    assert not files.add("version", 7)
    assert files.incr("version") == 6
    files.delete("version")
    assert files.get("version") is None


def test_files_written_compressed_by_djangos_cache_are_never_read(files, tmp_path):
    from django.core.cache.backends.filebased import FileBasedCache

    FileBasedCache(str(tmp_path), {}).set("marker", "old")
    assert files.get("marker") is None
    files.set("marker", "new")
    assert FileBasedCache(str(tmp_path), {}).get("marker") == "old"
    assert files.get("marker") == "new"


def _culling(tmp_path, max_entries, every):
    return FileCache(
        str(tmp_path),
        {"OPTIONS": {"MAX_ENTRIES": max_entries, "CULL_FREQUENCY": 3, "CULL_EVERY": every}},
    )


def test_a_full_cache_drops_the_unreadable_and_expired_then_the_soonest_to_expire(tmp_path):
    files = _culling(tmp_path, max_entries=6, every=1)
    timeouts = {"k3": 100, "k0": 200, "k4": 300, "k1": 400, "k5": None, "k2": 0}  # 0: expired
    for key, timeout in timeouts.items():
        files.set(key, key, timeout)
    junk = tmp_path / f"junk{files.cache_suffix}"
    junk.write_bytes(b"\x80\x05truncated by a crash")

    files.set("version", 1)  # seven files: the cull keeps four, then writes

    kept = {key: files.get(key) for key in [*timeouts, "version"]}
    assert kept == {
        "k3": None,
        "k0": "k0",
        "k4": "k4",
        "k1": "k1",
        "k5": "k5",
        "k2": None,
        "version": 1,
    }
    assert not junk.exists()


def test_the_directory_is_looked_at_once_every_few_writes(tmp_path):
    files = _culling(tmp_path, max_entries=2, every=4)
    for n in range(4):  # the first write looks (an empty directory), the next three not
        files.set(f"board-{n}", n, 100 + n)
    assert len(files._list_cache_files()) == 4
    files.set("board-4", 4)  # looks: four files, one kept (room for this one), then it
    assert len(files._list_cache_files()) == 2
    assert files.get("board-3") == 3  # the last to expire before it


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    writes=st.lists(
        st.tuples(st.sampled_from("abcdefghij"), st.sampled_from([None, 0, 60])), max_size=40
    ),
    max_entries=st.integers(min_value=1, max_value=6),
)
def test_a_cache_never_holds_more_than_its_limit_and_keeps_the_last_write(
    tmp_path_factory, writes, max_entries
):
    files = _culling(tmp_path_factory.mktemp("cache"), max_entries=max_entries, every=1)
    for key, timeout in writes:
        files.set(key, key, timeout)
        assert len(files._list_cache_files()) <= max_entries
        assert files.get(key) == (None if timeout == 0 else key)


def test_a_write_replaces_the_value_and_leaves_one_file(files, tmp_path):
    files.set("board", "old", 60)
    files.set("board", "new", 60)
    assert files.get("board") == "new"
    assert [path.name for path in tmp_path.iterdir()] == [
        os.path.basename(files._key_to_file("board"))
    ]


def test_a_write_that_fails_keeps_the_old_value_and_no_temporary_file(files, tmp_path):
    files.set("board", "old", 60)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        files.set("board", lambda: "unpicklable", 60)
    assert files.get("board") == "old"
    assert len(list(tmp_path.iterdir())) == 1


def test_a_removed_directory_is_made_again(tmp_path):
    files = FileCache(str(tmp_path / "cache"), {})
    files.set("marker", 1)
    for path in (tmp_path / "cache").iterdir():
        path.unlink()
    (tmp_path / "cache").rmdir()
    files.set("marker", 2)
    assert files.get("marker") == 2
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
