"""Permissions read with the signed-in person give what Django's two queries give."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.auth import OneQueryModelBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    # Without the per-request caches either backend leaves on the object.
    return type(user).objects.get(pk=user.pk)


@pytest.mark.parametrize("kind", ["own and group", "superuser", "inactive", "none"])
def test_one_query_gives_djangos_permissions(kind):
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
    expected = ModelBackend().get_all_permissions(fresh(user))
    with CaptureQueriesContext(connection) as queries:
        got = OneQueryModelBackend().get_all_permissions(fresh(user))
    assert got == expected
    assert len(queries) <= 2  # the user itself, then the permissions
    signed_in = OneQueryModelBackend().get_user(user.pk)
    if signed_in is not None:  # an inactive person is not signed in
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get_all_permissions() == expected
        assert len(queries) == (1 if kind == "superuser" else 0)
    if kind == "own and group":
        assert {"incidents.view_team", "incidents.change_team"} <= got


def test_has_perm_is_answered_from_one_query_per_request():
    user = fresh(UserFactory(group="support"))
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("incidents.label_case")
        assert not user.has_perm("incidents.view_restricted_incident")
    assert len(queries) == 1


PERMISSIONS = st.sets(st.integers(0, 40), max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    own=PERMISSIONS, first=PERMISSIONS, second=PERMISSIONS, member=st.sets(st.sampled_from([0, 1]))
)
def test_the_person_comes_with_exactly_djangos_permissions(own, first, second, member):
    """Whatever a person holds themselves and through which groups: loading them from
    the session gives Django's set, in the one query that loads them."""
    every = list(Permission.objects.order_by("pk"))
    user = UserFactory()
    user.user_permissions.set([every[i] for i in own])
    groups = [Group.objects.create(name=f"probe {n} {user.pk}") for n in range(2)]
    for group, held in zip(groups, (first, second), strict=True):
        group.permissions.set([every[i] for i in held])
    user.groups.set([groups[n] for n in member])

    with CaptureQueriesContext(connection) as queries:
        signed_in = OneQueryModelBackend().get_user(user.pk)
        got = signed_in.get_all_permissions()
    assert len(queries) == 1
    assert got == ModelBackend().get_all_permissions(fresh(user))


def test_a_permission_granted_counts_from_the_next_request(client_for, support):
    """Permissions are read afresh with the person on every request: nothing cached
    across requests to forget when an admin changes someone's groups."""
    client = client_for(support)
    assert "/incidents/my-cleanup-tasks/" not in client.get("/incidents/").content.decode()
    support.user_permissions.add(Permission.objects.get(codename="take_role"))
    assert "/incidents/my-cleanup-tasks/" in client.get("/incidents/").content.decode()
