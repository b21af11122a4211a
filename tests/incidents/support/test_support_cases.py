"""Support cases seen from the incident: the API's case count, the label history of a
case and of an incident, the incident page's labelling form, the case list."""

import re

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from incidents import actions
from incidents.models import EntryKind
from incidents.support import actions as support_actions
from incidents.support.models import SupportCase
from tests.conftest import requires_postgres
from tests.factories import ServiceFactory, make_incident


def case(reference, **fields):
    fields.setdefault("customer_name", f"Customer {reference}")
    fields.setdefault("contact_email", f"{reference.lower()}@customer.example")
    return support_actions.upsert_case(reference=reference, **fields)[0]


@pytest.fixture
def incident(support):
    return make_incident(by=support, summary="Checkout is failing", severity=2)


def labelled(incident, count, *, prefix="SD"):
    SupportCase.objects.bulk_create(
        SupportCase(reference=f"{prefix}-{incident.pk}-{n}", label=incident) for n in range(count)
    )


# The incident API's case count -------------------------------------------------------


def test_api_detail_and_list_carry_the_case_count(api_for, support, manager, incident):
    other = make_incident(by=support, summary="Search is slow")
    labelled(incident, 3)
    client = api_for(support)
    assert client.get(f"/api/incidents/{incident.key}/").json()["case_count"] == 3
    counts = {
        row["key"]: row["case_count"] for row in client.get("/api/incidents/").json()["results"]
    }
    assert counts == {incident.key: 3, other.key: 0}
    # The answer of a write carries it too.
    claimed = api_for(manager).post(f"/api/incidents/{incident.key}/claim/")
    assert claimed.status_code == 200
    assert claimed.json()["case_count"] == 3


def test_api_list_queries_do_not_grow_with_incidents_or_cases(api_for, support):
    service = ServiceFactory()
    client = api_for(support)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/incidents/")
        assert response.status_code == 200
        return len(captured)

    labelled(make_incident(by=support, faulty_service=service), 2)
    queries()  # the session and permissions, once
    few = queries()
    for _ in range(12):
        labelled(make_incident(by=support, faulty_service=service), 4)
    assert queries() == few


def test_the_schema_documents_the_case_count(api_for, support):
    schema = api_for(support).get("/api/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["IncidentOut"]["properties"]["case_count"]
    assert field["type"] == "integer"
    assert field["readOnly"] is True


# Label history ------------------------------------------------------------------------


@pytest.fixture
def moved(support, manager, incident):
    """SD-1 labelled with ``incident`` by support, moved to ``other`` by the manager,
    then unlabelled by support."""
    other = make_incident(by=support, summary="Search is slow")
    sd1 = case("SD-1")
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)
    support_actions.label_cases(key=other.key, references="SD-1", by=manager, move=True)
    sd1.refresh_from_db()
    support_actions.remove_label(sd1, by=support)
    return sd1, other


def test_case_history_names_each_change_who_and_when(client_for, support, incident, moved):
    sd1, other = moved
    page = client_for(support).get(f"/support/cases/{sd1.pk}/history/")
    assert page.status_code == 200
    body = " ".join(page.content.decode().split())
    changes = page.context["page"].object_list
    assert len(changes) == 3
    assert "removed from" in body
    assert "moved from" in body
    assert "labelled with" in body
    assert body.index("removed from") < body.index("moved from") < body.index("labelled with")
    assert f">{incident.key}</a> to <a" in body
    assert f">{other.key}</a>" in body
    assert {change.by.username for change in changes} == {"sam", "maya"}


def test_incident_history_shows_cases_moved_in_and_out(client_for, manager, incident, moved):
    sd1, other = moved
    client = client_for(manager)
    first = client.get(f"/support/incidents/{incident.key.lower()}/label-history/")
    assert first.status_code == 200
    assert [(c.from_incident_id, c.to_incident_id) for c in first.context["page"]] == [
        (incident.pk, other.pk),
        (None, incident.pk),
    ]
    assert f"/support/cases/{sd1.pk}/history/" in first.content.decode()
    second = client.get(f"/support/incidents/{other.key}/label-history/")
    assert [(c.from_incident_id, c.to_incident_id) for c in second.context["page"]] == [
        (other.pk, None),
        (incident.pk, other.pk),
    ]


