"""TTD and TTR figures on known data (HANDBOOK §10)."""

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from incidents import actions
from incidents.models import Incident, Status
from incidents.support import figures as stored_figures
from incidents.support import metrics, metrics_pages
from incidents.support import tasks as support_tasks
from incidents.templatetags.hotline import duration
from tests.factories import ServiceFactory, TeamFactory, make_incident
from tests.incidents.support.metrics_reference import assert_figures_match, reference

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


def test_medians_p90_and_groups(support, known):
    _made, no_start = known
    figures = metrics.compute(support)
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
    page = client.get("/support/metrics/?period=all")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("<svg") == 3
    assert "3 h" in body  # the TTR median
    only_pay = client.get("/support/metrics/?period=all&team=pay&severity=1")
    assert only_pay.context["m"].ttr.count == 1
    period = client.get("/support/metrics/?since=2026-04-01&until=2026-05-01")
    assert period.context["m"].ttd.count == 2
    bad = client.get("/support/metrics/?since=2026-05-01&until=2026-04-01")
    assert bad.status_code == 400
    assert "until" in bad.content.decode()


def test_csv_export_has_the_times(client_for, support, known):
    made, _ = known
    response = client_for(support).get("/support/metrics.csv?period=all&service=payments")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["key"] for row in rows] == [made[0].key, made[2].key, made[4].key]
    assert rows[1]["ttd_minutes"] == "30.0"
    assert rows[1]["ttr_minutes"] == "180.0"
    assert rows[0]["impact_started_at"].startswith("2026-03-02T09:00")


def test_csv_export_never_hands_a_spreadsheet_a_formula(client_for, support):
    make_incident(by=support, summary='=HYPERLINK("http://evil.example","Click")')
    make_incident(by=support, summary="-5% conversions")
    response = client_for(support).get("/support/metrics.csv?period=all")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row["summary"] for row in rows) == [
        "'-5% conversions",
        '\'=HYPERLINK("http://evil.example","Click")',
    ]


def test_restricted_incidents_count_only_for_those_who_see_them(client_for, support, security):
    make_incident(by=security, restricted=True, impact_started_at=T0, detected_at=T0)
    assert client_for(support).get("/support/metrics/?period=all").context["m"].count == 0
    assert client_for(security).get("/support/metrics/?period=all").context["m"].count == 1


def test_default_period_is_the_last_90_days_and_says_so(client_for, support, known, time_machine):
    time_machine.move_to(datetime(2026, 6, 15, 12, tzinfo=UTC), tick=False)
    client = client_for(support)
    page = client.get("/support/metrics/")
    assert page.context["m"].ttd.count == 4  # Mar 22 to May 21; not Mar 2
    body = page.content.decode()
    assert "from <strong>17 Mar 2026</strong> to <strong>today</strong>" in body
    assert "(the last 90 days, the default)." in body
    assert client.get("/support/metrics/?period=30").context["m"].ttd.count == 1
    assert client.get("/support/metrics/?period=all").context["m"].ttd.count == 5
    # Dates given make their own period; the CSV export follows the page.
    assert client.get("/support/metrics/?since=2026-03-01").context["m"].ttd.count == 5
    csv_rows = b"".join(client.get("/support/metrics.csv").streaming_content).decode()
    assert len(csv_rows.strip().splitlines()) == 1 + 5  # header, four timed, no_start
    assert client.get("/support/metrics/?period=week").status_code == 400


def _bulk(count, *, by, start_number=1):
    """``count`` incidents straight into the table: three services and severities, over
    a few months, every seventh without times, durations of every length."""
    services = [ServiceFactory(slug=f"svc-{index}", name=f"Svc {index}") for index in range(3)]
    now = timezone.now()
    made = []
    for offset in range(count):
        number = start_number + offset
        started = now - timedelta(days=(number * 13) % 80, minutes=number % 7)
        timed = number % 7 != 0
        made.append(
            Incident(
                prefix="HOT",
                number=number,
                key=f"HOT-{number}",
                summary=f"Incident {number}",
                description="-",
                severity=number % 3 + 1,
                faulty_service=services[number % 3],
                status=Status.RESOLVED if number % 4 else Status.FIXING,
                impact_started_at=started if timed else None,
                detected_at=started + timedelta(seconds=(number * 97) % 5000) if timed else None,
                impact_ended_at=started + timedelta(minutes=(number * 211) % 3000),
                created_by=by,
                created_at=started,
            )
        )
    Incident.objects.bulk_create(made)


