"""config/postgresql: Django's backend with psycopg's C timestamp loader. The times it
reads are the times written, aware and in UTC, through the ORM and raw SQL alike."""

import os
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Incident
from tests.factories import involve, make_incident
from tests.incidents.support.test_board_rows import _board_rows, _orm_rows

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL"), reason="the PostgreSQL backend: set DATABASE_URL"
    ),
    pytest.mark.django_db,
]


def test_the_portal_runs_on_it():
    assert connection.vendor == "postgresql"
    assert type(connections["default"]).__module__ == "config.postgresql.base"


def _round_trip():
    # The connection is config.postgresql's wrapper here (test_the_portal_runs_on_it).
    from config.postgresql.base import DatabaseWrapper

    return cast(DatabaseWrapper, connection).round_trip()


# Outside a test's transaction: the board runs its queries in autocommit.
@pytest.mark.django_db(transaction=True)
def test_statements_sent_in_one_round_trip_are_each_answered_and_logged(manager):
    from django.test.utils import CaptureQueriesContext

    first, second = make_incident(by=manager), make_incident(by=manager)
    with (
        CaptureQueriesContext(connection) as queries,
        connection.cursor() as one,
        connection.cursor() as two,
    ):
        with _round_trip():
            one.execute("SELECT key FROM incidents_incident WHERE id = %s", [first.pk])
            two.execute("SELECT key FROM incidents_incident WHERE id = %s", [second.pk])
        assert (one.fetchall(), two.fetchall()) == ([(first.key,)], [(second.key,)])
    assert len(queries) == 2


def _failing_round_trip() -> None:
    from django.db import transaction

    with (
        transaction.atomic(),
        connection.cursor() as one,
        connection.cursor() as two,
        _round_trip(),
    ):
        one.execute("SELECT no_such_column FROM incidents_incident")
        two.execute("SELECT 1")


def test_a_failing_statement_in_a_round_trip_raises_djangos_error_and_the_connection_goes_on(
    manager,
):
    from django.db import ProgrammingError

    incident = make_incident(by=manager)
    with pytest.raises(ProgrammingError):
        _failing_round_trip()
    assert Incident.objects.get(pk=incident.pk).key == incident.key


