"""The times the portal reads are the times written, aware and in UTC, whatever the zone
they were written in: on each database's backend (config/postgresql, config/sqlite)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Incident
from tests.factories import make_incident

pytestmark = pytest.mark.django_db

_MOMENTS = st.builds(
    datetime.astimezone,
    st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001 (hypothesis: naive bounds, aware values)
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.integers(-12 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moment=_MOMENTS)
def test_a_time_reads_back_as_written(manager, moment):
    incident = make_incident(by=manager)
    Incident.objects.filter(pk=incident.pk).update(updated_at=moment)
    read = Incident.objects.values_list("updated_at", flat=True).get(pk=incident.pk)
    assert read == moment
    assert read.utcoffset() == timedelta(0)
    if connection.vendor == "postgresql":  # read aware by any cursor (psycopg's loader)
        with connection.cursor() as cursor:
            cursor.execute("SELECT updated_at FROM incidents_incident WHERE id = %s", [incident.pk])
            assert cursor.fetchone()[0] == moment
