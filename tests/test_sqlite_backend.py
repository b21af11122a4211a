"""config/sqlite: Django's SQLite backend, making the times it reads aware in one step:
the datetimes Django's own converter gives (tests/test_database_times.py: the times
written)."""

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection, connections
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.models import Incident

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
