"""Outages of the database and the cache: ``/healthz`` names the failing dependency, and
every page and API call answers 503 with ``Retry-After`` and a reason, not a bare 500.

Real faults, no mocks: the cache is a Redis where none listens, the database connection
points where no database answers (a folder that does not exist on SQLite, a closed port
on PostgreSQL).
"""

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from config.outage import outage_of
from tests.factories import make_incident

REASONS = {
    "database": "The database is not answering.",
    "cache": "The cache is not answering.",
}


@pytest.fixture
def dead_cache(settings):
    """The cache pointed at a closed port; put back before the suite's cache fixture
    clears it."""
    saved = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    yield
    settings.CACHES = saved


@pytest.fixture
def dead_database(transactional_db, tmp_path):
    """The default connection pointed where no database answers. Yields what brings it
    back (called again at teardown).

    Transactional (mark the test ``transaction=True`` when it makes people first): the
    test's own transaction cannot outlive a closed connection."""
    saved = dict(connection.settings_dict)

    def back():
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = str(tmp_path / "no such folder" / "db.sqlite3")
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    yield back
    back()


def signed_in(client_for, user):
    # The session is read before any view runs, so Django reports the error (the test
    # client would raise it again, a server never does).
    return client_for(user, raise_request_exception=False)


def assert_outage_page(response, dependency):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert REASONS[dependency] in body
    assert "css/app.css" in body  # extends base.html
    assert 'class="topnav"' not in body  # no navigation: it would read the database


def assert_outage_json(response, dependency):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.json()
    assert REASONS[dependency] in body["detail"]
    assert body["unavailable"] == dependency


# /healthz --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("dead_cache")
def test_healthz_names_the_cache_when_redis_is_down():
    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.json()
    assert body["status"] == "unavailable"
    assert "cache" in body["failing"]
    assert "database" not in body["failing"]
    assert body["checks"]["cache"]["ok"] is False
    assert "ConnectionError" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["worker_heartbeat"] is None


@pytest.mark.usefixtures("dead_database")
def test_healthz_names_the_database_when_it_is_down():
    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["cache"]["ok"] is True


@pytest.mark.django_db
def test_healthz_lists_every_dependency_when_all_are_up():
    body = Client().get("/healthz").json()

    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "cache", "broker"}


# The database down -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pages_answer_503_with_the_reason_while_the_database_is_down(request, client_for, manager):
    client = signed_in(client_for, manager)
    request.getfixturevalue("dead_database")

    for path in ("/incidents/", "/support/metrics/", "/incidents/HOT-1/"):
        assert_outage_page(client.get(path), "database")


@pytest.mark.django_db(transaction=True)
def test_api_answers_503_json_while_the_database_is_down(request, api_for, client_for, manager):
    token_client = api_for(manager)
    session_client = signed_in(client_for, manager)
    request.getfixturevalue("dead_database")

    assert_outage_json(token_client.get("/api/incidents/"), "database")
    assert_outage_json(session_client.get("/api/incidents/"), "database")
    assert_outage_json(
        token_client.post("/api/incidents/", {"summary": "x"}, format="json"), "database"
    )


def test_a_signed_out_person_gets_the_page_too_while_the_database_is_down(dead_database):
    response = Client().post("/accounts/login/", {"username": "maya", "password": "pw"})

    assert_outage_page(response, "database")


@pytest.mark.django_db(transaction=True)
def test_pages_work_again_when_the_database_is_back(request, client_for, manager):
    client = signed_in(client_for, manager)
    database_back = request.getfixturevalue("dead_database")
    assert client.get("/incidents/").status_code == 503

    database_back()

    assert client.get("/incidents/").status_code == 200
    assert Client().get("/healthz").status_code == 200


# The cache down --------------------------------------------------------------------------


@pytest.mark.usefixtures("dead_cache")
def test_the_support_dashboard_answers_503_naming_the_cache(client_for, support):
    make_incident(by=support)

    assert_outage_page(signed_in(client_for, support).get("/support/"), "cache")


@pytest.mark.usefixtures("dead_cache")
def test_a_client_asking_for_json_gets_json_naming_the_cache(client_for, support):
    client = signed_in(client_for, support)

    assert_outage_json(client.get("/support/", HTTP_ACCEPT="application/json"), "cache")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("dead_cache")
def test_the_outage_page_renders_with_the_database_and_the_cache_down(request, client_for, support):
    client = signed_in(client_for, support)
    request.getfixturevalue("dead_database")

    assert_outage_page(client.get("/support/"), "database")


# What is not an outage -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "dependency"),
    [
        (OperationalError("unable to open database file"), "database"),
        (OperationalError("database is locked"), "database"),
        (InterfaceError("connection already closed"), "database"),
        (RedisConnectionError("Error 111 connecting to 127.0.0.1:1."), "cache"),
        (OperationalError("no such table: incidents_incident"), None),
        (OperationalError("no such column: incidents_incident.involvement"), None),
        (ValueError("a bug"), None),
    ],
)
def test_only_an_unreachable_dependency_is_an_outage(error, dependency):
    found = outage_of(error)

    assert (found[0] if found else None) == dependency
