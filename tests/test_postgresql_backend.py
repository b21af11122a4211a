"""config/postgresql: Django's backend with psycopg's C timestamp loader. The times it
reads are the times written, aware and in UTC, through the ORM and raw SQL alike."""

import os
from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Incident
from tests.factories import make_incident

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL"), reason="the PostgreSQL backend: set DATABASE_URL"
    ),
    pytest.mark.django_db,
]


def test_the_portal_runs_on_it():
    assert connection.vendor == "postgresql"
    assert type(connections["default"]).__module__ == "config.postgresql.base"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001 (hypothesis: naive bounds, aware values)
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    offset_minutes=st.integers(-12 * 60, 14 * 60),
)
def test_a_time_reads_back_as_written(manager, moment, offset_minutes):
    incident = make_incident(by=manager)
    written = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    Incident.objects.filter(pk=incident.pk).update(updated_at=written)
    read = Incident.objects.values_list("updated_at", flat=True).get(pk=incident.pk)
    assert read == written
    assert read.utcoffset() == timedelta(0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT updated_at FROM incidents_incident WHERE id = %s", [incident.pk])
        assert cursor.fetchone()[0] == written


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


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [statement for (statement,) in cursor.fetchall()]


def _plans() -> list[tuple[int, int]]:
    """Generic and custom plans of each prepared statement."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements")
        return cursor.fetchall()


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


def _board_of(user):
    from incidents.support import dashboard

    board = dashboard.board(user)
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
def test_the_board_prepares_its_two_statements_and_nothing_else(manager, support):
    from django.test.utils import CaptureQueriesContext

    make_incident(by=manager, summary="Checkout is failing")
    _ended(manager, "Search was slow")
    connection.close()  # a new session: nothing prepared yet
    first = _board_of(support)
    for _ in range(20):  # ordinary statements, however often they run, are not prepared
        Incident.objects.filter(summary="Checkout is failing").exists()
    with CaptureQueriesContext(connection) as queries:
        again = _board_of(support)
    assert again == first
    assert [len(row.key) > 0 for row in first[0] + first[2]] == [True, True]
    # Logged and counted as any cursor's, with their SQL.
    assert [query["sql"].startswith("SELECT ") for query in queries] == [True, True]
    statements = _prepared()
    assert len(statements) == 2
    assert all('FROM "incidents_incident"' in statement for statement in statements)
    # Planned once each, whatever the cutoff: no plan per execution.
    assert [custom for _generic, custom in _plans()] == [0, 0]
    assert all(generic >= 2 for generic, _custom in _plans())


@pytest.mark.django_db(transaction=True)
def test_the_board_reads_again_after_a_rollback_and_on_a_new_connection(manager, support):
    from django.db import transaction

    make_incident(by=manager, summary="Checkout is failing")
    first = _board_of(support)

    def undone():
        with transaction.atomic():
            Incident.objects.update(summary="Never")
            raise LookupError

    with pytest.raises(LookupError):
        undone()
    assert _board_of(support) == first
    assert len(_prepared()) == 2  # prepared again after psycopg dropped them
    connection.close()
    assert _board_of(support) == first
    assert len(_prepared()) == 2


@pytest.fixture
def unprepared():
    """Runs a function on a connection set up as behind a pooler without prepared
    statements (``prepare_threshold: None`` in OPTIONS), then back as configured."""
    options = connection.settings_dict["OPTIONS"]

    def run(function):
        connection.close()
        options["prepare_threshold"] = None
        try:
            result = function()
            assert _plan_cache_mode() == "auto"  # PostgreSQL's own, as Django leaves it
            return result, _prepared()
        finally:
            del options["prepare_threshold"]
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    incidents=st.lists(
        st.tuples(st.integers(1, 3), st.booleans(), st.booleans()), min_size=0, max_size=6
    )
)
def test_prepared_and_unprepared_boards_read_the_same(
    manager, support, security, unprepared, incidents
):
    for number, (severity, restricted, ended) in enumerate(incidents):
        if ended:
            _ended(manager, f"Ended {number}")
        else:
            make_incident(
                by=manager, summary=f"Open {number}", severity=severity, restricted=restricted
            )
    for viewer in (support, security):
        prepared = _board_of(viewer)
        assert len(_prepared()) == 2
        assert unprepared(lambda viewer=viewer: _board_of(viewer)) == (prepared, [])


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
