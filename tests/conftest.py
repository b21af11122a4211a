"""People named by role, an HTMX client and helpers every test folder shares."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Tests make people by the dozen; a slow password hash only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def support(db):
    return UserFactory(username="sam", group="support")


@pytest.fixture
def responder(db):
    return UserFactory(username="rui", group="responder")


@pytest.fixture
def manager(db):
    return UserFactory(username="maya", group="incident manager")


@pytest.fixture
def other_manager(db):
    return UserFactory(username="imani", group="incident manager")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada", group="admin", is_staff=True)


@pytest.fixture
def security(db):
    return UserFactory(username="sofia", group="security")


@pytest.fixture
def outsider(db):
    """Signed in, but in no group: may see nothing."""
    return UserFactory(username="otto")


@pytest.fixture
def client_for():
    """A logged-in test client for a user: ``client_for(manager).get(...)``."""

    def make(user, **defaults):
        client = Client(**defaults)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def htmx_for(client_for):
    """Like ``client_for``, sending the headers htmx sends."""

    def make(user):
        return client_for(user, HTTP_HX_REQUEST="true")

    return make


@pytest.fixture
def api_for():
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs real concurrent transactions: runs on PostgreSQL (set DATABASE_URL)",
)