def _prepared(board_only: bool = True) -> list[tuple[str, str]]:
    """The name and text of each statement prepared on the connection: the board's
    (reading incidents), or all (the permissions' too: ``config.auth``)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements ORDER BY name")
        return [
            (name, statement)
            for name, statement in cursor.fetchall()
            if not board_only or 'FROM "incidents_incident"' in statement
        ]


def _board_of(user, now=None):
    from incidents.support import dashboard

    board = dashboard.board(user, now=now)
    return board.active, board.active_total, board.resolved


def _ended(manager, summary):
    from django.utils import timezone

    from incidents import actions
    from incidents.models import Status

    incident = make_incident(by=manager, summary=summary)
    actions.claim_incident(incident, by=manager)
    return actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )


# Outside a test's transaction: a rollback clears psycopg's prepared statements.
@pytest.mark.django_db(transaction=True)
def test_the_board_prepares_its_statements_and_the_permissions_read_and_nothing_else(
    manager, support
):
    """Its two statements and the viewer's permissions' read (``config.auth``)."""
    from django.test.utils import CaptureQueriesContext

    make_incident(by=manager, summary="Checkout is failing")
    _ended(manager, "Search was slow")
    connection.close()  # a new session: nothing prepared yet
    now = datetime.now(UTC) + timedelta(minutes=1)
    first = _board_of(support, now)
    # Ordinary statements are not prepared, however often they run, even where
    # psycopg binds on the server (and would prepare from the fifth execution).
    with connection.connection.cursor() as cursor:
        for _ in range(20):
            cursor.execute("SELECT count(*) FROM incidents_incident WHERE severity = %s", [1])
    with CaptureQueriesContext(connection) as queries:
        again = _board_of(support, now)
    assert again == first
    assert [len(row.key) > 0 for row in first[0] + first[2]] == [True, True]
    # Logged and counted as any cursor's, with their parameters written in.
    cutoff = (now - timedelta(hours=24)).isoformat(sep=" ")[:19]
    assert [query["sql"].startswith("SELECT ") for query in queries] == [True, True]
    assert ["%s" in query["sql"] or "%%" in query["sql"] for query in queries] == [False] * 2
    assert cutoff in queries[1]["sql"]
    statements = [statement for _name, statement in _prepared(board_only=False)]
    # The permissions', the resolved list's, the active list's (with its total).
    assert sorted(statement.count('FROM "incidents_incident"') for statement in statements) == [
        0,
        1,
        2,
    ]
    assert sum('FROM "auth_permission"' in statement for statement in statements) == 1


@pytest.mark.django_db(transaction=True)
def test_viewers_of_the_same_permissions_share_the_prepared_statements(manager, support):
    from tests.factories import UserFactory

    colleagues = [support, *(UserFactory(group="support") for _ in range(3))]
    restricted = make_incident(by=manager, summary="Payroll leak", restricted=True)
    make_incident(by=manager, summary="Checkout is failing")
    restricted.assignee = colleagues[2]
    restricted.save(update_fields=["assignee"])
    seen = [{row.summary for row in _board_of(colleague)[0]} for colleague in colleagues]
    assert seen == [{"Checkout is failing"}] * 2 + [{"Checkout is failing", "Payroll leak"}] + [
        {"Checkout is failing"}
    ]
    assert len(_prepared()) == 2
    # And one read of permissions for all of them.
    everything = [statement for _name, statement in _prepared(board_only=False)]
    assert sum('FROM "auth_permission"' in statement for statement in everything) == 1


@pytest.mark.django_db(transaction=True)
def test_permissions_read_inside_a_transaction_are_not_prepared(manager):
    """An action asks ``has_perm`` inside its transaction: a statement prepared there
    could not be prepared again after a migration (``recover_prepared``)."""
    from django.core.cache import cache
    from django.db import transaction

    from config.auth import CachedPermissionsBackend

    def read():
        cache.clear()  # nothing kept: read from the database
        person = type(manager).objects.get(pk=manager.pk)
        return CachedPermissionsBackend().get_all_permissions(person)

    connection.close()  # a new session: nothing prepared yet
    with transaction.atomic():
        inside = read()
        assert _prepared(board_only=False) == []
    assert read() == inside
    assert len(_prepared(board_only=False)) == 1


@pytest.mark.django_db(transaction=True)
def test_the_board_is_prepared_again_after_a_rollback_a_savepoint_and_a_new_connection(
    manager, support
):
    from django.db import transaction

    make_incident(by=manager, summary="Checkout is failing")
    first = _board_of(support)
    names = [name for name, _statement in _prepared()]

    def undone():
        with transaction.atomic():
            Incident.objects.update(summary="Never")
            raise LookupError

    with pytest.raises(LookupError):
        undone()
    assert _board_of(support) == first
    again = [name for name, _statement in _prepared()]
    assert len(again) == 2
    assert not set(again) & set(names)  # psycopg dropped them with the rollback
    with transaction.atomic():
        assert _board_of(support) == first
        with pytest.raises(LookupError):
            undone()  # a savepoint's rollback
        assert _board_of(support) == first
        assert len(_prepared()) == 2
        assert not {name for name, _statement in _prepared()} & set(again)
    connection.close()
    assert _board_of(support) == first
    assert len(_prepared()) == 2


@pytest.fixture
def migrated():
    """Changes the type of a column the board reads from a session of its own, as a
    migration run from another process while the server runs; back after the test."""
    session = connection.get_new_connection(connection.get_connection_params())
    session.autocommit = True
    table, column = "incidents_incident", Incident._meta.get_field("summary").column
    kind = session.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attname = %s",
        [table, column],
    ).fetchone()[0]
    try:
        yield lambda: session.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE text')
    finally:
        session.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE {kind}')
        session.close()


@pytest.mark.django_db(transaction=True)
def test_the_board_reads_on_after_a_migration_changes_a_column_it_reads(manager, support, migrated):
    make_incident(by=manager, summary="Checkout is failing")
    first = _board_of(support)
    migrated()
    assert _board_of(support) == first
    assert len(_prepared()) == 2


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_error_stands_and_the_rollback_recovers(
    manager, support, migrated
):
    from django.db import NotSupportedError, transaction

    make_incident(by=manager, summary="Checkout is failing")
    first = _board_of(support)
    migrated()
    with pytest.raises(NotSupportedError), transaction.atomic():
        _board_of(support)  # the transaction is aborted: nothing to retry in
    assert _board_of(support) == first


@pytest.mark.django_db(transaction=True)
def test_only_a_refused_prepared_statement_closes_the_connection():
    import psycopg
    from django.db import NotSupportedError

    def error(cause):
        wrapped = NotSupportedError("refused")
        wrapped.__cause__ = cause
        return wrapped

    connection.ensure_connection()
    assert not connection.recover_prepared(error(psycopg.NotSupportedError("no pipeline")))
    assert not connection.recover_prepared(error(ValueError()))
    assert connection.connection is not None
    refused = psycopg.errors.FeatureNotSupported("cached plan must not change result type")
    assert refused.sqlstate == "0A000"
    assert connection.recover_prepared(error(refused))
    assert connection.connection is None


@pytest.fixture
def unprepared():
    """Runs a function on a connection set up as behind a pooler without prepared
    statements (``prepare_threshold: None`` in OPTIONS), then back as configured."""
    options = connection.settings_dict["OPTIONS"]
    configured = options.get("prepare_threshold", unprepared)

    def run(function):
        connection.close()
        options["prepare_threshold"] = None
        try:
            return function(), _prepared()
        finally:
            if configured is unprepared:
                del options["prepare_threshold"]
            else:
                options["prepare_threshold"] = configured
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    incidents=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.booleans(),
            st.booleans(),
            st.sampled_from([None, "assignee", "creator", "role", "involved"]),
        ),
        min_size=0,
        max_size=6,
    )
)
def test_the_prepared_board_reads_what_the_orm_reads(
    manager, support, security, unprepared, incidents
):
    for number, (severity, restricted, ended, how) in enumerate(incidents):
        incident = (
            _ended(manager, f"Ended {number}")
            if ended
            else make_incident(by=manager, summary=f"Open {number}", severity=severity)
        )
        Incident.objects.filter(pk=incident.pk).update(restricted=restricted)
        if how is not None:
            involve(incident, support, how)
    now = datetime.now(UTC) + timedelta(minutes=1)
    for viewer in (support, security):
        for _ in range(7):  # past the executions PostgreSQL plans one by one
            assert _board_rows(viewer, now) == _orm_rows(viewer, now)
        # A filter's id equal to the viewer's: written in, the viewer's a parameter.
        assert _board_rows(viewer, now, viewer.pk) == _orm_rows(viewer, now, viewer.pk)
        assert len(_prepared()) == 4
        board = _board_of(viewer, now)
        assert unprepared(lambda viewer=viewer: _board_of(viewer, now)) == (board, [])


# What parameters may hold: text with quotes, percent signs and backslashes (no NUL,
# which PostgreSQL refuses in text), numbers, times, booleans, nothing.
_VALUES = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.none(),
    st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001 (hypothesis: naive bounds, aware values)
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(_VALUES, min_size=1, max_size=6),
    kept=st.sets(st.integers(0, 5)),
    percent=st.booleans(),
)
def test_parameters_written_in_read_as_the_bound_ones(values, kept, percent):
    from config.postgresql.base import PreparedCursor

    keep = {index for index in kept if index < len(values)}
    sql = "SELECT " + ", ".join(["%s"] * len(values)) + (", '100%%'" if percent else "")
    inlined, params = connection.inline_params(sql, values, keep=keep)
    assert params == [values[index] for index in sorted(keep)]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        bound = cursor.fetchone()
    connection.ensure_connection()
    with PreparedCursor(connection.connection) as cursor:
        cursor.execute(inlined, params)
        assert cursor.fetchone() == bound


def test_parameters_written_in_must_fill_the_places():
    for sql, params in [("SELECT %s, %s", [1]), ("SELECT %s, '%%'", [1, 2]), ("SELECT 1", [3])]:
        with pytest.raises(ValueError, match="places"):
            connection.inline_params(sql, params)


@pytest.mark.parametrize(
    ("setting", "threshold"), [("false", "None"), ("true", "4611686018427387904")]
)
def test_prepared_statements_are_turned_off_for_a_pooler_without_them(setting, threshold):
    import subprocess
    import sys
    from pathlib import Path

    shown = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.db import connection;"
            " print(connection.get_connection_params().get('prepare_threshold'))",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DATABASE_PREPARED_STATEMENTS": setting},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split()[-1] == threshold
