"""Support cases: labelling by key, bulk and CSV, the API, the customer follow-up and
the live dashboard (HANDBOOK §1)."""

import io
import re
import time

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comms.models import OutboundEmail
from comms.tasks import send_email
from incidents import actions, dashboard
from incidents.models import EntryKind, LabelChange, Status, SupportCase
from tests.factories import ProductFactory, ServiceFactory, TeamFactory, make_incident
from tests.receivers import SmtpReceiver


def case(reference, **fields):
    fields.setdefault("customer_name", f"Customer {reference}")
    fields.setdefault("contact_email", f"{reference.lower()}@customer.example")
    return actions.upsert_case(reference=reference, **fields)[0]


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
    result = actions.label_cases(
        key=f"  {incident.key.lower()} ", references="SD-1, SD-2", by=support
    )
    assert result.labelled == ["SD-1", "SD-2"]
    assert set(incident.support_cases.values_list("reference", flat=True)) == {"SD-1", "SD-2"}
    entry = incident.timeline.filter(kind=EntryKind.CASES).get()
    assert "labelled 2 support cases" in entry.text
    assert LabelChange.objects.filter(to_incident=incident, by=support).count() == 2
    # Labelling again changes nothing and says so.
    again = actions.label_cases(key=incident.key, references=["SD-1"], by=support)
    assert again.already == ["SD-1"]
    assert again.changed == 0


def test_unknown_references_refuse_everything_naming_each(support, incident):
    case("SD-1")
    with pytest.raises(actions.ActionRefused) as refused:
        actions.label_cases(key=incident.key, references="SD-1 SD-404 SD-405", by=support)
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
            actions.label_cases(key=key, references="SD-1", by=support)
        assert refused.value.field == "key"
        assert key in refused.value.message
    # The security team sees it, so may label with it.
    security.groups.add(*support.groups.all())
    security = type(security).objects.get(pk=security.pk)
    assert actions.label_cases(key=secret.key, references="SD-1", by=security).labelled


def test_moving_and_removing_a_label_are_recorded(support, incident):
    other = make_incident(by=support, summary="Login slow")
    sd = case("SD-1")
    actions.label_cases(key=incident.key, references="SD-1", by=support)
    result = actions.label_cases(key=other.key, references="SD-1", by=support)
    assert result.moved == ["SD-1"]
    assert "moved 1 support case to" in incident.timeline.filter(kind=EntryKind.CASES).last().text
    actions.remove_label(sd, by=support)
    sd.refresh_from_db()
    assert sd.label is None
    history = list(
        sd.label_history.order_by("at", "pk").values_list("from_incident", "to_incident")
    )
    assert history == [(None, incident.pk), (incident.pk, other.pk), (other.pk, None)]
    with pytest.raises(actions.ActionRefused):
        actions.remove_label(sd, by=support)


