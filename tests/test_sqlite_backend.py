"""config/sqlite: Django's SQLite backend, reading times as text and making them aware
in one step: the datetimes Django's own converter gives (tests/test_database_times.py:
the times written)."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.db import connection, connections
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from config import statements
from incidents.models import Incident
from incidents.support.figures import FiguresChange
from tests.factories import make_incident

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend"),
    pytest.mark.django_db,
]

_NAIVE = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))  # noqa: DTZ001
_AWARE = st.builds(
    datetime.replace,
    _NAIVE,
    tzinfo=st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
)
# What a column may hold: a time as sqlite3 parsed it, or as text (with an offset too).
_READ = st.one_of(
    st.none(),
    _NAIVE,
    _AWARE,
    _NAIVE.map(lambda moment: moment.isoformat(" ")),
    _AWARE.map(lambda moment: moment.isoformat(" ")),
    _AWARE.map(lambda moment: moment.isoformat()),
)


def test_the_portal_runs_on_it():
    assert type(connections["default"]).__module__ == "config.sqlite.base"


def _both(value):
    # Django's own (imported here: its module needs the sqlite3 backend loaded first).
    from django.db.backends.sqlite3.operations import DatabaseOperations as DjangoOperations

    field = Incident._meta.get_field("updated_at")
    ours = connection.ops.convert_datetimefield_value(value, field, connection)
    django = DjangoOperations.convert_datetimefield_value(connection.ops, value, field, connection)
    return ours, django


@pytest.mark.parametrize("use_tz", [True, False])
@settings(max_examples=200)
@given(value=_READ)
def test_what_it_reads_is_what_djangos_converter_gives(use_tz, value):
    with override_settings(USE_TZ=use_tz):
        ours, django = _both(value)
    assert ours == django
    assert getattr(ours, "tzinfo", None) == getattr(django, "tzinfo", None)


def test_sqlite3_hands_over_text_and_the_orm_converts_it():
    started = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    incident = make_incident(restricted=True, impact_started_at=started)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT impact_started_at, restricted FROM incidents_incident WHERE id = %s",
            [incident.pk],
        )
        assert cursor.fetchone() == ("2026-03-04 05:06:07.891011", 1)
    read = Incident.objects.values_list("impact_started_at", "restricted").get(pk=incident.pk)
    assert read == (started, True)
    assert read[0].tzinfo is not None


def test_a_compiled_statement_converts_dates_read_as_text():
    FiguresChange.objects.create(month=date(2026, 3, 1))
    statement = statements.compile_query(FiguresChange.objects.values_list("month", "changes"))
    [rows] = statements.fetch([(statement, statement.params)])
    assert [tuple(row) for row in rows] == [(date(2026, 3, 1), 1)]