def test_history_hides_restricted_incidents(client_for, support, manager, incident):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    sd1 = case("SD-1")
    support_actions.label_cases(key=secret.key, references="SD-1", by=manager)
    support_actions.label_cases(key=incident.key, references="SD-1", by=manager)
    as_support = client_for(support)
    assert as_support.get(f"/support/incidents/{secret.key}/label-history/").status_code == 404
    page = as_support.get(f"/support/cases/{sd1.pk}/history/").content.decode()
    assert secret.key not in page
    assert "a restricted incident" in page
    assert (
        secret.key in client_for(manager).get(f"/support/cases/{sd1.pk}/history/").content.decode()
    )


def test_history_is_for_support_and_incident_managers(client_for, outsider, security, moved):
    sd1, other = moved
    for person in (outsider, security):
        client = client_for(person)
        assert client.get(f"/support/cases/{sd1.pk}/history/").status_code == 403
        assert client.get(f"/support/incidents/{other.key}/label-history/").status_code == 403
    assert client_for(security).get("/support/cases/999999/history/").status_code == 403


def test_unknown_case_is_404(client_for, support):
    assert client_for(support).get("/support/cases/999999/history/").status_code == 404


def test_history_pages_take_a_constant_number_of_queries(client_for, support, incident):
    client = client_for(support)
    others = [make_incident(by=support, summary=f"Other {n}") for n in range(3)]

    def queries(url):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    case("SD-1")
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)
    url = f"/support/incidents/{incident.key}/label-history/"
    few = queries(url)
    for index in range(12):
        case(f"SD-x{index}")
        support_actions.label_cases(key=incident.key, references=f"SD-x{index}", by=support)
        support_actions.label_cases(
            key=others[index % 3].key, references=f"SD-x{index}", by=support
        )
    assert queries(url) == few
    sd1 = SupportCase.objects.get(reference="SD-1")
    one = queries(f"/support/cases/{sd1.pk}/history/")
    for other in others:
        support_actions.label_cases(key=other.key, references="SD-1", by=support)
    assert queries(f"/support/cases/{sd1.pk}/history/") == one


def test_the_incident_page_links_the_histories(client_for, support, incident, moved):
    sd1, other = moved
    page = client_for(support).get(f"/incidents/{other.key}/").content.decode()
    assert f"/support/incidents/{other.key}/label-history/" in page
    support_actions.label_cases(key=other.key, references="SD-1", by=support)
    page = client_for(support).get(f"/incidents/{other.key}/").content.decode()
    assert f"/support/cases/{sd1.pk}/history/" in page


# The incident page's labelling form ----------------------------------------------------


