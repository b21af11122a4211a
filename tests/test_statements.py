"""config/statements: a queryset compiled once reads, with each run's values, what the
ORM reads with them, on either database; several statements are answered together."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import BooleanField, Value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import statements
from incidents.models import Incident
from tests.factories import make_incident

pytestmark = pytest.mark.django_db

_SOME_SEVERITY = 31_999  # a small integer, as the field
_SOME_TIME = datetime(1970, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _prepped(at):
    field = Incident._meta.get_field("created_at")
    return field.get_db_prep_value(at, connection)


def _queryset(severity, since):
    return (
        Incident.objects.filter(
            severity__lte=severity, created_at__gte=since, summary__contains="%"
        )
        .order_by("pk")
        .values_list("pk", "summary", "restricted", "created_at")
    )


def _compiled():
    return statements.compile_query(
        _queryset(_SOME_SEVERITY, _SOME_TIME),
        sentinels=[_SOME_SEVERITY, _prepped(_SOME_TIME)],
    )


@pytest.fixture
def incidents(manager):
    made = []
    for number, severity in enumerate((1, 2, 3, 2)):
        incident = make_incident(by=manager, severity=severity, summary=f"{number * 25}% down")
        Incident.objects.filter(pk=incident.pk).update(
            restricted=number % 2 == 0,
            created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=number),
        )
        made.append(incident)
    return made


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    severity=st.integers(0, 4),
    since=st.datetimes(
        min_value=datetime(2025, 12, 31),  # noqa: DTZ001 (hypothesis: naive bounds, aware values)
        max_value=datetime(2026, 1, 1, 5),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_a_compiled_statement_reads_what_the_orm_reads(incidents, severity, since):
    statement = _compiled()
    [rows] = statements.fetch([(statement, statement.params_for(severity, _prepped(since)))])
    assert statement.names == ["pk", "summary", "restricted", "created_at"]
    assert list(map(tuple, statement.converted(rows))) == list(_queryset(severity, since))


def test_statements_sent_together_are_each_answered(incidents):
    statement = _compiled()
    everything = (statement, statement.params_for(3, _prepped(_SOME_TIME)))
    nothing = (statement, statement.params_for(0, _prepped(_SOME_TIME)))
    answers = statements.fetch([everything, nothing, everything])
    assert [len(rows) for rows in answers] == [4, 0, 4]


def test_a_sentinel_that_is_no_parameter_is_refused():
    with pytest.raises(ImproperlyConfigured):
        statements.compile_query(_queryset(3, _SOME_TIME), sentinels=[_SOME_SEVERITY])


def test_a_sentinel_is_counted_where_asked_and_never_taken_for_another_type():
    queryset = Incident.objects.filter(severity=1, summary__contains="1").annotate(
        flag=Value(True, output_field=BooleanField())
    )
    # 1 is the severity only: neither ``True`` nor the text "1" is taken for it.
    statement = statements.compile_query(queryset, sentinels=[1], counts=[1])
    assert [len(places) for places in statement.places] == [1]
    unused = statements.compile_query(queryset, sentinels=[_SOME_SEVERITY], counts=[0])
    assert unused.places == ((),)
    with pytest.raises(ImproperlyConfigured):
        statements.compile_query(queryset, sentinels=[1], counts=[2])
    # None: at least once, as often as it comes.
    twice = Incident.objects.filter(severity=1).exclude(number=1)
    counted = statements.compile_query(twice, sentinels=[1], counts=[None])
    assert [len(places) for places in counted.places] == [2]
    with pytest.raises(ImproperlyConfigured):
        statements.compile_query(queryset, sentinels=[1, -5], counts=[1, None])
    with pytest.raises(ImproperlyConfigured):
        statements.compile_query(queryset, sentinels=[1, 1])  # one parameter, two sentinels
    with pytest.raises(ImproperlyConfigured):
        statements.compile_query(queryset, sentinels=[1], counts=[1, 0])  # a count too many


def test_a_statement_is_compiled_once_per_thread_and_key():
    statements.forget()
    compiled = []

    def compile_():
        compiled.append(threading.get_ident())
        return _compiled()

    first = statements.compiled("incidents", compile_)
    assert statements.compiled("incidents", compile_) is first

    def elsewhere():
        try:
            statements.compiled("incidents", compile_)
        finally:
            connection.close()  # the thread's own

    other = threading.Thread(target=elsewhere)
    other.start()
    other.join()
    assert len(compiled) == 2
    assert compiled[0] != compiled[1]
    statements.forget()  # a process just started
    assert statements.compiled("incidents", compile_) is not first
    assert len(compiled) == 3
