"""The support board's rows as Jinja2 renders them (incidents/support/rows.py), its
compiled queries (dashboard.board) and labelling in bulk: the same board in every
language and zone, escaped, current, and in a number of queries that does not grow."""

import logging
import re
import runpy
import socket
import threading
import time
import zoneinfo
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext, pgettext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import statements
from config.settings import BASE_DIR
from incidents import actions
from incidents.models import Incident, Status
from incidents.support import actions as support_actions
from incidents.support import board as support_board
from incidents.support import dashboard, rows
from incidents.support import tasks as support_tasks
from incidents.support.models import LabelChange, SupportCase
from incidents.templatetags.hotline import when
from tests.factories import INVOLVEMENTS, ProductFactory, UserFactory, involve, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def warm_ups_not_queued(monkeypatch):
    # No broker message for a warm-up nobody runs here.
    monkeypatch.setattr(support_tasks.warm_support_boards, "delay", lambda: None)


def _row(html, prefix, key):
    return re.search(rf'<tr id="{prefix}-{key}".*?</tr>', html, re.S).group(0)


# Every word a row shows, in the order a longer one must be put back before a shorter.
WORDS = [
    ("Key",),
    ("Sev",),
    ("Summary",),
    ("Products",),
    ("Status",),
    ("incident manager, short", "IM"),
    ("Started",),
    ("Last update",),
    ("Ended",),
    ("Cases",),
    ("Label a case",),
    ("new",),
    ("restricted",),
    ("unassigned",),
    ("none yet",),
    ("Case reference",),
    ("verb: label a case", "Label"),
]


def _words():
    words = [pgettext(*word) if len(word) == 2 else gettext(word[0]) for word in WORDS]
    return [*words, *(str(label) for _, label in Status.choices)]


def _in_english(html, korean, english):
    """The Korean row with each word put back in English, where a word can stand: a
    whole attribute value or a whole text between tags."""
    for ko, en in sorted(zip(korean, english, strict=True), key=lambda pair: -len(pair[0])):
        html = html.replace(f'"{ko}"', f'"{en}"').replace(f">{ko}<", f">{en}<")
    return html


def test_rows_read_the_same_in_korean_and_english_but_for_the_words(
    client_for, support, manager, django_capture_on_commit_callbacks
):
    active = make_incident(by=manager, severity=1, products=[ProductFactory(name="Checkout")])
    actions.claim_incident(active, by=manager)  # "Fixing", beside the "new" badge
    support_actions.upsert_case(reference="SD-1")
    support_actions.upsert_case(reference="SD-2")
    support_actions.label_cases(key=active.key, references="SD-1 SD-2", by=support)
    ended = make_incident(by=manager, severity=3, summary="Search was slow")
    actions.claim_incident(ended, by=manager)
    actions.transition_incident(
        ended, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    support_actions.upsert_case(reference="SD-3")
    support_actions.label_cases(key=ended.key, references="SD-3", by=support)
    pages = {}
    for language in ("en", "ko"):
        client = client_for(support, HTTP_ACCEPT_LANGUAGE=language)
        pages[language] = client.get("/support/").content.decode()
    with translation.override("en"):
        english = _words()
        english_cases = [
            ngettext("case", "cases", 2),
            ngettext("%(counter)s case", "%(counter)s cases", 1) % {"counter": 1},
        ]
        english_aria = gettext("Label a case with %(key)s") % {"key": active.key}
    with translation.override("ko"):
        korean = _words()
        korean_cases = [
            ngettext("case", "cases", 2),
            ngettext("%(counter)s case", "%(counter)s cases", 1) % {"counter": 1},
        ]
        korean_aria = gettext("Label a case with %(key)s") % {"key": active.key}
    # Korean is what the Korean page shows: the catalogue has every word.
    assert all(ko != en for ko, en in zip(korean, english, strict=True) if en not in ("IM",))
    for prefix, key in (("board", active.key), ("resolved", ended.key)):
        en_row, ko_row = _row(pages["en"], prefix, key), _row(pages["ko"], prefix, key)
        assert en_row != ko_row
        back = _in_english(
            ko_row, [*korean, *korean_cases, korean_aria], [*english, *english_cases, english_aria]
        )
        assert back == en_row
    assert f'data-label="{korean[0]}"' in _row(pages["ko"], "board", active.key)
    assert "<strong>2</strong>" in _row(pages["ko"], "board", active.key)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001  # naive bounds: the strategy's rule
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    zone=st.sampled_from(["UTC", "Asia/Seoul", "Asia/Tokyo", "America/St_Johns", "Europe/Paris"]),
)
def test_a_rows_time_is_what_the_when_tag_says_for_cached_html(at, zone):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        expected = when(at, cached=True)
    assert str(rows._exact_times(zoneinfo.ZoneInfo(zone))(at)) == str(expected)


