"""Support cases: labelling by key, bulk and CSV, the API, the customer follow-up and
the live dashboard (HANDBOOK §1)."""

import io
import re
import time
import types

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.cache import cache, caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comms.models import OutboundEmail
from comms.tasks import send_email
from config import statements
from incidents import actions
from incidents.models import EntryKind, Incident, Status
from incidents.support import actions as support_actions
from incidents.support import board, dashboard, rows, watched
from incidents.support import tasks as support_tasks
from incidents.support.models import LabelChange, SupportCase
from tests.factories import (
    ProductFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    make_incident,
)
from tests.receivers import SmtpReceiver

# Markers and pages compared across requests fall in one minute (``one_minute``).
pytestmark = pytest.mark.usefixtures("one_minute")


def case(reference, **fields):
    fields.setdefault("customer_name", f"Customer {reference}")
    fields.setdefault("contact_email", f"{reference.lower()}@customer.example")
    return support_actions.upsert_case(reference=reference, **fields)[0]


@pytest.fixture(autouse=True)
def warm_ups_not_queued(monkeypatch):
    """No broker message for a warm-up nobody runs here (a developer's worker would
    take it); the warm-up's own test looks at what is queued."""

    monkeypatch.setattr(support_tasks.warm_support_boards, "delay", lambda: None)


@pytest.fixture
def incident(support):
    return make_incident(by=support, summary="Checkout is failing", severity=2)


def resolve(incident, manager):
    actions.claim_incident(incident, by=manager)
    return actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )


# Labelling ----------------------------------------------------------------------------


def test_label_by_key_in_any_case_with_spaces_and_records_it(support, incident):
    case("SD-1")
    case("SD-2")
    result = support_actions.label_cases(
        key=f"  {incident.key.lower()} ", references="SD-1, SD-2", by=support
    )
    assert result.labelled == ["SD-1", "SD-2"]
    assert set(incident.support_cases.values_list("reference", flat=True)) == {"SD-1", "SD-2"}
    entry = incident.timeline.filter(kind=EntryKind.CASES).get()
    assert "labelled 2 support cases" in entry.text
    assert LabelChange.objects.filter(to_incident=incident, by=support).count() == 2
    # Labelling again changes nothing and says so.
    again = support_actions.label_cases(key=incident.key, references=["SD-1"], by=support)
    assert again.already == ["SD-1"]
    assert again.changed == 0


def test_unknown_references_refuse_everything_naming_each(support, incident):
    case("SD-1")
    with pytest.raises(actions.ActionRefused) as refused:
        support_actions.label_cases(key=incident.key, references="SD-1 SD-404 SD-405", by=support)
    assert refused.value.field == "references"
    assert "SD-404" in refused.value.message
    assert "SD-405" in refused.value.message
    assert not SupportCase.objects.filter(label__isnull=False).exists()
    assert not LabelChange.objects.exists()


def test_unknown_key_and_unseen_restricted_incident_are_refused_alike(support, security, incident):
    case("SD-1")
    secret = make_incident(by=security, summary="Leak", restricted=True)
    for key in ("HOT-99999", secret.key):
        with pytest.raises(actions.ActionRefused) as refused:
            support_actions.label_cases(key=key, references="SD-1", by=support)
        assert refused.value.field == "key"
        assert key in refused.value.message
    # The security team sees it, so may label with it.
    security.groups.add(*support.groups.all())
    security = type(security).objects.get(pk=security.pk)
    assert support_actions.label_cases(key=secret.key, references="SD-1", by=security).labelled


def test_moving_and_removing_a_label_are_recorded(support, incident):
    other = make_incident(by=support, summary="Login slow")
    sd = case("SD-1")
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)
    result = support_actions.label_cases(key=other.key, references="SD-1", by=support, move=True)
    assert result.moved == ["SD-1"]
    assert "moved 1 support case to" in incident.timeline.filter(kind=EntryKind.CASES).last().text
    support_actions.remove_label(sd, by=support)
    sd.refresh_from_db()
    assert sd.label is None
    history = list(
        sd.label_history.order_by("at", "pk").values_list("from_incident", "to_incident")
    )
    assert history == [(None, incident.pk), (incident.pk, other.pk), (other.pk, None)]
    with pytest.raises(actions.ActionRefused):
        support_actions.remove_label(sd, by=support)


def test_people_without_the_permission_cannot_label(security, client_for, incident):
    case("SD-1")
    with pytest.raises(actions.ActionRefused):
        support_actions.label_cases(key=incident.key, references="SD-1", by=security)
    client = client_for(security)
    assert (
        client.post("/support/label/", {"key": incident.key, "references": "SD-1"}).status_code
        == 403
    )
    assert client.get("/support/cases/").status_code == 403


def test_bulk_paste_and_csv_report_each_outcome(client_for, support, incident):
    other = make_incident(by=support, summary="Other")
    for ref in ("SD-1", "SD-2", "SD-3"):
        case(ref)
    support_actions.label_cases(key=incident.key, references="SD-2", by=support)
    support_actions.label_cases(key=other.key, references="SD-3", by=support)
    upload = SimpleUploadedFile(
        "cases.csv", b"reference,customer\nSD-1,Acme\nSD-2,Beta\nSD-3,Gamma\nSD-9,Nope\n"
    )
    response = client_for(support).post(
        "/support/cases/",
        {"key": incident.key.lower(), "references": "", "csv_file": upload, "move": "1"},
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.labelled, result.moved, result.already) == (["SD-1"], ["SD-3"], ["SD-2"])
    assert result.refused == ["SD-9: no such case."]
    assert "SD-9: no such case." in response.content.decode()


def test_bulk_with_a_bad_key_writes_nothing_and_names_the_field(client_for, support):
    case("SD-1")
    response = client_for(support).post(
        "/support/cases/", {"key": "HOT-424242", "references": "SD-1"}
    )
    assert response.status_code == 400
    assert "No incident HOT-424242" in response.content.decode()
    assert not SupportCase.objects.filter(label__isnull=False).exists()


# API ----------------------------------------------------------------------------------