def test_labelling_from_the_panel_with_htmx_swaps_the_panel(htmx_for, support, incident):
    other = make_incident(by=support, summary="Search is slow")
    for reference in ("SD-1", "SD-2", "SD-3"):
        case(reference)
    support_actions.label_cases(key=other.key, references="SD-3", by=support)
    client = htmx_for(support)
    url = f"/support/incidents/{incident.key}/cases/"
    response = client.post(url, {"references": "SD-1 SD-3", "move": "1"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="support-cases">')
    assert "(2)" in body
    assert f"Labelled SD-1 with {incident.key}." in body
    assert f"Moved SD-3 to {incident.key} from {other.key}." in body
    assert "<code><a" in body
    assert "SD-3</a>" in body
    refused = client.post(url, {"references": "SD-2, SD-404"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "Unknown case reference: SD-404." in body
    assert "(2)" in body  # nothing half-applied
    assert 'value="SD-2, SD-404"' in body
    assert not SupportCase.objects.get(reference="SD-2").label_id


def test_labelling_from_the_panel_without_javascript_redirects_with_a_message(
    client_for, support, incident
):
    case("SD-1")
    client = client_for(support)
    url = f"/support/incidents/{incident.key}/cases/"
    done = client.post(url, {"references": "SD-1"})
    assert done.status_code == 302
    assert done["Location"] == f"/incidents/{incident.key}/#support-cases"
    page = client.get(done["Location"]).content.decode()
    assert f"Labelled SD-1 with {incident.key}." in page
    assert 'Support cases <span class="muted">(1)</span>' in page
    refused = client.post(url, {"references": "SD-404"}, follow=True)
    assert "Unknown case reference: SD-404." in refused.content.decode()


def test_the_panel_form_keeps_working_without_htmx(client_for, support, incident):
    page = client_for(support).get(f"/incidents/{incident.key}/").content.decode()
    form = page[page.index('<form class="label-inline"') :].split(">", 1)[0]
    assert f'action="/support/incidents/{incident.key}/cases/"' in form
    assert 'method="post"' in form
    assert "csrfmiddlewaretoken" in page[page.index('<form class="label-inline"') :]


def test_the_dashboard_form_without_javascript_leads_to_the_panel_filled_in(
    client_for, support, incident
):
    """Rows of the dashboard are cached for everyone and carry no CSRF token: without
    JavaScript their form opens the incident's cases panel with the references typed,
    where "Label" posts them."""
    client = client_for(support)
    board = client.get("/support/").content.decode()
    row = board[board.index(f'<tr id="board-{incident.key}"') :]
    form = row[row.index('<form class="label-inline"') :].split(">", 1)[0]
    assert 'method="get"' in form
    assert f'action="/incidents/{incident.key}/#support-cases"' in form

    page = client.get(
        f"/incidents/{incident.key}/", {"key": incident.key, "references": 'SD-1 "x"'}
    ).content.decode()
    panel_form = page[page.index('<form class="label-inline"') :].split("</form>", 1)[0]
    assert 'value="SD-1 &quot;x&quot;"' in panel_form


def test_panel_labelling_access(client_for, htmx_for, support, manager, security, outsider):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    case("SD-1")
    url = f"/support/incidents/{secret.key}/cases/"
    assert htmx_for(support).post(url, {"references": "SD-1"}).status_code == 404
    assert htmx_for(outsider).post(url, {"references": "SD-1"}).status_code == 403
    assert htmx_for(security).post(url, {"references": "SD-1"}).status_code == 403
    assert not SupportCase.objects.get(reference="SD-1").label_id
    assert htmx_for(manager).post(url, {"references": "SD-1"}).status_code == 200
    assert htmx_for(manager).get(url).status_code == 200


# The case list ---------------------------------------------------------------------------


def listed(response):
    return [case.reference for case in response.context["cases"]]


def test_case_list_searches_reference_customer_and_organisation(client_for, support, incident):
    case("SD-100", customer_name="Ana Lima", organisation="Acme")
    case("SD-200", customer_name="Bo Chen", organisation="Globex")
    case("XY-300", customer_name="Cy Diaz", organisation="Initech")
    support_actions.label_cases(key=incident.key, references="SD-200", by=support)
    client = client_for(support)
    assert listed(client.get("/support/cases/", {"q": "sd-1"})) == ["SD-100"]
    assert listed(client.get("/support/cases/", {"q": "chen"})) == ["SD-200"]
    assert listed(client.get("/support/cases/", {"q": "initech"})) == ["XY-300"]
    labelled_only = client.get("/support/cases/", {"state": "labelled"})
    assert listed(labelled_only) == ["SD-200"]
    body = labelled_only.content.decode()
    assert f'<a class="key" href="/incidents/{incident.key}/">{incident.key}</a>' in body
    assert f"/support/cases/{SupportCase.objects.get(reference='SD-200').pk}/history/" in body
    unlabelled = client.get("/support/cases/", {"q": "SD", "state": "unlabelled"})
    assert listed(unlabelled) == ["SD-100"]
    bad = client.get("/support/cases/", {"state": "maybe"})
    assert bad.status_code == 400
    assert "state: choose labelled or unlabelled" in bad.content.decode()


def test_case_list_hides_restricted_keys(client_for, support, manager):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    case("SD-1")
    support_actions.label_cases(key=secret.key, references="SD-1", by=manager)
    body = client_for(support).get("/support/cases/").content.decode()
    assert f"/incidents/{secret.key}/" not in body
    assert f">{secret.key}<" not in body
    assert "restricted" in body


def test_case_list_pages_keep_the_filters_and_take_constant_queries(client_for, support, incident):
    client = client_for(support)

    def queries(params):
        client.get("/support/cases/", params)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/support/cases/", params)
        return response, len(captured)

    SupportCase.objects.bulk_create(SupportCase(reference=f"SD-{n}") for n in range(3))
    labelled(incident, 2)
    _, few = queries({"state": "unlabelled"})
    SupportCase.objects.bulk_create(SupportCase(reference=f"SD-{n}") for n in range(3, 120))
    labelled(incident, 60, prefix="LB")
    first, many = queries({"state": "unlabelled", "q": "SD"})
    assert many == few
    assert len(first.context["cases"]) == 50
    assert first.context["has_next"]
    assert "?q=SD&amp;state=unlabelled&amp;page=2" in first.content.decode()
    third = client.get("/support/cases/", {"state": "unlabelled", "q": "SD", "page": "3"})
    assert len(third.context["cases"]) == 20
    assert not third.context["has_next"]
    assert "?q=SD&amp;state=unlabelled&amp;page=2" in third.content.decode()
    assert client.get("/support/cases/", {"page": "x"}).context["number"] == 1


def test_follow_up_preview_links_each_case_history(client_for, support, manager, incident):
    sd1 = case("SD-1")
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)
    actions.claim_incident(incident, by=manager)
    page = client_for(manager).get(f"/support/follow-up/{incident.key}/").content.decode()
    assert f"/support/cases/{sd1.pk}/history/" in page


# Removing a label from the case list -------------------------------------------------


def test_support_removes_a_label_and_returns_to_the_page_it_came_from(
    client_for, support, incident
):
    labelled_case = case("SD-7")
    support_actions.label_cases(key=incident.key, references="SD-7", by=support)
    response = client_for(support).post(
        f"/support/cases/{labelled_case.pk}/unlabel/", {"next": "/support/cases/?q=SD"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/support/cases/?q=SD&removed={labelled_case.pk}"
    labelled_case.refresh_from_db()
    assert labelled_case.label is None


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/cases"])
def test_removing_a_label_never_redirects_off_the_site(client_for, support, incident, next_url):
    labelled_case = case("SD-8")
    support_actions.label_cases(key=incident.key, references="SD-8", by=support)
    response = client_for(support).post(
        f"/support/cases/{labelled_case.pk}/unlabel/", {"next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/support/cases/?removed={labelled_case.pk}"


def test_a_label_to_an_unseen_restricted_incident_cannot_be_removed(client_for, support, manager):
    secret = make_incident(by=manager, summary="Leaked credentials", restricted=True)
    labelled_case = case("SD-9")
    support_actions.label_cases(key=secret.key, references="SD-9", by=manager)
    response = client_for(support).post(f"/support/cases/{labelled_case.pk}/unlabel/")
    assert response.status_code == 404
    labelled_case.refresh_from_db()
    assert labelled_case.label == secret


@requires_postgres
@pytest.mark.postgres
def test_the_case_search_can_use_the_trigram_indexes(db):
    """A rare term (one ticket number among a million cases) must not read every case:
    the search's expressions are the ones the trigram indexes of migration 0015 hold."""
    case("SD-4711", organisation="Acme")
    cases = SupportCase.objects.filter(
        Q(reference__icontains="sd-4711")
        | Q(customer_name__icontains="sd-4711")
        | Q(organisation__icontains="sd-4711")
    )
    with connection.cursor() as cursor:
        # On a handful of rows the planner rightly prefers to scan, or to walk the
        # newest-first index: forbid the scan and leave the order out here.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = cases.order_by().explain()
    assert "case_search_reference" in plan
    assert "case_search_customer" in plan
    assert "case_search_organisation" in plan
    assert [found.reference for found in cases] == ["SD-4711"]


def test_a_case_moved_to_a_restricted_incident_leaves_no_key_behind(
    client_for, api_for, support, manager, incident
):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    case("SD-1")
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)

    support_actions.label_cases(key=secret.key, references="SD-1", by=manager, move=True)

    named = re.compile(rf"\b{re.escape(secret.key)}\b")
    entry = incident.timeline.filter(kind=EntryKind.CASES).last()
    assert entry.text.endswith("moved 1 support case to another incident.")
    assert entry.data["moved"] == ["SD-1"]
    assert not named.search(f"{entry.text} {entry.data}")
    page = client_for(support).get(incident.get_absolute_url())
    assert page.status_code == 200
    assert not named.search(page.content.decode())
    timeline = api_for(support).get(f"/api/incidents/{incident.key}/timeline/")
    assert timeline.status_code == 200
    assert not named.search(timeline.content.decode())
    # Whoever sees the restricted incident still reads where the case came from.
    assert secret.timeline.filter(kind=EntryKind.CASES, text__contains="moved from").exists()


def test_unlabelling_a_case_of_an_unseen_incident_answers_like_a_missing_case(
    client_for, support, manager, settings
):
    secret = make_incident(by=manager, summary="Leaked credentials", restricted=True)
    labelled_case = case("SD-9")
    support_actions.label_cases(key=secret.key, references="SD-9", by=manager)
    settings.DEBUG = True  # the 404 page shows its reason
    client = client_for(support)

    unseen = client.post(f"/support/cases/{labelled_case.pk}/unlabel/")
    missing = client.post(f"/support/cases/{labelled_case.pk + 1000}/unlabel/")

    assert (unseen.status_code, missing.status_code) == (404, 404)
    for response in (unseen, missing):
        assert "No such case." in response.content.decode()
    assert not re.search(rf"\b{re.escape(secret.key)}\b", unseen.content.decode())


@pytest.mark.parametrize("page", ["²", "0", "-1", "99999999999999999999"])
def test_a_case_list_page_no_id_could_be_is_the_first_page(client_for, support, page):
    assert client_for(support).get("/support/cases/", {"page": page}).status_code == 200