class _Text(HTMLParser):
    """Each cell's text, and every tag seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells, self.tags, self.in_cell = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "td":
            self.cells.append("")
            self.in_cell = True

    def handle_endtag(self, tag):
        self.in_cell = self.in_cell and tag != "td"

    def handle_data(self, data):
        if self.in_cell:
            self.cells[-1] += data


@settings(max_examples=60, deadline=None)
@given(
    summary=st.text(min_size=1, max_size=60),
    product=st.text(min_size=1, max_size=20),
    assignee=st.text(min_size=1, max_size=20),
)
def test_whatever_people_type_reads_back_as_typed_and_adds_no_tag(summary, product, assignee):
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    row = dashboard.Row(
        pk=1,
        key="HOT-1",
        summary=summary,
        severity=2,
        status="fixing",
        restricted=False,
        impact_started_at=now,
        impact_ended_at=None,
        created_at=now,
        updated_at=now,
        case_count=0,
        assignee_name=assignee,
        product_names=(product,),
    )
    with translation.override("en"):
        html = rows.active([row], can_label=False, updates_unknown=True)
    parsed = _Text()
    parsed.feed(html)
    # Key, severity, summary, products, status, IM, started, last update, cases.
    assert parsed.cells[2] == summary
    assert parsed.cells[3] == f"{product} "
    assert parsed.cells[5] == assignee
    assert parsed.tags == [
        *("tr", "td", "a", "td", "span", "td", "td", "span", "td", "span"),
        *("td", "td", "time", "td", "span", "td", "strong", "span"),
    ]


def test_a_person_given_the_right_to_see_restricted_incidents_sees_them_at_once(
    support, manager, security
):
    secret = make_incident(by=manager, summary="Leaked credentials", restricted=True)
    assert secret.pk not in [row.pk for row in dashboard.board(support).active]
    # The compiled statement is per set of permissions: a new right, a new one.
    support.groups.add(*security.groups.all())
    support = type(support).objects.get(pk=support.pk)  # permissions read afresh
    assert secret.pk in [row.pk for row in dashboard.board(support).active]


def test_the_resolved_list_follows_the_clock_with_one_compiled_statement(
    support, manager, django_assert_max_num_queries
):
    ended = make_incident(by=manager, summary="Search was slow")
    actions.claim_incident(ended, by=manager)
    resolved_at = timezone.now()
    actions.transition_incident(ended, to=Status.RESOLVED, by=manager, impact_ended_at=resolved_at)
    support.get_all_permissions()  # read once per request, by the view
    shown = []
    for later in (timedelta(hours=23, minutes=59), timedelta(hours=24, minutes=1)):
        with (
            time_machine.travel(resolved_at + later, tick=False),
            django_assert_max_num_queries(2),
        ):
            shown.append([row.key for row in dashboard.board(support).resolved])
    assert shown == [[ended.key], []]


@pytest.mark.parametrize("count", [5, 300])
def test_a_cold_board_page_takes_a_constant_number_of_queries(
    client_for, support, manager, count, django_assert_max_num_queries
):
    product = ProductFactory()
    for number in range(count if count < 20 else 20):
        make_incident(by=manager, summary=f"Incident {number}", products=[product])
    client = client_for(support)
    client.get("/support/")
    cache.clear()
    # Session, user, permissions; the marker, products and teams (nothing cached);
    # restricted incidents a board can show, the active and the resolved incidents.
    with django_assert_max_num_queries(9):
        response = client.get("/support/")
    assert response.status_code == 200
    assert response.content.decode().count('<tr id="board-') == min(count, 20)


def test_after_a_change_the_board_renders_only_the_changed_row(
    client_for, support, manager, django_capture_on_commit_callbacks
):
    incidents = [make_incident(by=manager, summary=f"Incident {n}") for n in range(5)]
    client = client_for(support)
    client.get("/support/")
    rendered = rows._row.cache_info().misses
    with django_capture_on_commit_callbacks(execute=True):  # the marker moves
        actions.add_timeline_entry(
            incidents[2], kind="observation", text="Still failing", by=manager
        )

    page = client.get("/support/").content.decode()

    assert rows._row.cache_info().misses == rendered + 1
    assert page.count('<tr id="board-') == 5
    # A row is its values' in the viewer's language: the Korean board renders anew.
    korean = client_for(support, HTTP_ACCEPT_LANGUAGE="ko").get("/support/").content.decode()
    assert rows._row.cache_info().misses == rendered + 6
    assert "미지정" in korean


@pytest.mark.parametrize("count", [3, 400])
def test_labelling_many_cases_takes_a_constant_number_of_queries(
    support, manager, count, django_assert_max_num_queries
):
    first = make_incident(by=manager, summary="First")
    second = make_incident(by=manager, summary="Second")
    SupportCase.objects.bulk_create(
        [SupportCase(reference=f"SD-{n}", label=first if n % 2 else None) for n in range(count)]
    )
    references = [f"SD-{n}" for n in range(count)]
    # Permissions, incident, cases (locked), where moved ones are, the change rows,
    # the labels, the entries and touches of both incidents, the follow-up's check.
    with django_assert_max_num_queries(14):
        result = support_actions.label_cases(
            key=second.key, references=references, by=support, move=True
        )
    assert result.changed == count
    assert len(result.moved) == count // 2
    changes = LabelChange.objects.filter(to_incident=second)
    assert changes.count() == count
    assert changes.filter(from_incident=first).count() == count // 2
    assert {change.by_id for change in changes} == {support.pk}
    assert SupportCase.objects.filter(label=second, labelled_by=support).count() == count


def test_labelling_records_who_and_when_on_each_change(support, manager):
    incident = make_incident(by=manager)
    support_actions.upsert_case(reference="SD-7")
    with time_machine.travel(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), tick=False):
        support_actions.label_cases(key=incident.key, references="SD-7", by=support)
    change = LabelChange.objects.get(case__reference="SD-7")
    assert (change.from_incident_id, change.to_incident_id, change.by_id) == (
        None,
        incident.pk,
        support.pk,
    )
    assert change.at == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert Permission.objects.filter(codename="label_case").exists()


def _orm_rows(user, now, product_id=None):
    """The board's two lists as the ORM reads and converts them, with its own SQL."""
    queries = dashboard._queries(Incident.objects.visible_to(user), product_id, None, now)
    return [list(map(tuple, queryset)) for queryset in queries]


