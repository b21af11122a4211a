"""Permissions read in one query give what Django's two queries give."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
    if kind == "own and group":
        assert {"incidents.view_team", "incidents.change_team"} <= got


def test_has_perm_is_answered_from_one_query_per_request():
    user = fresh(UserFactory(group="support"))
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("incidents.label_case")
        assert not user.has_perm("incidents.view_restricted_incident")
    assert len(queries) == 1
