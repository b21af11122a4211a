"""The SQLite test database is a file in WAL mode, so the real Celery worker's thread
and the test wait for each other's writes (the busy timeout) instead of failing.

Django's default SQLite test database is in memory with a shared cache, where a table
locked by another connection answers SQLITE_LOCKED at once: the busy timeout and WAL do
not apply there ("database table is locked" from the worker thread on a loaded machine).
"""

import threading
import time

import pytest
from django.db import connection, transaction

from incidents.models import Team

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="about the SQLite test database only"
)


@pytest.mark.django_db
def test_the_test_database_is_a_file_in_wal_mode():
    assert not connection.creation.is_in_memory_db(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_for_the_first_instead_of_failing():
    holding = threading.Event()

    def hold_the_write_lock():
        try:
            with transaction.atomic():
                Team.objects.create(name="First", slug="first")
                holding.set()
                # Long enough for the other writer to arrive while the lock is held.
                time.sleep(0.3)
        finally:
            connection.close()

    first = threading.Thread(target=hold_the_write_lock)
    first.start()
    assert holding.wait(timeout=10)

    try:
        with transaction.atomic():
            Team.objects.create(name="Second", slug="second")
    finally:
        first.join()

    assert set(Team.objects.values_list("slug", flat=True)) >= {"first", "second"}
