"""TTD and TTR figures on known data (HANDBOOK §10)."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from incidents import actions, metrics
from incidents.models import Incident, Status
from tests.factories import ServiceFactory, TeamFactory, make_incident

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def known(support, manager):
    """Five incidents with TTD 10/20/30/40/50 min and TTR 1..5 h, one with no start."""
    payments = ServiceFactory(name="Payments", slug="payments", team=TeamFactory(slug="pay"))
    search = ServiceFactory(name="Search", slug="search")
    made = []
    for index in range(5):
        start = T0 + timedelta(days=index * 20)  # Mar 2, Mar 22, Apr 11, May 1, May 21
        incident = make_incident(
            by=support,
            severity=1 if index < 2 else 2,
            faulty_service=payments if index % 2 == 0 else search,
            impact_started_at=start,
            detected_at=start + timedelta(minutes=10 * (index + 1)),
        )
        actions.claim_incident(incident, by=manager)
        actions.transition_incident(
            incident,
            to=Status.RESOLVED,
            by=manager,
            impact_ended_at=start + timedelta(hours=index + 1),
        )
        made.append(incident)
    no_start = make_incident(by=support, summary="When did it start?", faulty_service=search)
    return made, no_start


def test_medians_p90_and_groups(known):
    _made, no_start = known
    figures = metrics.compute(Incident.objects.all())
    assert figures.ttd.count == 5
    assert figures.ttd.median == timedelta(minutes=30)
    assert figures.ttd.p90 == timedelta(minutes=50)
    assert figures.ttr.median == timedelta(hours=3)
    assert figures.ttr.p90 == timedelta(hours=5)
    by_service = {name: (ttd, ttr) for name, ttd, ttr in figures.by_service}
    assert by_service["Payments"][1].median == timedelta(hours=3)  # 1, 3, 5 h
    assert by_service["Search"][1].median == timedelta(hours=3)  # 2, 4 h
    by_severity = {name: ttr for name, _, ttr in figures.by_severity}
    assert by_severity["1 - Critical"].median == timedelta(hours=1, minutes=30)
    assert [name for name, *_ in figures.by_month] == ["2026-03", "2026-04", "2026-05"]
    assert [row.key for row in figures.missing] == [no_start.key]
    assert figures.missing[0].missing == ["impact started"]
    assert dict(figures.ttr_histogram)["2-4h"] == 2


def test_metrics_page_filters_and_draws(client_for, support, known):
    client = client_for(support)
    page = client.get("/support/metrics/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("<svg") == 3
    assert "3 h" in body  # the TTR median
    only_pay = client.get("/support/metrics/?team=pay&severity=1")
    assert only_pay.context["m"].ttr.count == 1
    period = client.get("/support/metrics/?since=2026-04-01&until=2026-05-01")
    assert period.context["m"].ttd.count == 2
    bad = client.get("/support/metrics/?since=2026-05-01&until=2026-04-01")
    assert bad.status_code == 400
    assert "until" in bad.content.decode()


def test_csv_export_has_the_times(client_for, support, known):
    made, _ = known
    response = client_for(support).get("/support/metrics.csv?service=payments")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["key"] for row in rows] == [made[0].key, made[2].key, made[4].key]
    assert rows[1]["ttd_minutes"] == "30.0"
    assert rows[1]["ttr_minutes"] == "180.0"
    assert rows[0]["impact_started_at"].startswith("2026-03-02T09:00")


def test_restricted_incidents_count_only_for_those_who_see_them(client_for, support, security):
    make_incident(by=security, restricted=True, impact_started_at=T0, detected_at=T0)
    assert client_for(support).get("/support/metrics/").context["m"].rows == []
    assert len(client_for(security).get("/support/metrics/").context["m"].rows) == 1