def test_figures_match_a_row_by_row_computation(support):
    _bulk(101, by=support)
    stored_figures.rebuild()  # rows written straight into the table
    today = timezone.localdate()
    for filters in (
        {},
        {"since": today - timedelta(days=90)},
        {"since": today - timedelta(days=45), "until": today - timedelta(days=10)},
        {"until": today - timedelta(days=30)},
        {"since": today - timedelta(days=3), "until": today - timedelta(days=2)},
        {"since": today - timedelta(days=60), "team": "", "service": "svc-1"},
        {"severity": 2},
    ):
        assert_figures_match(support, **filters)
    assert metrics.compute(support).count == 101


def test_page_queries_do_not_grow_with_incidents_and_missing_list_is_capped(
    client_for, support, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client = client_for(support)
    _bulk(10, by=support)
    with django_capture_on_commit_callbacks(execute=True):
        stored_figures.rebuild()  # rows written straight into the table
    client.get("/support/metrics/")  # sessions warm
    with django_capture_on_commit_callbacks(execute=True):
        stored_figures.rebuild()  # not from the cache: every month read again
    with CaptureQueriesContext(connection) as few:
        client.get("/support/metrics/")
    _bulk(490, by=support, start_number=11)
    with django_capture_on_commit_callbacks(execute=True):
        stored_figures.rebuild()
    with django_assert_max_num_queries(len(few)):
        page = client.get("/support/metrics/")
    figures = page.context["m"]
    assert figures.count == 500
    assert figures.missing_count == 71  # every seventh: no times at all
    assert len(figures.missing) == metrics.MISSING_SHOWN
    assert figures.missing[0].key == "HOT-497"  # the latest first
    link = re.search(r'<a href="([^"]+)">All 71 in the incident list</a>', page.content.decode())
    assert link is not None
    listed = client.get(html.unescape(link[1]))
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 71


def test_incident_list_keeps_the_missing_times_filter(client_for, support, known):
    _made, no_start = known
    page = client_for(support).get("/incidents/?missing=times&since=2026-01-01")
    assert [incident.key for incident in page.context["page"].object_list] == [no_start.key]
    body = page.content.decode()
    assert '<input type="hidden" name="missing" value="times">' in body
    assert '<input type="hidden" name="since" value="2026-01-01">' in body
    assert "missing their impact or detection times" in body
    api = client_for(support).get("/api/incidents/?missing=times").json()
    assert [row["key"] for row in api["results"]] == [no_start.key]


def _ttd_median(content: str) -> str:
    """The TTD median a metrics page shows."""
    shown = re.search(r'id="ttd">.*?<strong>(.*?)</strong>', content, re.S)
    assert shown is not None, content
    return shown.group(1)


def test_a_worker_computes_the_open_pages_after_a_change(
    client_for, support, security, manager, known, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(support_tasks.warm_metrics_pages, "delay", lambda: queued.append(True))
    made, _ = known
    url = "/support/metrics/?period=all"

    def later(incident, minutes):
        with django_capture_on_commit_callbacks(execute=True):
            actions.update_incident(
                incident, by=manager, detected_at=incident.detected_at + timedelta(minutes=minutes)
            )

    later(made[0], 1)
    assert queued == []  # no page open, nothing to compute
    korean = client_for(support, HTTP_ACCEPT_LANGUAGE="ko")
    insider = client_for(security)
    make_incident(by=security, restricted=True, impact_started_at=T0, detected_at=T0)
    assert korean.get(url).context["m"].count == 6
    assert insider.get(url).context["m"].count == 7
    later(made[2], 60)  # TTD 30 min -> 90 min: the median moves from 30 to 40 min
    assert queued == [True]
    later(made[4], 1)  # before that warm-up starts: in the figures it reads, none queued
    assert queued == [True]
    assert support_tasks.warm_metrics_pages() == "2 pages checked"
    # The first to look after the change finds the page computed, in their language,
    # with what they may see: no stored figure read, and what they would have computed.
    warmed = {}
    for client in (korean, insider):
        with CaptureQueriesContext(connection) as queries:
            warmed[client] = client.get(url).context
        assert not [query for query in queries if "incidentfigures" in query["sql"]]
    # Read from the cache: the figures are the content's. TTDs 11, 20, 40, 51 and 90 min;
    # the secret incident's 0 for who may see it.
    assert warmed[korean]["m"] is warmed[insider]["m"] is None
    with translation.override("ko"):
        assert _ttd_median(warmed[korean]["content"]) == duration(timedelta(minutes=40))
    assert "분" in _ttd_median(warmed[korean]["content"])
    assert "인시던트 6건" in warmed[korean]["content"]
    assert _ttd_median(warmed[insider]["content"]) == duration(timedelta(minutes=30))
    assert "7 incidents whose impact started" in warmed[insider]["content"]
    # Once a warm-up has started, the next change queues another.
    later(made[1], 1)
    assert queued == [True, True]
    assert support_tasks.warm_metrics_pages() == "2 pages checked"
    warmed = {client: client.get(url).context["content"] for client in (korean, insider)}
    cache.clear()
    for client in (korean, insider):
        assert client.get(url).context["content"] == warmed[client]
    # Someone who may no longer see incidents gets no page computed for them.
    security.groups.clear()
    support.groups.clear()
    assert support_tasks.warm_metrics_pages() == "0 pages checked"


@pytest.mark.parametrize("query", ["period=all", "since=2026-03-10&until=2026-05-05", "period=30"])
def test_a_page_reads_incidents_one_by_one_only_where_the_stored_figures_fall_short(
    client_for, support, security, known, query, time_machine
):
    """The page's figures are the slow computation's for each viewer; a viewer who sees
    no restricted incident has none read one by one, whole months or not (the partly
    covered ones are read from the stored figures too)."""
    time_machine.move_to(datetime(2026, 6, 1, 12, tzinfo=UTC))
    secret = T0 + timedelta(days=30)
    make_incident(
        by=security,
        restricted=True,
        impact_started_at=secret,
        detected_at=secret + timedelta(minutes=7),
    )
    for viewer in (support, security):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            page = client_for(viewer).get(f"/support/metrics/?{query}")
        assert page.status_code == 200
        form = metrics_pages.MetricsFilter(QueryDict(query))
        assert form.is_valid()
        visible = metrics.filtered(Incident.objects.visible_to(viewer), **form.filters())
        for name, expected in reference(visible).items():
            assert getattr(page.context["m"], name) == expected, name
        one_by_one = [q for q in queries.captured_queries if '"ttd_"' in q["sql"]]
        assert len(one_by_one) == (0 if viewer == support else 1)


def test_group_rows_are_escaped_and_said_in_each_language(client_for, support, manager):
    """A group table's rows are rendered once per language and figures: a name is
    escaped, and the same figures read in English and in Korean say each's words."""
    service = ServiceFactory(name="<b>Pay & Co</b>", slug="pay-co")
    start = timezone.now() - timedelta(days=3)
    incident = make_incident(
        by=support,
        faulty_service=service,
        impact_started_at=start,
        detected_at=start + timedelta(minutes=12),
    )
    actions.claim_incident(incident, by=manager)
    actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=start + timedelta(hours=2)
    )
    pages = {
        language: client_for(support, HTTP_ACCEPT_LANGUAGE=language)
        .get("/support/metrics/?period=all")
        .content.decode()
        for language in ("en", "ko", "en")
    }
    for body in pages.values():
        assert "&lt;b&gt;Pay &amp; Co&lt;/b&gt;" in body
        assert "<b>Pay" not in body
    by_service = {
        language: re.search(r'id="by-service".*?</section>', body, re.S).group(0)
        for language, body in pages.items()
    }
    assert "12 min" in by_service["en"]
    assert "2 h" in by_service["en"]
    assert "12 min" not in by_service["ko"]
    assert "분" in by_service["ko"]


def test_a_page_for_someone_who_may_see_no_incident_is_never_kept(outsider, support):
    """Who may see no incident gets a page of their own each time, never one kept for
    (or served to) a viewer who sees the unrestricted incidents."""
    rendered = []

    def render(restricted):
        rendered.append(restricted)
        return metrics.nothing(), "", 200

    for _ in range(2):
        metrics.page(outsider, vary=("period=all",), render=render)
    assert rendered == [(), ()]
    metrics.page(support, vary=("period=all",), render=render)
    metrics.page(support, vary=("period=all",), render=render)
    assert rendered == [(), (), ()]  # the viewer's page is kept, and only theirs
