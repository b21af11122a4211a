"""People named by role, an HTMX client and helpers every test folder shares."""

import functools
import os
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError
from django.test import Client
from django.utils import timezone, translation

from config.catalogues import compile_catalogues
from config.celery import app as celery_app
from incidents.support import board, metrics_months, metrics_pages
from tests.factories import UserFactory
from tests.receivers import SmtpReceiver

PROJECT_APPS = {"incidents", "oncall", "comms"}


@functools.cache
def _data_migrations():
    """Every RunPython of the project's migrations, in order, with the final model state."""
    loader = MigrationLoader(connection)
    plan = []
    for leaf in loader.graph.leaf_nodes():
        plan += [node for node in loader.graph.forwards_plan(leaf) if node not in plan]
    codes = [
        operation.code
        for app_label, name in plan
        if app_label in PROJECT_APPS
        for operation in loader.graph.nodes[(app_label, name)].operations
        if isinstance(operation, RunPython)
    ]
    return loader.project_state().apps, codes


def _restore_migration_data() -> None:
    """Put back what data migrations made (groups, the Unknown service, the IMOC): the
    flush after a transactional test empties every table, and serialized_rollback does
    not bring the groups' permissions back on SQLite. The data migrations are idempotent.
    They get a schema editor, as under ``migrate``: some ask it the database's vendor."""
    state_apps, codes = _data_migrations()
    with connection.schema_editor() as schema_editor:
        for code in codes:
            code(state_apps, schema_editor)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Every lock is taken inside the code's own ``transaction.atomic``, as in production.

    A test's wrapping transaction would hide a ``select_for_update`` left outside one
    (it answered 500 in production while the suite was green), so while the test body
    runs a lock needs an atomic block beyond those the test itself opened. Other
    threads (the live server, a worker) open none of their own before the code does."""
    uses_db = {"db", "transactional_db", "django_db_reset_sequences"} & set(item.fixturenames)
    if item.get_closest_marker("django_db") is None and not uses_db:
        return (yield)
    main = threading.current_thread()
    opened_by_test = {alias: len(connections[alias].atomic_blocks) for alias in connections}
    execute_sql = SQLCompiler.execute_sql

    def guarded(compiler, *args, **kwargs):
        ours = opened_by_test.get(compiler.using, 0) if threading.current_thread() is main else 0
        if compiler.query.select_for_update and len(compiler.connection.atomic_blocks) <= ours:
            raise TransactionManagementError(
                "select_for_update outside the code's own transaction.atomic: "
                "it fails in production, where no test transaction wraps it."
            )
        return execute_sql(compiler, *args, **kwargs)

    SQLCompiler.execute_sql = guarded
    try:
        return (yield)
    finally:
        SQLCompiler.execute_sql = execute_sql


@pytest.fixture(autouse=True)
def _migration_data(request):
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        _restore_migration_data()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Tests make people by the dozen; a slow password hash only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    if not settings.REDIS_URL:
        # The embedded file cache under var/ is shared with a developer's server and
        # with other test runs, whose clear() would wipe this run's keys mid-test.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    # What a process keeps beside the cache, noted or read from it.
    board.forget()
    metrics_pages.PAGES.forget()
    metrics_months.forget()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _portal_language_after():
    """A request leaves its person's language and time zone active in the thread (a
    server's next request sets its own); the next test starts in the portal's own
    instead of inheriting them."""
    yield
    translation.deactivate()
    timezone.deactivate()


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


@pytest.fixture
def one_minute(time_machine):
    """The support board's marker moves every minute (``dashboard._marker``), and a page
    after it reads the board again: a test that counts a page's reads starts at the
    first second of a minute, so the pages it compares fall in the same one."""
    time_machine.move_to(timezone.now().replace(second=0, microsecond=0))


@pytest.fixture
def redis_sends(monkeypatch, one_minute):
    """What is sent to Redis, one entry a round trip (a pipeline's commands go in one);
    skips the test without Redis. Connections are made by the time a test runs (the
    cache is cleared before each), so their handshakes are not counted."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs Redis")
    from redis.connection import Connection

    sent = []
    send = Connection.send_packed_command

    def counted(self, command, *args, **kwargs):
        sent.append(command)
        return send(self, command, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_packed_command", counted)
    return sent


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port, with Django's e-mail pointed at it."""
    with SmtpReceiver() as receiver:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = receiver.port
        settings.EMAIL_USE_TLS = False
        yield receiver


@pytest.fixture
def private_broker(settings, tmp_path):
    """Tasks sent in this test go to a queue of its own (a folder; on Redis the test
    database's broker), so a developer's running worker never takes them."""
    previous = dict(celery_app.conf.broker_transport_options)
    if not settings.REDIS_URL:
        queue = tmp_path / "queue"
        queue.mkdir()
        options = {"data_folder_in": str(queue), "data_folder_out": str(queue)}
        celery_app.conf.broker_transport_options = {**previous, **options}
    fresh_producers()
    yield
    celery_app.conf.broker_transport_options = previous
    fresh_producers()


def wait_for(condition, seconds=20.0):
    """Poll until ``condition()`` holds or time runs out (for work a real worker does)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def start_test_worker():
    """A real Celery worker in a thread: ``with start_test_worker(): ...``."""
    return start_worker(celery_app, perform_ping_check=False, pool="solo", shutdown_timeout=10)


@pytest.fixture
def worker(private_broker):
    """A real worker for the whole test. Use with ``django_db(transaction=True)``: the
    worker has its own database connection and must see committed rows."""
    with start_test_worker():
        yield


def fresh_producers():
    """Celery keeps producer connections made with the transport options of their first
    use: without a reset a task would go to an earlier test's private queue folder."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def pytest_sessionstart(session):
    # Pages in Korean need the compiled catalogue, however pytest was started.
    compile_catalogues()


def pytest_sessionfinish(session, exitstatus):
    """Remove what the SQLite test database file leaves (config/settings.py names one per
    test process): Django deletes the file, not its WAL files, which a connection still
    open in another thread (a worker's) keeps."""
    from pathlib import Path

    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and settings.DATABASES["default"]["ENGINE"] == "config.sqlite":
        for leftover in Path(name).parent.glob(f"{Path(name).name}*"):
            leftover.unlink(missing_ok=True)