def _board_rows(user, now, product_id=None):
    """The board's two lists as its compiled statements read them (prepared on
    PostgreSQL, their converted rows kept)."""
    statements = dashboard._statements(user, product_id, None)
    return [list(map(tuple, rows)) for rows in dashboard._run(statements, now, user.pk)]


# A change to an incident on the board: what it does to the incident numbered ``which``.
_CHANGES = st.tuples(
    st.integers(0, 3),
    st.sampled_from(["summary", "severity", "resolve", "restrict", "entry"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(_CHANGES, max_size=8), kept=st.sampled_from([0, 3, 2000]))
def test_the_board_reads_what_the_orm_reads_after_every_change(
    monkeypatch, support, manager, changes, kept
):
    # Rows converted once are kept (``Statement.converted``), within a bound: none, a
    # few, many.
    monkeypatch.setattr(statements, "CONVERTED_KEPT", kept)
    statements.forget()
    incidents = [make_incident(by=manager, summary=f"Incident {n}") for n in range(4)]
    now = timezone.now() + timedelta(minutes=1)
    assert _board_rows(support, now) == _orm_rows(support, now)
    for which, change, text in changes:
        incident = type(incidents[which]).objects.get(pk=incidents[which].pk)
        if change == "summary":
            actions.update_incident(incident, by=manager, summary=text.strip() or "Untitled")
        elif change == "severity":
            actions.update_incident(incident, by=manager, severity=1 + len(text) % 3)
        elif change == "resolve" and incident.status != Status.RESOLVED:
            if incident.assignee is None:
                actions.claim_incident(incident, by=manager)
            actions.transition_incident(
                incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
            )
        elif change == "restrict":
            actions.update_incident(incident, by=manager, restricted=not incident.restricted)
        else:
            actions.add_timeline_entry(
                incident, kind="observation", text=text.strip() or "Still failing", by=manager
            )
        assert _board_rows(support, now) == _orm_rows(support, now)
        converted = statements._threads.__dict__.get("converted", {})
        assert len(converted) <= kept + dashboard.ACTIVE_SHOWN + dashboard.RESOLVED_SHOWN


@pytest.mark.parametrize("how", INVOLVEMENTS)
def test_colleagues_of_the_same_permissions_share_statements_and_see_their_own(
    support, manager, monkeypatch, how
):
    """The board's and the metrics page's statements are compiled once for everyone with
    the same permissions (the viewer an id each run gives): a restricted incident shows
    to the colleague who takes part in it only, in whichever way, and the metrics count
    it for them only."""
    from incidents.support import metrics
    from tests.incidents.support.metrics_reference import assert_figures_match

    statements.forget()
    cache.clear()
    colleagues = [support, *(UserFactory(group="support") for _ in range(2))]
    restricted = make_incident(
        by=manager,
        summary="Payroll leak",
        restricted=True,
        impact_started_at=timezone.now() - timedelta(hours=2),
        detected_at=timezone.now() - timedelta(hours=1),
    )
    make_incident(by=manager, summary="Checkout is failing")
    involve(restricted, colleagues[1], how)
    compiled, compiled_metrics = [], []
    real, real_metrics = dashboard._compile, metrics._compile
    monkeypatch.setattr(
        dashboard, "_compile", lambda *args, **kw: compiled.append(1) or real(*args, **kw)
    )
    monkeypatch.setattr(
        metrics,
        "_compile",
        lambda *args, **kw: compiled_metrics.append(1) or real_metrics(*args, **kw),
    )
    seen = [{row.summary for row in dashboard.board(colleague).active} for colleague in colleagues]
    assert seen == [
        {"Checkout is failing"},
        {"Checkout is failing", "Payroll leak"},
        {"Checkout is failing"},
    ]
    assert len(compiled) == 2  # the active and resolved lists, once for the three
    for colleague in colleagues:
        assert_figures_match(colleague)
    counted = [metrics.compute(colleague).count for colleague in colleagues]
    assert counted == [1, 2, 1]
    assert len(compiled_metrics) == 1
    # What keys the cached metrics page: the restricted incidents each one sees.
    seen_restricted = [metrics._version_and_restricted(colleague)[1] for colleague in colleagues]
    assert seen_restricted == [(), (restricted.pk,), ()]


def test_statements_shared_by_a_set_of_permissions_hold_no_ones_id(manager):
    """Compiled for someone with an id no constant of the queries has, the board's and
    the metrics page's statements name them nowhere: only the stand-in, whose places
    each run fills with its viewer's id."""
    from incidents.support import metrics

    statements.forget()
    person = UserFactory(id=987_654, group="support")
    make_incident(by=manager, summary="Payroll leak", restricted=True)
    shape = metrics._Shape((False,) * 4, None, True, False, False, 0, True)
    versions, missing, seen = metrics._statements(person, shape)
    visibility = [
        *dashboard._statements(person, None, None),
        missing,
        seen,
        metrics._restricted_statement(person),
    ]
    for statement in [*visibility, versions]:
        assert person.pk not in statement.params
        assert str(person.pk) not in statement.sql
    for statement in visibility:
        assert statement.places[-1]  # the stand-in's, the last sentinel


def test_after_a_change_the_board_converts_only_the_changed_row(support, manager):
    statements.forget()  # no rows kept from another test
    incidents = [make_incident(by=manager, summary=f"Incident {n}") for n in range(5)]
    dashboard.board(support)
    active = dashboard._statements(support, None, None)[0]
    if not active.converters:
        pytest.skip("nothing to convert on this database")
    assert len(statements._threads.converted) == 5
    actions.add_timeline_entry(incidents[2], kind="observation", text="Still failing", by=manager)
    assert [row.summary for row in dashboard.board(support).active] == [
        f"Incident {n}" for n in range(5)
    ]
    assert len(statements._threads.converted) == 6  # the changed row's; the old ones stay


def _post_worker_init():
    """gunicorn's worker hook as gunicorn reads it: from the settings file it loads."""
    return runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["post_worker_init"]


def test_a_web_worker_renders_the_open_boards_before_it_serves(client_for, support, manager):
    """A gunicorn worker renders the boards people have open before its first request
    (gunicorn.conf.py): started, then the cache lost, its first page renders no row and
    compiles none of the board's statements, as a process that served before."""
    for n in range(3):
        make_incident(by=manager, summary=f"Checkout fails {n}")
    client = client_for(support)
    client.get("/support/")  # a board open
    rows.forget()
    statements.forget()
    _post_worker_init()(worker=None)
    kept = dict(statements._threads.statements)
    assert [key for key in kept if _is_board(key)]
    misses = rows._row.cache_info().misses
    cache.clear()
    page = client.get("/support/")
    assert "Checkout fails 2" in page.content.decode()
    assert rows._row.cache_info().misses == misses
    assert not [key for key in statements._threads.statements if key not in kept]


def _is_board(key):
    return isinstance(key, tuple) and key[0] == "board"


@contextmanager
def _silent_server():
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


@pytest.mark.parametrize("fault", ["refused", "silent"])
def test_a_web_worker_starts_when_the_boards_cannot_be_rendered(client_for, support, caplog, fault):
    """A cache that refuses connections at start (nothing listens on its port), or
    accepts them and never answers, is logged and the worker goes on to serve: no
    later than the warm-up's time limit."""
    client_for(support).get("/support/")  # a board open
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    with ExitStack() as stack:
        port = stack.enter_context(_silent_server()) if fault == "silent" else 1
        stack.enter_context(
            override_settings(
                CACHES={"default": {**redis, "LOCATION": f"redis://127.0.0.1:{port}"}}
            )
        )
        stack.enter_context(caplog.at_level(logging.WARNING, logger="incidents.support.board"))
        started = time.monotonic()
        assert support_board.warm_at_start(seconds=1) == 0
        assert time.monotonic() - started < 3
    assert "not rendered before serving" in caplog.text
    assert ("TimeLimitReached" if fault == "silent" else "ConnectionError") in caplog.text