def test_api_upserts_cases_by_reference(api_for, support, security):
    api = api_for(support)
    body = {
        "reference": "SD-7",
        "customer_name": "Ana",
        "organisation": "Acme",
        "contact_email": "ana@acme.example",
        "subject": "Cannot pay",
    }
    created = api.post("/api/cases/", body, format="json")
    assert created.status_code == 201
    assert created.json()["incident"] is None
    updated = api.post("/api/cases/", [{**body, "subject": "Still cannot pay"}], format="json")
    assert updated.status_code == 200
    assert SupportCase.objects.get().subject == "Still cannot pay"
    bad = api.post("/api/cases/", {"reference": "SD-8", "contact_email": "nope"}, format="json")
    assert bad.status_code == 400
    assert "contact_email" in bad.json()
    assert api_for(security).post("/api/cases/", body, format="json").status_code == 403


def test_api_labels_cases_all_or_nothing(api_for, support, incident):
    case("SD-1")
    api = api_for(support)
    url = f"/api/incidents/{incident.key.lower()}/cases/"
    refused = api.post(url, {"references": ["SD-1", "SD-2"]}, format="json")
    assert refused.status_code == 400
    assert "SD-2" in str(refused.json())
    assert not SupportCase.objects.filter(label=incident).exists()
    done = api.post(url, {"references": ["SD-1"]}, format="json")
    assert done.json()["labelled"] == ["SD-1"]
    assert [row["reference"] for row in api.get(url).json()] == ["SD-1"]


# Customer follow-up ------------------------------------------------------------------


def test_resolving_queues_one_mail_per_labelled_case_once(support, manager, incident):
    for ref in ("SD-1", "SD-2"):
        case(ref)
    case("SD-3", contact_email="")  # nobody to write to
    support_actions.label_cases(key=incident.key, references="SD-1 SD-2 SD-3", by=support)
    incident = resolve(incident, manager)
    mails = OutboundEmail.objects.filter(subject__startswith="Resolved:")
    assert sorted(mails.values_list("to", flat=True)) == [
        "sd-1@customer.example",
        "sd-2@customer.example",
    ]
    assert "post-incident review" in mails.first().text
    assert SupportCase.objects.filter(followed_up_at__isnull=False).count() == 2
    # Reopened and resolved again: nobody is written to twice.
    actions.transition_incident(incident, to=Status.FIXING, by=manager)
    resolve_again = actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    assert resolve_again.status == Status.RESOLVED
    assert mails.count() == 2
    # A case labelled after resolution is followed up at once.
    case("SD-4")
    support_actions.label_cases(key=incident.key, references="SD-4", by=support)
    assert mails.count() == 3


def test_follow_up_uses_the_product_template_and_can_be_turned_off(
    support, manager, settings, tmp_path
):
    product = ProductFactory(name="Jira", slug="jira")
    (tmp_path / "incidents" / "support" / "follow_up").mkdir(parents=True)
    (tmp_path / "incidents" / "support" / "follow_up" / "jira.txt").write_text(
        "Jira is back, {{ case.customer_name }}."
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]},
        *settings.TEMPLATES[1:],
    ]
    jira = make_incident(by=support, products=[product])
    quiet = make_incident(by=support)
    case("SD-1", customer_name="Ana")
    case("SD-2")
    support_actions.label_cases(key=jira.key, references="SD-1", by=support)
    support_actions.label_cases(key=quiet.key, references="SD-2", by=support)
    support_actions.set_customer_follow_up(quiet, enabled=False, by=manager)
    resolve(jira, manager)
    resolve(quiet, manager)
    [mail] = OutboundEmail.objects.all()
    assert mail.text.strip() == "Jira is back, Ana."
    assert quiet.timeline.filter(kind=EntryKind.CASES, text__contains="follow-up off").exists()


def test_customers_are_never_mailed_about_a_restricted_incident(client_for, support, manager):
    secret = make_incident(by=support, restricted=True, summary="Token leak in auth")
    case("SD-9", customer_name="Ana")
    support_actions.label_cases(key=secret.key, references="SD-9", by=support)

    resolve(secret, manager)

    assert not OutboundEmail.objects.exists()
    page = client_for(manager).get(f"/support/follow-up/{secret.key}/").content.decode()
    assert "customers are never e-mailed" in page
    assert "Turn follow-up" not in page