def test_people_without_the_permission_cannot_label(security, client_for, incident):
    case("SD-1")
    with pytest.raises(actions.ActionRefused):
        actions.label_cases(key=incident.key, references="SD-1", by=security)
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
    actions.label_cases(key=incident.key, references="SD-2", by=support)
    actions.label_cases(key=other.key, references="SD-3", by=support)
    upload = SimpleUploadedFile(
        "cases.csv", b"reference,customer\nSD-1,Acme\nSD-2,Beta\nSD-3,Gamma\nSD-9,Nope\n"
    )
    response = client_for(support).post(
        "/support/cases/", {"key": incident.key.lower(), "references": "", "csv_file": upload}
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
    actions.label_cases(key=incident.key, references="SD-1 SD-2 SD-3", by=support)
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
    actions.label_cases(key=incident.key, references="SD-4", by=support)
    assert mails.count() == 3


def test_follow_up_uses_the_product_template_and_can_be_turned_off(
    support, manager, settings, tmp_path
):
    product = ProductFactory(name="Jira", slug="jira")
    (tmp_path / "incidents" / "follow_up").mkdir(parents=True)
    (tmp_path / "incidents" / "follow_up" / "jira.txt").write_text(
        "Jira is back, {{ case.customer_name }}."
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    jira = make_incident(by=support, products=[product])
    quiet = make_incident(by=support)
    case("SD-1", customer_name="Ana")
    case("SD-2")
    actions.label_cases(key=jira.key, references="SD-1", by=support)
    actions.label_cases(key=quiet.key, references="SD-2", by=support)
    actions.set_customer_follow_up(quiet, enabled=False, by=manager)
    resolve(jira, manager)
    resolve(quiet, manager)
    [mail] = OutboundEmail.objects.all()
    assert mail.text.strip() == "Jira is back, Ana."
    assert quiet.timeline.filter(kind=EntryKind.CASES, text__contains="follow-up off").exists()


def test_manager_previews_the_follow_up(client_for, support, manager, responder, incident):
    case("SD-1", customer_name="Ana", organisation="Acme")
    actions.label_cases(key=incident.key, references="SD-1", by=support)
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
        actions.label_cases(key=incident.key, references="SD-1", by=support)
        resolve(incident, manager)
        case("SD-2")
        actions.label_cases(key=incident.key, references="SD-2", by=support)
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
    actions.label_cases(key=incident.key, references="SD-1", by=support)
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


def test_unchanged_poll_is_204_with_one_query_and_a_change_rerenders(htmx_for, support):
    make_incident(by=support)
    client = htmx_for(support)
    with time_machine.travel(timezone.now(), tick=False):
        marker = dashboard.change_marker()
        client.get(f"/support/board/?since={marker}")  # session and user warmed up
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/support/board/?since={marker}")
        assert response.status_code == 204
        assert response.content == b""
        # Signing in costs every page the session and the user; the poll adds one
        # aggregate on the incidents' updated_at index.
        own = [
            q["sql"]
            for q in queries
            if "django_session" not in q["sql"] and '"auth_user"' not in q["sql"].split("WHERE")[0]
        ]
        assert len(own) == 1
        assert "MAX" in own[0].upper()
        new = make_incident(by=support, severity=1, summary="Everything is down")
        changed = client.get(f"/support/board/?since={marker}")
    assert changed.status_code == 200
    assert f'id="board-{new.key}" class="sev-row-1 is-new"' in changed.content.decode()


def _board_queries(client):
    cache.clear()  # the rendered board is kept per person and change: render it again
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/support/board/?since=stale")
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("count", [10, 1000])
def test_a_changed_poll_takes_a_constant_number_of_queries(htmx_for, support, count):
    from incidents.models import Incident

    service = ServiceFactory()
    product = ProductFactory()
    base = make_incident(by=support, faulty_service=service, products=[product])
    # Copies of the logged incident: the number of rows is what matters here.
    rows = []
    for number in range(base.number + 1, base.number + count):
        rows.append(
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
        )
    Incident.objects.bulk_create(rows)
    through = Incident.affected_products.through
    through.objects.bulk_create(
        [
            through(incident_id=pk, product_id=product.pk)
            for pk in Incident.objects.exclude(pk=base.pk).values_list("pk", flat=True)
        ]
    )
    case("SD-1")
    actions.label_cases(key=base.key, references="SD-1", by=support)
    client = htmx_for(support)
    client.get("/support/board/?since=stale")
    # Session, user, marker, permissions (user and group), active incidents and their
    # products, recently resolved ones (none here), last public updates: the same for
    # 10 or 1,000.
    assert _board_queries(client) == BOARD_QUERIES


BOARD_QUERIES = 9


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


def test_the_rendered_board_is_reused_until_something_changes(client_for, htmx_for, support):
    make_incident(by=support)
    client_for(support).get("/support/")
    with CaptureQueriesContext(connection) as queries:
        again = htmx_for(support).get("/support/board/?since=old")
    assert again.status_code == 200
    assert not any(
        "incidents_incident" in q["sql"] and "MAX" not in q["sql"].upper() for q in queries
    )
    newer = make_incident(by=support, summary="Fresh one")
    assert newer.key in htmx_for(support).get("/support/board/?since=old").content.decode()
