"""Permissions kept in the cache (config/auth.py) are Django's, and are forgotten as
soon as a grant changes, whichever way it changes."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import auth
from config.auth import CachedPermissionsBackend
from tests.factories import UserFactory, make_incident

pytestmark = pytest.mark.django_db


def fresh(user):
    # Without the per-request caches either backend leaves on the object.
    return type(user).objects.get(pk=user.pk)


def kept(user):
    return CachedPermissionsBackend().get_all_permissions(fresh(user))


@pytest.mark.parametrize("kind", ["own and group", "superuser", "inactive", "none"])
def test_kept_permissions_are_djangos(kind):
    user = UserFactory(group="support")
    if kind == "own and group":
        user.user_permissions.add(Permission.objects.get(codename="view_team"))
        extra = Group.objects.create(name="extra")
        extra.permissions.add(Permission.objects.get(codename="change_team"))
        user.groups.add(extra)
    elif kind == "superuser":
        user.is_superuser = True
        user.save()
    elif kind == "inactive":
        user.is_active = False
        user.save()
    else:
        user.groups.clear()
    # Someone else's grants, own and through a group of theirs, are not this person's.
    other = UserFactory(group="incident manager")
    other.user_permissions.add(Permission.objects.get(codename="delete_team"))
    expected = ModelBackend().get_all_permissions(fresh(user))
    assert kept(user) == expected
    again = fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert CachedPermissionsBackend().get_all_permissions(again) == expected
    assert len(queries) == 0  # kept
    if kind == "own and group":
        assert {"incidents.view_team", "incidents.change_team"} <= expected
    if kind != "superuser":
        assert "incidents.delete_team" not in kept(user)
        assert kept(other) == ModelBackend().get_all_permissions(fresh(other))


def test_has_perm_reads_the_cache_once_per_request():
    user = fresh(UserFactory(group="support"))
    kept(user)
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("incidents.label_case")
        assert not user.has_perm("incidents.view_restricted_incident")
    assert len(queries) == 0


PERMISSIONS = st.sets(st.integers(0, 40), max_size=6)
CHANGES = st.lists(
    st.tuples(st.sampled_from(["own", "group 0", "group 1", "member"]), st.integers(0, 40)),
    max_size=6,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(own=PERMISSIONS, first=PERMISSIONS, changes=CHANGES)
def test_after_any_change_of_grants_the_kept_set_is_djangos(
    django_capture_on_commit_callbacks, own, first, changes
):
    """Whatever is granted or taken back, to the person or a group of theirs, or the
    person put in or out of a group: the next request reads Django's set."""
    every = list(Permission.objects.order_by("pk"))
    user = UserFactory()
    groups = [Group.objects.create(name=f"probe {n} {user.pk}") for n in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        user.user_permissions.set([every[i] for i in own])
        groups[0].permissions.set([every[i] for i in first])
        user.groups.set(groups[:1])
    assert kept(user) == ModelBackend().get_all_permissions(fresh(user))
    for where, index in changes:
        with django_capture_on_commit_callbacks(execute=True):
            if where == "own":
                toggle(user.user_permissions, every[index])
            elif where == "member":
                toggle(user.groups, groups[index % 2])
            else:
                toggle(groups[int(where[-1])].permissions, every[index])
        assert kept(user) == ModelBackend().get_all_permissions(fresh(user))


def toggle(related, item):
    if related.filter(pk=item.pk).exists():
        related.remove(item)
    else:
        related.add(item)


def test_a_permission_granted_counts_from_the_next_request(
    client_for, support, django_capture_on_commit_callbacks
):
    client = client_for(support)
    assert "/incidents/my-cleanup-tasks/" not in client.get("/incidents/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        support.user_permissions.add(Permission.objects.get(codename="take_role"))
    assert "/incidents/my-cleanup-tasks/" in client.get("/incidents/").content.decode()


def test_a_lost_version_never_revives_an_old_set(django_capture_on_commit_callbacks):
    user = UserFactory(group="support")
    before = kept(user)
    cache.delete(auth.VERSION_KEY)  # evicted, or a file cache culled
    with django_capture_on_commit_callbacks(execute=True):
        user.user_permissions.add(Permission.objects.get(codename="view_team"))
    assert kept(user) == before | {"incidents.view_team"}


def test_without_the_cache_permissions_come_from_the_database(monkeypatch):
    user = UserFactory(group="support")

    class Down:
        def get_many(self, keys):
            raise ConnectionError("cache down")

    monkeypatch.setattr(auth, "cache", Down())
    assert kept(user) == ModelBackend().get_all_permissions(fresh(user))


def test_the_dashboard_reads_the_permissions_with_its_own_keys(client_for, support, monkeypatch):
    """One cache round trip less: the page's first read brings the permissions too."""
    client = client_for(support)
    client.get("/support/")
    asked = []
    backend = caches["default"]
    get_many = backend.get_many
    monkeypatch.setattr(backend, "get_many", lambda keys: asked.append(keys) or get_many(keys))
    assert client.get("/support/").status_code == 200
    with_permissions = [keys for keys in asked if auth.VERSION_KEY in keys]
    assert len(with_permissions) == 1
    assert "support-board:version" in with_permissions[0]


def test_a_set_read_along_counts_only_under_the_current_version():
    user = UserFactory(group="support")
    kept(user)
    again = fresh(user)
    auth.take(again, cache.get_many(auth.cache_keys(again)))
    assert again._perm_cache == kept(user)
    auth.changed()
    moved = fresh(user)
    auth.take(moved, cache.get_many(auth.cache_keys(moved)))
    assert not hasattr(moved, "_perm_cache")
    assert auth.cache_keys(again) == []  # kept for this request already


def test_a_permission_taken_back_counts_on_the_dashboards_next_page(
    client_for, support, django_capture_on_commit_callbacks
):
    make_incident(by=support)
    client = client_for(support)
    assert 'class="label-inline"' in client.get("/support/").content.decode()
    viewer = Group.objects.create(name="viewer")
    viewer.permissions.set(Permission.objects.filter(codename="view_incident"))
    with django_capture_on_commit_callbacks(execute=True):
        support.groups.set([viewer])
    assert 'class="label-inline"' not in client.get("/support/").content.decode()