def test_manager_previews_the_follow_up(client_for, support, manager, responder, incident):
    case("SD-1", customer_name="Ana", organisation="Acme")
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)
    page = client_for(manager).get(f"/support/follow-up/{incident.key}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "sd-1@customer.example" in body
    assert "Hello Ana" in body
    assert client_for(responder).get(f"/support/follow-up/{incident.key}/").status_code == 403
    client_for(manager).post(f"/support/follow-up/{incident.key}/", {})
    incident.refresh_from_db()
    assert incident.customer_follow_up is False


@pytest.mark.django_db(transaction=True)
def test_follow_up_mails_reach_the_smtp_server_exactly_once(worker, settings):
    from tests.factories import UserFactory

    support = UserFactory(username="sam", group="support")
    manager = UserFactory(username="maya", group="incident manager")
    with SmtpReceiver() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = smtp.port
        settings.EMAIL_USE_TLS = False
        incident = make_incident(by=support)
        case("SD-1")
        support_actions.label_cases(key=incident.key, references="SD-1", by=support)
        resolve(incident, manager)
        case("SD-2")
        support_actions.label_cases(key=incident.key, references="SD-2", by=support)
        deadline = time.monotonic() + 20
        while len(smtp.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Running a send again (a redelivered task) sends nothing more.
        for mail in OutboundEmail.objects.all():
            assert send_email(mail.pk) == "nothing to do"
        received = sorted(message["To"] for message in smtp.messages)
    assert received == ["sd-1@customer.example", "sd-2@customer.example"]


# Pages --------------------------------------------------------------------------------


def test_incident_page_list_and_assessment_show_the_cases(client_for, support, manager, incident):
    case("SD-1", organisation="Acme")
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)
    detail = client_for(support).get(f"/incidents/{incident.key}/").content.decode()
    assert 'id="support-cases"' in detail
    assert "Acme" in detail
    assert "SD-1" in detail
    listing = client_for(support).get("/incidents/")
    assert listing.context["page"].object_list[0].case_count == 1
    assessment = client_for(manager).get(f"/incidents/{incident.key}/assessment/")
    assert assessment.context["labelled_cases"] == 1


def test_home_lands_support_on_the_dashboard(client_for, support, security):
    assert client_for(support).get("/")["Location"] == "/support/"
    assert client_for(security).get("/")["Location"] == "/incidents/"


def board_keys(response):
    """The keys of the active incidents, in the order the board shows them."""
    return re.findall(r'<tr id="board-([A-Z]+-[0-9]+)"', response.content.decode())


def test_dashboard_lists_active_by_severity_then_age_and_labels_inline(
    client_for, htmx_for, support
):
    minor = make_incident(by=support, severity=3, summary="Minor")
    major = make_incident(by=support, severity=2, summary="Major")
    critical = make_incident(by=support, severity=1, summary="Critical")
    page = client_for(support).get("/support/")
    assert board_keys(page) == [critical.key, major.key, minor.key]
    assert 'class="sev-row-1 is-new"' in page.content.decode()
    # Each row's form posts; where the answer goes, and the reset after a success, come
    # from the table's body (htmx inherits the one, the other's event bubbles up to it).
    body = re.search(r"<tbody[^>]*>", page.content.decode()).group(0)
    assert 'hx-target="#label-result"' in body
    assert 'hx-swap="innerHTML"' in body
    assert 'hx-on::after-request="if (event.detail.xhr.status < 300) event.target.reset()"' in body
    assert page.content.decode().count('hx-post="/support/label/"') == 3
    case("SD-1")
    labelled = htmx_for(support).post("/support/label/", {"key": major.key, "references": "SD-1"})
    assert labelled.status_code == 200
    assert f"Labelled SD-1 with {major.key}" in labelled.content.decode()
    refused = htmx_for(support).post("/support/label/", {"key": major.key, "references": "SD-2"})
    assert refused.status_code == 400
    assert "SD-2" in refused.content.decode()


def test_dashboard_filters_by_product_and_team_in_the_url(client_for, support):
    team = TeamFactory(slug="payments")
    product = ProductFactory(slug="checkout")
    mine = make_incident(by=support, faulty_service=ServiceFactory(team=team), products=[product])
    make_incident(by=support)
    client = client_for(support)
    for query in ("product=checkout", "team=payments"):
        assert board_keys(client.get(f"/support/?{query}")) == [mine.key]
    bad = client.get("/support/?team=nope")
    assert bad.status_code == 400
    assert "team" in bad.content.decode()


def test_the_title_and_filters_follow_the_viewers_language_choice_and_right(client_for, support):
    """The page's head is rendered once per process for each language, filter choice
    and labelling right: no viewer gets another's."""
    ProductFactory(name="Checkout", slug="checkout")
    english = client_for(support).get("/support/?product=checkout").content.decode()
    assert '<option value="checkout" selected>Checkout</option>' in english
    assert 'class="btn" href="/support/cases/">Support cases</a>' in english
    korean = client_for(support, HTTP_ACCEPT_LANGUAGE="ko").get("/support/").content.decode()
    assert "모든 제품" in korean
    assert ">지원 사례</a>" in korean
    assert "selected>Checkout" not in korean
    viewer = UserFactory(username="vic")
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    unlabelling = client_for(viewer).get("/support/").content.decode()
    assert "Any product" in unlabelling
    assert 'class="btn" href="/support/cases/"' not in unlabelling


def _own(queries):
    """The queries a view makes beyond signing in (the session and the user)."""
    return [
        q["sql"]
        for q in queries
        if "django_session" not in q["sql"] and '"auth_user"' not in q["sql"].split("WHERE")[0]
    ]


def test_unchanged_poll_is_204_from_the_cached_marker_without_a_query(
    htmx_for, support, django_capture_on_commit_callbacks
):
    make_incident(by=support)
    client = htmx_for(support)
    with time_machine.travel(timezone.now(), tick=False):
        marker = dashboard.change_marker()
        client.get(f"/support/board/?since={marker}")  # session and user warmed up
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/support/board/?since={marker}")
        assert response.status_code == 204
        assert response.content == b""
        assert _own(queries) == []
        # The marker moves when the change commits, not before.
        with django_capture_on_commit_callbacks(execute=True):
            new = make_incident(by=support, severity=1, summary="Everything is down")
            assert client.get(f"/support/board/?since={marker}").status_code == 204
        changed = client.get(f"/support/board/?since={marker}")
    assert changed.status_code == 200
    assert f'id="board-{new.key}" class="sev-row-1 is-new"' in changed.content.decode()


def test_a_lost_marker_starts_again_from_the_clock_never_from_an_earlier_version(
    htmx_for, support, django_capture_on_commit_callbacks, monkeypatch
):
    """A version names one state of the boards, in the cache and in every process that
    kept a board under it: after a loss it starts again past every earlier one (from
    the clock), without a query; open boards are read again once (polls past the
    moment a process answers them from the marker it read: ``kept_marker``)."""
    monkeypatch.setattr(dashboard, "MARKER_KEPT_SECONDS", 0)
    make_incident(by=support)
    client = htmx_for(support)
    marker = dashboard.change_marker()
    for _ in range(3):  # changes move the version one by one
        with django_capture_on_commit_callbacks(execute=True):
            make_incident(by=support, summary="Another")
    moved = dashboard.change_marker()
    cache.delete(dashboard.VERSION_KEY)  # evicted, or Redis restarted
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/support/board/?since={moved}").status_code == 200
    again = dashboard.change_marker()
    assert int(again.split("-")[0]) > int(moved.split("-")[0]) > int(marker.split("-")[0])
    # Changes still move it, cached or not.
    cache.delete(dashboard.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        make_incident(by=support, summary="Second")
    assert dashboard.change_marker() not in (marker, moved, again)
    assert not [sql for sql in _own(queries) if 'MAX("incidents_incident"."updated_at")' in sql]


@pytest.fixture
def cache_reads(monkeypatch):
    """The keys asked of the cache."""
    asked = []
    backend = caches["default"]
    get, get_many = backend.get, backend.get_many
    monkeypatch.setattr(
        backend, "get", lambda key, *a, **kw: asked.append(key) or get(key, *a, **kw)
    )
    monkeypatch.setattr(backend, "get_many", lambda keys: asked.extend(keys) or get_many(keys))
    return asked


@pytest.fixture
def kept_a_minute(monkeypatch):
    """The kept marker lasts a minute and the clock's minute stands still: a test's
    polls come well within both, however busy the machine."""
    monkeypatch.setattr(dashboard, "MARKER_KEPT_SECONDS", 60)
    with time_machine.travel(timezone.now(), tick=False):
        yield


def _later(monkeypatch, seconds):
    """The board's monotonic clock ``seconds`` on (its wall clock as it is)."""
    clock = types.SimpleNamespace(
        monotonic=lambda: time.monotonic() + seconds, time_ns=time.time_ns
    )
    monkeypatch.setattr(dashboard, "time", clock)


@pytest.mark.usefixtures("kept_a_minute")
def test_an_unchanged_poll_soon_after_another_asks_nothing_of_the_cache(
    htmx_for, support, cache_reads
):
    make_incident(by=support)
    client = htmx_for(support)
    marker = dashboard.change_marker()
    cache_reads.clear()
    assert client.get(f"/support/board/?since={marker}").status_code == 204
    assert cache_reads == []


@pytest.mark.usefixtures("kept_a_minute")
def test_a_change_made_elsewhere_reaches_the_polls_once_the_kept_marker_is_old(
    htmx_for, support, monkeypatch, cache_reads
):
    """Another process moved the marker (in the cache only): this one's polls answer
    "unchanged" from the marker it read until that is ``MARKER_KEPT_SECONDS`` old."""
    make_incident(by=support, summary="Checkout down")
    client = htmx_for(support)
    marker = dashboard.change_marker()
    cache.incr(dashboard.VERSION_KEY)
    _later(monkeypatch, 59)
    assert client.get(f"/support/board/?since={marker}").status_code == 204
    _later(monkeypatch, 61)
    cache_reads.clear()
    response = client.get(f"/support/board/?since={marker}")
    assert response.status_code == 200
    assert dashboard.VERSION_KEY in cache_reads
    assert "Checkout down" in response.content.decode()


@pytest.mark.usefixtures("kept_a_minute")
def test_a_poll_holding_another_marker_than_the_kept_one_asks_the_cache(
    htmx_for, support, cache_reads
):
    """A viewer who read a newer marker from another process is never sent the board
    of the version this one kept: the poll asks the cache."""
    make_incident(by=support)
    client = htmx_for(support)
    marker = dashboard.change_marker()
    newer = f"{cache.incr(dashboard.VERSION_KEY)}-{marker.split('-')[1]}"
    cache_reads.clear()
    assert client.get(f"/support/board/?since={newer}").status_code == 204
    assert dashboard.VERSION_KEY in cache_reads


@pytest.mark.usefixtures("kept_a_minute")
def test_a_change_made_here_reaches_the_next_poll_at_once(
    htmx_for, support, django_capture_on_commit_callbacks
):
    incident = make_incident(by=support, summary="Checkout down")
    client = htmx_for(support)
    marker = dashboard.change_marker()
    assert client.get(f"/support/board/?since={marker}").status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_timeline_entry(incident, kind=EntryKind.OBSERVATION, text="Still", by=support)
    assert client.get(f"/support/board/?since={marker}").status_code == 200


@pytest.mark.usefixtures("kept_a_minute")
def test_an_older_version_read_by_another_thread_never_replaces_the_kept_one(
    htmx_for, support, cache_reads
):
    """A thread that read the marker before this process moved it must not bring the
    old version back: the change is seen at once still."""
    make_incident(by=support)
    client = htmx_for(support)
    old = dashboard.change_marker()
    moved = dashboard._next_version()
    dashboard._keep_version(int(old.split("-")[0]), time.monotonic())  # read before it
    assert dashboard.kept_marker().startswith(f"{moved}-")
    cache_reads.clear()
    assert client.get(f"/support/board/?since={old}").status_code == 200
    assert dashboard.VERSION_KEY in cache_reads


def test_a_cache_outage_never_fails_a_committed_change(
    support, monkeypatch, django_capture_on_commit_callbacks
):
    class DownCache:
        def __getattr__(self, name):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(dashboard, "cache", DownCache())
    monkeypatch.setattr(watched, "cache", DownCache())
    later = []
    with django_capture_on_commit_callbacks(execute=True):
        incident = make_incident(by=support, summary="Committed anyway")
        transaction.on_commit(lambda: later.append("ran"))
    assert Incident.objects.filter(pk=incident.pk).exists()
    assert later == ["ran"]  # the callbacks queued after the marker's still run


def _make_incidents(support, count):
    """``count`` active incidents, copies of one logged incident: the number of rows is
    what matters here."""

    service = ServiceFactory()
    product = ProductFactory()
    base = make_incident(by=support, faulty_service=service, products=[product])
    rows = [
        Incident(
            prefix=base.prefix,
            number=number,
            key=f"{base.prefix}-{number}",
            summary=f"Incident {number}",
            description="-",
            severity=1 + number % 3,
            faulty_service=service,
            created_by=support,
            detected_at=base.detected_at,
        )
        for number in range(base.number + 1, base.number + count)
    ]
    Incident.objects.bulk_create(rows)
    through = Incident.affected_products.through
    through.objects.bulk_create(
        [
            through(incident_id=pk, product_id=product.pk)
            for pk in Incident.objects.exclude(pk=base.pk).values_list("pk", flat=True)
        ]
    )
    case("SD-1")
    support_actions.label_cases(key=base.key, references="SD-1", by=support)
    return base


def _board_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/support/board/?since=stale")
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("count", [10, 1000])
def test_a_changed_poll_takes_a_constant_number_of_queries(
    htmx_for, support, count, django_capture_on_commit_callbacks
):
    base = _make_incidents(support, count)
    client = htmx_for(support)
    client.get("/support/board/?since=stale")
    shown = min(count, dashboard.ACTIVE_SHOWN)
    # The board rendered for someone who sees the same rows: the session and the
    # user (permissions are kept, config/auth.py); no restricted incident is on a
    # board.
    hit, response = _board_queries(client)
    assert hit == SHARED_BOARD_QUERIES
    assert len(board_keys(response)) == shown
    # One incident changed: the board again, all its rows rendered at once. Plus the
    # active incidents (with their total, products, cases and last public update as
    # columns) and the recently resolved ones; the restricted incidents a board can
    # show (none) were noted by the change. The same for 10 or 1,000.
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_timeline_entry(base, kind=EntryKind.OBSERVATION, text="Worse", by=support)
    changed, response = _board_queries(client)
    assert changed == BOARD_QUERIES
    assert len(board_keys(response)) == shown
    # Nothing cached (no marker, no permissions, no note of restricted incidents, no
    # catalogue): the permissions, the note and the catalogue (products and teams, whose
    # names the rows show) read from the database, the marker started again.
    cache.clear()
    miss, response = _board_queries(client)
    assert miss == BOARD_QUERIES + 4
    assert len(board_keys(response)) == shown


def test_a_board_one_viewer_read_serves_the_next_from_the_process(
    htmx_for, support, responder, monkeypatch, django_capture_on_commit_callbacks
):
    """Viewers who see the same board share it within a process too: the next reads no
    board (about 150 KB) from the cache. A change is a new board all the same."""
    first = make_incident(by=support, summary="Checkout down")
    assert board_keys(htmx_for(responder).get("/support/board/?since=stale")) == [first.key]
    asked = []
    backend = caches["default"]  # this test's, not the proxy
    get_many = backend.get_many
    monkeypatch.setattr(backend, "get_many", lambda keys: asked.extend(keys) or get_many(keys))
    assert board_keys(htmx_for(support).get("/support/board/?since=stale")) == [first.key]
    assert not [key for key in asked if re.fullmatch(r"support-board:[0-9a-f]{32}", key)]
    with django_capture_on_commit_callbacks(execute=True):
        second = make_incident(by=support, summary="Search down")
    assert set(board_keys(htmx_for(support).get("/support/board/?since=stale"))) == {
        first.key,
        second.key,
    }


def test_a_cache_that_lost_the_open_boards_learns_them_at_the_next_poll(
    htmx_for, support, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(support_tasks.warm_support_boards, "delay", lambda: queued.append(True))
    make_incident(by=support)
    client = htmx_for(support)
    client.get("/support/board/?since=stale")
    cache.clear()  # a restarted Redis
    client.get("/support/board/?since=stale")
    with django_capture_on_commit_callbacks(execute=True):
        make_incident(by=support, summary="Second")
    assert queued == [True]


def test_a_change_notes_the_restricted_incidents_a_board_can_show(
    htmx_for, support, manager, django_capture_on_commit_callbacks
):
    client = htmx_for(support)
    client.get("/support/board/?since=stale")  # a board is open
    with django_capture_on_commit_callbacks(execute=True):
        secret = make_incident(by=manager, summary="Leaked credentials", restricted=True)
    version, restricted = cache.get(dashboard.RESTRICTED_KEY)
    assert restricted == [secret.pk]
    assert dashboard.change_marker().startswith(f"{version}-")
    # The viewer reads only which of them they may see (none).
    queries, response = _board_queries(client)
    assert queries == BOARD_QUERIES + 1
    assert board_keys(response) == []
    assert board_keys(htmx_for(manager).get("/support/board/?since=stale")) == [secret.key]


SHARED_BOARD_QUERIES = 2
BOARD_QUERIES = 4


def test_a_worker_renders_the_open_boards_after_a_change(
    htmx_for, support, security, manager, monkeypatch, django_capture_on_commit_callbacks
):

    queued = []
    monkeypatch.setattr(support_tasks.warm_support_boards, "delay", lambda: queued.append(True))
    public = make_incident(by=manager, summary="Slow search")
    secret = make_incident(by=manager, summary="Leaked credentials", restricted=True)
    with django_capture_on_commit_callbacks(execute=True):
        actions.change_severity(public, severity=2, by=manager)
    assert queued == []  # no board open, nothing to warm
    for person in (support, security):  # two boards open: with and without the secret
        htmx_for(person).get("/support/board/?since=stale")
    with django_capture_on_commit_callbacks(execute=True):
        actions.change_severity(public, severity=1, by=manager)
    assert queued == [True]
    # Changes before that warm-up starts are in the marker it reads: none queued.
    with django_capture_on_commit_callbacks(execute=True):
        make_incident(by=manager, summary="Search is down too")
    assert queued == [True]
    assert support_tasks.warm_support_boards() == "2 boards checked"
    _assert_boards_ready(htmx_for, support, security, secret)
    # A second run renders nothing: the boards are read from the cache.
    with CaptureQueriesContext(connection) as queries:
        assert support_tasks.warm_support_boards() == "2 boards checked"
    assert not [q for q in queries if "incidents_supportcase" in q["sql"]]
    # Once a warm-up has started, the next change queues another.
    with django_capture_on_commit_callbacks(execute=True):
        actions.change_severity(public, severity=2, by=manager)
    assert queued == [True, True]
    # Someone who may no longer see incidents gets no board rendered for them.
    security.groups.clear()
    support.groups.clear()
    assert support_tasks.warm_support_boards() == "0 boards checked"


def _assert_boards_ready(htmx_for, support, security, secret):
    """The first to poll after the change finds the board ready: signing in only (plus,
    for support, which restricted incidents are on a board they may see), each board as
    its viewer sees it, with the severity changed to 1."""
    shown = {}
    for person, extra in ((support, 1), (security, 0)):
        queries, response = _board_queries(htmx_for(person))
        assert queries == SHARED_BOARD_QUERIES + extra
        shown[person] = response.content.decode()
    assert 'class="sev-row-1 is-new"' in shown[support]
    assert secret.key in shown[security]
    assert secret.key not in shown[support]
    assert "Leaked credentials" not in shown[support]


def test_a_web_worker_renders_each_open_board_for_whom_it_was_open(
    htmx_for, support, security, manager, django_capture_on_commit_callbacks
):
    """Before it serves, a web worker renders the open boards (``board.warm_at_start``)
    into the cache, each as its viewer sees it: after a change, the first poll finds it
    ready (signing in only), a restricted incident is on the board of who may see it and
    on no other, and the worker notes no board of its own."""
    public = make_incident(by=manager, summary="Slow search")
    secret = make_incident(by=manager, summary="Leaked credentials", restricted=True)
    for person in (support, security):  # two boards open: with and without the secret
        htmx_for(person).get("/support/board/?since=stale")
    with django_capture_on_commit_callbacks(execute=True):
        actions.change_severity(public, severity=1, by=manager)
    shapes = dashboard.BOARDS.shapes()
    # A process just started: nothing kept.
    board.forget()
    rows.forget()
    statements.forget()
    assert board.warm_at_start() == 2
    assert dashboard.BOARDS.shapes() == shapes
    _assert_boards_ready(htmx_for, support, security, secret)


def test_a_large_board_shows_the_first_rows_and_links_to_the_full_list(
    client_for, support, monkeypatch
):
    monkeypatch.setattr(dashboard, "ACTIVE_SHOWN", 2)
    team = TeamFactory(slug="payments")
    service = ServiceFactory(team=team)
    minor = make_incident(by=support, severity=3, faulty_service=service)
    critical = make_incident(by=support, severity=1, faulty_service=service)
    major = make_incident(by=support, severity=2, faulty_service=service)
    page = client_for(support).get("/support/?team=payments")
    assert board_keys(page) == [critical.key, major.key]
    assert minor.key not in page.content.decode()
    text = page.content.decode()
    assert "Showing the first 2 of 3 active incidents" in text
    assert 'href="/incidents/?status=open&amp;team=payments"' in text


def test_the_board_reads_in_the_viewers_language_full_or_empty(client_for, support, monkeypatch):
    """The board's words are translated once per language (rows.py): a Korean viewer
    reads the cap, its link (the URL escaped) and the empty states in Korean, and an
    English viewer of the same board after them still reads English."""
    monkeypatch.setattr(dashboard, "ACTIVE_SHOWN", 1)
    ProductFactory(name="Quiet", slug="quiet")
    TeamFactory(slug="payments")
    make_incident(by=support, severity=2)
    make_incident(by=support, severity=3)
    korean = client_for(support, HTTP_ACCEPT_LANGUAGE="ko")
    text = korean.get("/support/").content.decode()
    assert "진행 중인 인시던트 2건 중 처음 1건을 표시합니다" in text
    assert '<a href="/incidents/?status=open">' in text
    assert "지난 24시간 동안 해결된 인시던트가 없습니다." in text
    filtered = korean.get("/support/?product=quiet&team=payments").content.decode()
    assert "이 필터에 해당하는 진행 중인 인시던트가 없습니다. 모두 조용합니다." in filtered
    assert "이 페이지는 스스로 새로 고쳐집니다. 새 인시던트는 5초 안에" in filtered
    assert 'hx-get="/support/board/?product=quiet&amp;team=payments&amp;since=' in filtered
    english = client_for(support).get("/support/?product=quiet&team=payments").content.decode()
    assert "No active incidents for these filters. All quiet." in english
    assert "Showing the first" in client_for(support).get("/support/").content.decode()


def test_a_changed_incident_shows_on_the_next_poll(
    htmx_for, support, manager, django_capture_on_commit_callbacks
):
    quiet = [make_incident(by=support, severity=3, summary=f"Quiet {n}") for n in range(3)]
    changing = make_incident(by=support, severity=3, summary="Reports are slow")
    client = htmx_for(support)
    marker = dashboard.change_marker()
    client.get(f"/support/board/?since={marker}-old")
    with django_capture_on_commit_callbacks(execute=True):
        actions.change_severity(changing, severity=1, by=manager)
        case("SD-9")
        support_actions.label_cases(key=changing.key, references="SD-9", by=support)
    assert dashboard.change_marker() != marker
    response = client.get(f"/support/board/?since={marker}")
    assert response.status_code == 200
    assert board_keys(response)[0] == changing.key
    row = re.search(rf'<tr id="board-{changing.key}".*?</tr>', response.content.decode(), re.S)
    assert "SEV 1" in row.group(0)
    assert "<strong>1</strong>" in row.group(0)
    assert all(incident.key in response.content.decode() for incident in quiet)


def test_cached_rows_never_show_a_restricted_incident_to_others(
    htmx_for, support, security, manager
):
    secret = make_incident(by=manager, summary="Leaked credentials", restricted=True)
    public = make_incident(by=manager, summary="Slow search")
    shown_to_security = htmx_for(security).get("/support/board/?since=old").content.decode()
    assert secret.key in shown_to_security  # its row is cached now
    shown_to_support = htmx_for(support).get("/support/board/?since=old").content.decode()
    assert public.key in shown_to_support
    assert secret.key not in shown_to_support
    assert "Leaked credentials" not in shown_to_support


def test_a_board_read_after_an_incident_became_restricted_is_not_shared(support, manager, htmx_for):
    secret = make_incident(by=support, summary="Leaked credentials", restricted=True)
    board = dashboard.board(support)  # the creator sees it
    assert [row.pk for row in board.active] == [secret.pk]
    # Checked before it became restricted: nobody's visibility names it.
    assert not board.shareable_with(())
    assert board.shareable_with((secret.pk,))
    assert board.shareable_with(None)


def test_cached_rows_say_the_exact_time_in_the_viewers_zone(client_for, support):
    incident = make_incident(by=support)
    started = incident.impact_started_at or incident.created_at
    utc = client_for(support).get("/support/").content.decode()
    tokyo_client = client_for(support)
    tokyo_client.cookies["tz"] = "Asia/Tokyo"
    tokyo = tokyo_client.get("/support/").content.decode()
    for html, zone in ((utc, "UTC"), (tokyo, "JST")):
        row = re.search(rf'<tr id="board-{incident.key}".*?</tr>', html, re.S).group(0)
        # The exact time, never a relative text that a cached row would keep too long;
        # the page's script makes it relative.
        assert f'<time class="ago" datetime="{started.isoformat()}"' in row
        assert zone in row
        assert " ago" not in row
    assert "js/relative-time.js" in utc


def test_rows_show_products_by_name_and_the_last_published_update(client_for, support):
    from comms.models import Communication
    from comms.models import State as CommState

    updated = make_incident(
        by=support,
        summary="Updated",
        products=[ProductFactory(name="Zebra"), ProductFactory(name="Apple")],
    )
    quiet = make_incident(by=support, summary="Quiet")
    published_at = timezone.now().replace(microsecond=0)
    for state, at in ((CommState.PUBLISHED, published_at), (CommState.DRAFT, None)):
        Communication.objects.create(
            incident=updated,
            audience="external",
            kind="initial",
            summary="-",
            state=state,
            published_at=at,
            author=support,
        )
    rows = {row.key: row for row in dashboard.board(support).active}
    assert rows[updated.key].product_names == ("Apple", "Zebra")
    assert rows[updated.key].last_update_at == published_at
    assert rows[quiet.key].product_names == ()
    assert rows[quiet.key].last_update_at is None
    # Names come from the catalogue; one read before a product was added lacks it: that
    # product's name from the database.
    apple = dashboard.Choice(updated.affected_products.get(name="Apple").pk, "apple", "Aardvark")
    rows = {row.key: row for row in dashboard.board(support, choices=([apple], [])).active}
    assert rows[updated.key].product_names == ("Aardvark", "Zebra")
    html = client_for(support).get("/support/").content.decode()
    row = re.search(rf'<tr id="board-{quiet.key}".*?</tr>', html, re.S).group(0)
    assert "none yet" in row
    row = re.search(rf'<tr id="board-{updated.key}".*?</tr>', html, re.S).group(0)
    assert f'datetime="{published_at.isoformat()}"' in row
    assert row.index(">Apple<") < row.index(">Zebra<")


def test_a_new_product_or_team_shows_in_the_filters_at_once(
    client_for, support, django_capture_on_commit_callbacks
):
    client = client_for(support)
    assert "Brand new" not in client.get("/support/").content.decode()  # lists cached
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(name="Brand new", slug="brand-new")
        TeamFactory(name="New team", slug="new-team")
    page = client.get("/support/?product=brand-new&team=new-team")
    assert page.status_code == 200
    assert '<option value="brand-new" selected>Brand new</option>' in page.content.decode()
    assert '<option value="new-team" selected>New team</option>' in page.content.decode()


def test_a_renamed_product_shows_on_the_board_at_the_next_poll(
    client_for, support, django_capture_on_commit_callbacks
):
    product = ProductFactory(name="Checkout", slug="checkout")
    make_incident(by=support, products=[product])
    client = client_for(support)
    assert ">Checkout<" in client.get("/support/").content.decode()  # rows cached
    with django_capture_on_commit_callbacks(execute=True):
        product.name = "Payments"
        product.save()
    board = client.get("/support/").content.decode()
    assert ">Payments<" in board
    assert ">Checkout<" not in board


def test_a_catalogue_read_before_a_rename_and_stored_after_it_is_never_shown(
    client_for, support, django_capture_on_commit_callbacks
):
    product = ProductFactory(name="Checkout", slug="checkout")
    make_incident(by=support, products=[product])
    # A reader reads the marker's version and the catalogue from the database...
    version = int(dashboard.change_marker().partition("-")[0])
    read_before = dashboard.catalogue(version)
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        product.name = "Payments"
        product.save()
    # ...and stores it only after the rename committed.
    cache.set(dashboard.CATALOGUE_KEY, (version, read_before))
    board = client_for(support).get("/support/").content.decode()
    assert ">Payments<" in board
    assert ">Checkout<" not in board
    assert [choice.name for choice in dashboard.catalogue()[0]] == ["Payments"]


def test_a_page_of_an_unchanged_board_reads_only_who_is_signed_in(client_for, support):
    make_incident(by=support)
    client = client_for(support)
    client.get("/support/?team=")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/support/").status_code == 200
    # The session and the user (permissions are kept: config/auth.py): no board, no
    # catalogue.
    assert len(queries) == 2
    assert "django_session" in queries[0]["sql"]
    assert "auth_user" in queries[1]["sql"]


@pytest.fixture
def demo_on(settings, db):
    settings.DEMO_DATA = True


@pytest.mark.usefixtures("demo_on")
def test_demo_cases_are_labelled_to_open_incidents_once():
    from django.core.management import call_command

    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo", stdout=io.StringIO())
    assert SupportCase.objects.count() == 7
    labelled = SupportCase.objects.filter(label__isnull=False)
    assert labelled.count() == 5
    assert all(case.label.is_open for case in labelled)
    assert LabelChange.objects.count() == 5


@pytest.fixture
def database_reads(monkeypatch):
    """The statements each read through ``config.statements`` sent together, by the
    tables they read."""
    sent = []
    fetch = statements._fetch

    def recorded(runs, prepare):
        sent.append([statement.compiler.query.model._meta.db_table for statement, _ in runs])
        return fetch(runs, prepare)

    monkeypatch.setattr(statements, "_fetch", recorded)
    return sent


@pytest.mark.parametrize("who", ["support", "security"])
def test_a_page_on_a_cold_cache_reads_what_the_cache_lost_in_one_round_trip(
    client_for, support, manager, who, database_reads
):
    """The permissions, products, teams and restricted incidents a board can show are
    read together and kept: the page's second round trip is the board's."""
    from config import auth

    viewer = support if who == "support" else UserFactory(group="security")
    secret = make_incident(by=manager, summary="Payroll leak", restricted=True)
    make_incident(by=manager, summary="Checkout down", products=[ProductFactory(name="Ledgerline")])
    client = client_for(viewer)
    assert client.get("/support/").status_code == 200
    cache.clear()
    database_reads.clear()
    page = client.get("/support/").content.decode()
    assert database_reads == [
        ["auth_permission", "incidents_product", "incidents_team", "incidents_incident"],
        ["incidents_incident", "incidents_incident"],
    ]
    assert ("Payroll leak" in page) is (who == "security")
    assert '<span class="tag">Ledgerline</span>' in page  # the row's product, named
    assert "Checkout down" in page
    marker = dashboard.change_marker()
    assert cache.get(dashboard.RESTRICTED_KEY) == (dashboard._version(marker), [secret.pk])
    assert dashboard.catalogue()[0][0].name == "Ledgerline"
    perms = auth._current(
        cache.get_many(auth.cache_keys(type(viewer).objects.get(pk=viewer.pk))), viewer.pk
    )
    assert ("incidents.view_restricted_incident" in perms) is (who == "security")
    database_reads.clear()
    client.get("/support/")
    assert database_reads == []


@pytest.mark.parametrize("who", ["support", "security"])
def test_an_old_note_of_restricted_incidents_is_read_again_only_for_who_needs_it(
    client_for, support, manager, who, database_reads
):
    viewer = support if who == "support" else UserFactory(group="security")
    make_incident(by=manager, summary="Payroll leak", restricted=True)
    client = client_for(viewer)
    client.get("/support/")
    cache.set(dashboard.RESTRICTED_KEY, (0, []))  # of a version long gone
    database_reads.clear()
    assert client.get("/support/").status_code == 200
    assert database_reads == ([["incidents_incident"]] if who == "support" else [])


def test_a_page_on_a_cold_cache_makes_three_round_trips_to_redis(client_for, support, redis_sends):
    """The page's reads; the versions it starts, with the open boards' note; and what it
    read from the database with the board it rendered, written at once."""
    make_incident(by=support, summary="Checkout down")
    client = client_for(support)
    assert client.get("/support/").status_code == 200
    cache.clear()
    redis_sends.clear()
    response = client.get("/support/")
    assert board_keys(response)
    assert len(redis_sends) == 3
    redis_sends.clear()
    assert client.get("/support/").status_code == 200
    assert len(redis_sends) == 1  # the page's reads: the board is the process's


def test_a_board_another_process_rendered_is_read_from_the_cache(
    client_for, support, database_reads
):
    """Only a page that started the marker's version skips the cache's board: on a
    version started before, the board another process rendered is read, not rendered."""
    from incidents.support.board import KEPT

    make_incident(by=support, summary="Checkout down")
    client = client_for(support)
    assert client.get("/support/").status_code == 200
    KEPT.clear()  # another process, which keeps no board of its own
    database_reads.clear()
    response = client.get("/support/")
    assert board_keys(response)
    assert database_reads == []


def test_a_grant_shows_on_the_board_whatever_the_cache_lost_since(
    client_for, support, manager, django_capture_on_commit_callbacks
):
    """A person's permissions kept before a grant are never read again once the cache
    lost their version: the page starts a new one and reads the grant."""
    from config import auth

    make_incident(by=manager, summary="Payroll leak", restricted=True)
    client = client_for(support)
    assert "Payroll leak" not in client.get("/support/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        support.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    cache.delete(auth.VERSION_KEY)  # evicted, or a restarted Redis
    assert "Payroll leak" in client.get("/support/").content.decode()


@pytest.mark.parametrize("who", ["support", "security"])
def test_a_page_on_a_cold_cache_asks_the_cache_for_each_key_once(
    client_for, support, who, monkeypatch
):
    """After a lost cache (a restarted Redis) the first page reads what it needs from the
    database and the cache once: the marker, catalogue, note of restricted incidents
    and permissions are asked for together, and what was missing is not asked again
    (the versions missing are started, in one round trip that reads the open boards'
    note too)."""
    viewer = support if who == "support" else UserFactory(group="support")
    if who == "security":
        viewer.user_permissions.add(Permission.objects.get(codename="view_restricted_incident"))
    make_incident(by=support, summary="Checkout down")
    client = client_for(viewer)
    assert client.get("/support/").status_code == 200
    cache.clear()
    asked = []
    backend = caches["default"]
    get = backend.get

    def get_one(key, *args, **kwargs):
        asked.append(key)
        return get(key, *args, **kwargs)

    def get_many(keys):
        asked.extend(keys)  # one round trip, whichever way the backend reads them
        return {key: value for key in keys if (value := get(key)) is not None}

    monkeypatch.setattr(backend, "get", get_one)
    monkeypatch.setattr(backend, "get_many", get_many)
    if (send_batch := getattr(backend, "send_batch", None)) is not None:  # Redis

        def batch(commands):
            asked.extend(key for op, key, *_ in commands if op == "get")
            return send_batch(commands)

        monkeypatch.setattr(backend, "send_batch", batch)
    response = client.get("/support/")
    assert response.status_code == 200
    assert board_keys(response)
    assert len(asked) == len(set(asked)), " ".join(asked)


def test_a_renamed_assignee_shows_on_the_board_at_the_next_poll(
    client_for, support, manager, django_capture_on_commit_callbacks
):
    incident = make_incident(by=support)
    actions.claim_incident(incident, by=manager)
    client = client_for(support)
    assert f">{manager.username}<" in client.get("/support/").content.decode()  # rows cached
    marker = dashboard.change_marker()
    with django_capture_on_commit_callbacks(execute=True):
        manager.username = "im-renamed"
        manager.save()
    board = client.get(f"/support/board/?since={marker}")
    assert board.status_code == 200
    assert ">im-renamed<" in board.content.decode()


def test_a_sign_in_does_not_move_the_board(client_for, support, manager):
    make_incident(by=support)
    client = client_for(support)
    client.get("/support/")
    marker = dashboard.change_marker()
    client_for(manager)  # signs in: writes last_login only
    assert client.get(f"/support/board/?since={marker}").status_code == 204
