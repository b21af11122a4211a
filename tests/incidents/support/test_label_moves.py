"""Labelling safely (defect 24): a case labelled with another incident moves only when
the person confirms, naming where it is and where it came from; references match in
any case, as keys do; "Remove label" answers with an Undo."""

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from incidents import actions
from incidents.models import EntryKind
from incidents.support import actions as support_actions
from incidents.support.models import LabelChange, SupportCase
from tests.conftest import requires_postgres
from tests.factories import make_incident


def case(reference, **fields):
    fields.setdefault("customer_name", f"Customer {reference}")
    return support_actions.upsert_case(reference=reference, **fields)[0]


@pytest.fixture
def incident(support):
    return make_incident(by=support, summary="Checkout is failing", severity=2)


@pytest.fixture
def other(support):
    """An incident SD-1 is already labelled with."""
    other = make_incident(by=support, summary="Search is slow")
    case("SD-1")
    support_actions.label_cases(key=other.key, references="SD-1", by=support)
    return other


def label_of(reference):
    return SupportCase.objects.get(reference=reference).label_id


# The action --------------------------------------------------------------------------


def test_a_case_labelled_elsewhere_is_held_while_the_others_are_labelled(support, incident, other):
    case("SD-2")
    before = LabelChange.objects.count()

    result = support_actions.label_cases(key=incident.key, references="SD-1 SD-2", by=support)

    assert result.labelled == ["SD-2"]
    assert result.moved == []
    assert result.held == [support_actions.Elsewhere("SD-1", other.key)]
    assert (label_of("SD-1"), label_of("SD-2")) == (other.pk, incident.pk)
    assert LabelChange.objects.count() == before + 1
    assert not other.timeline.filter(kind=EntryKind.CASES, text__contains="moved").exists()


def test_confirming_moves_the_case_and_says_from_where(support, incident, other):
    result = support_actions.label_cases(key=incident.key, references="SD-1", by=support, move=True)

    assert result.moved == ["SD-1"]
    assert result.moved_from == [support_actions.Elsewhere("SD-1", other.key)]
    assert label_of("SD-1") == incident.pk
    change = LabelChange.objects.filter(case__reference="SD-1").first()
    assert (change.from_incident_id, change.to_incident_id) == (other.pk, incident.pk)
    assert other.timeline.filter(kind=EntryKind.CASES, text__contains=f"to {incident.key}")


def test_the_api_mode_refuses_everything_naming_the_cases_to_move(support, incident, other):
    case("SD-2")
    with pytest.raises(support_actions.MoveNotConfirmed) as refused:
        support_actions.label_cases(
            key=incident.key, references="SD-1 SD-2", by=support, unconfirmed="refuse"
        )
    assert refused.value.held == [support_actions.Elsewhere("SD-1", other.key)]
    assert refused.value.status_code == 409
    assert f"SD-1 ({other.key})" in refused.value.message
    assert label_of("SD-2") is None


def test_an_unseen_restricted_incident_is_only_another_incident(support, manager, incident):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    case("SD-9")
    support_actions.label_cases(key=secret.key, references="SD-9", by=manager)

    held = support_actions.label_cases(key=incident.key, references="SD-9", by=support).held
    assert held == [support_actions.Elsewhere("SD-9", None)]
    assert held[0].where == "another incident"
    moved = support_actions.label_cases(key=incident.key, references="SD-9", by=support, move=True)
    assert moved.moved_from[0].where == "another incident"


# Case-insensitive references ---------------------------------------------------------


def test_references_match_in_any_case(support, incident):
    first, created = support_actions.upsert_case(reference="sd-10231", subject="Cannot pay")
    again, created_again = support_actions.upsert_case(reference=" SD-10231 ", subject="Still")
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert SupportCase.objects.get().reference == "SD-10231"
    assert support_actions.parse_references("sd-1, SD-1 Sd-2") == ["SD-1", "SD-2"]

    result = support_actions.label_cases(key=incident.key, references="sd-10231", by=support)
    assert result.labelled == ["SD-10231"]
    assert label_of("SD-10231") == incident.pk


def test_the_lookup_stays_a_plain_equality_on_the_unique_index(support, incident):
    """References are stored in their normal form, so labelling asks ``reference IN``
    (``= ANY`` of one array on PostgreSQL) of the column itself, with no UPPER() around
    it that the unique index would not serve."""
    case("SD-1")
    with CaptureQueriesContext(connection) as queries:
        support_actions.label_cases(key=incident.key, references="sd-1", by=support)
    lookups = [q["sql"] for q in queries if "incidents_supportcase" in q["sql"]]
    lookup = next(sql for sql in lookups if re.search(r"reference\"? (IN \(|= ANY\()", sql))
    assert not re.search(r"UPPER\([^)]*reference", lookup, re.IGNORECASE)


@requires_postgres
@pytest.mark.postgres
def test_postgres_finds_a_reference_in_any_case_by_its_index(db):
    case("SD-4711")
    found = SupportCase.objects.filter(
        reference__in_array=support_actions.parse_references("sd-4711")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = found.explain()
    assert "Index" in plan
    assert [row.reference for row in found] == ["SD-4711"]


def test_the_api_filter_and_upsert_match_in_any_case(api_for, support):
    api = api_for(support)
    assert api.post("/api/cases/", {"reference": "sd-7"}, format="json").status_code == 201
    assert api.post("/api/cases/", {"reference": "SD-7"}, format="json").status_code == 200
    listed = api.get("/api/cases/", {"reference": "Sd-7"}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["reference"] for row in rows] == ["SD-7"]


def test_the_migration_upper_cases_and_merges_references(support, incident):
    """Migration 0017: each reference in its normal form; two spellings of one ticket
    become one case, the labelled one kept with the other's label history."""
    migration = importlib.import_module("incidents.migrations.0017_case_reference_upper")
    labelled = SupportCase.objects.create(reference="sd-1", label=incident)
    LabelChange.objects.create(case=labelled, to_incident=incident, by=support)
    twin = SupportCase.objects.create(reference="SD-1", organisation="Acme")
    LabelChange.objects.create(case=twin, from_incident=incident, by=support)
    SupportCase.objects.create(reference="sd-2")
    SupportCase.objects.create(reference="SD-3")

    migration.upper_case_references(django_apps, None)
    migration.upper_case_references(django_apps, None)  # a second run changes nothing

    assert sorted(SupportCase.objects.values_list("reference", flat=True)) == [
        "SD-1",
        "SD-2",
        "SD-3",
    ]
    kept = SupportCase.objects.get(reference="SD-1")
    assert kept.pk == labelled.pk
    assert kept.label_id == incident.pk
    assert kept.organisation == "Acme"
    assert kept.label_history.count() == 2


# The incident page's panel -----------------------------------------------------------


def test_the_panel_asks_before_moving_and_names_the_other_incident(
    htmx_for, support, incident, other
):
    case("SD-2")
    client = htmx_for(support)
    url = f"/support/incidents/{incident.key}/cases/"

    asked = client.post(url, {"references": "SD-1 sd-2"})

    assert asked.status_code == 200
    body = asked.content.decode()
    assert f"Labelled SD-2 with {incident.key}." in body
    assert "<code>SD-1</code> is labelled with" in body
    assert f">{other.key}</a>" in body
    form = body[body.index("move-confirm") :].split("</form>", 1)[0]
    assert f'hx-post="{url}"' in form
    assert 'name="move" value="1"' in form
    assert 'name="references" value="SD-1"' in form
    assert f"Move it to {incident.key}" in form
    assert label_of("SD-1") == other.pk

    confirmed = client.post(url, {"references": "SD-1", "move": "1"})

    assert confirmed.status_code == 200
    assert f"Moved SD-1 to {incident.key} from {other.key}." in confirmed.content.decode()
    assert label_of("SD-1") == incident.pk


def test_the_panel_asks_on_a_page_of_its_own_without_javascript(
    client_for, support, incident, other
):
    client = client_for(support)
    url = f"/support/incidents/{incident.key}/cases/"

    asked = client.post(url, {"references": "SD-1"})

    assert asked.status_code == 200
    body = asked.content.decode()
    assert f"Move support cases to {incident.key}?" in body
    assert f'action="{url}"' in body
    assert 'name="move" value="1"' in body
    assert "hx-post" not in body[body.index("move-confirm") :].split("</form>")[0]
    assert label_of("SD-1") == other.pk

    done = client.post(url, {"references": "SD-1", "move": "1"}, follow=True)
    assert done.redirect_chain[-1][0] == f"/incidents/{incident.key}/#support-cases"
    assert f"Moved SD-1 to {incident.key} from {other.key}." in done.content.decode()
    assert label_of("SD-1") == incident.pk


def test_an_unseen_restricted_incident_is_not_named_by_the_question(
    htmx_for, support, manager, incident
):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    case("SD-9")
    support_actions.label_cases(key=secret.key, references="SD-9", by=manager)
    url = f"/support/incidents/{incident.key}/cases/"
    client = htmx_for(support)

    asked = client.post(url, {"references": "SD-9"}).content.decode()
    moved = client.post(url, {"references": "SD-9", "move": "1"}).content.decode()

    assert "<code>SD-9</code> is labelled with another incident" in asked
    assert f"Moved SD-9 to {incident.key} from another incident." in moved
    for body in (asked, moved):
        assert not re.search(rf"\b{re.escape(secret.key)}\b", body)


# The dashboard's inline form ---------------------------------------------------------


def test_the_dashboard_form_asks_before_moving(htmx_for, support, incident, other):
    client = htmx_for(support)

    asked = client.post("/support/label/", {"key": incident.key, "references": "SD-1"})

    assert asked.status_code == 200
    body = asked.content.decode()
    assert f">{other.key}</a>" in body
    form = body[body.index("<form") :].split("</form>", 1)[0]
    assert 'hx-post="/support/label/"' in form
    assert 'hx-target="#label-result"' in form
    # Without JavaScript the same form goes to the incident's panel, which moves them.
    assert f'action="/support/incidents/{incident.key}/cases/"' in form
    assert f'name="key" value="{incident.key}"' in form
    assert 'name="move" value="1"' in form
    assert "csrfmiddlewaretoken" in form
    assert label_of("SD-1") == other.pk

    moved = client.post("/support/label/", {"key": incident.key, "references": "SD-1", "move": "1"})
    assert f"Moved SD-1 to {incident.key} from {other.key}." in moved.content.decode()
    assert label_of("SD-1") == incident.pk


# The case list's bulk labelling ------------------------------------------------------


def test_bulk_labelling_holds_cases_labelled_elsewhere_until_confirmed(
    client_for, support, incident, other
):
    case("SD-2")
    client = client_for(support)

    asked = client.post("/support/cases/", {"key": incident.key, "references": "SD-1 SD-2"})

    assert asked.status_code == 200
    result = asked.context["result"]
    assert (result.labelled, result.moved) == (["SD-2"], [])
    body = asked.content.decode()
    confirm = body[body.index('class="warning move-confirm"') :].split("</form>", 1)[0]
    assert 'action="/support/cases/"' in confirm
    assert 'name="move" value="1"' in confirm
    assert 'name="references" value="SD-1"' in confirm
    assert label_of("SD-1") == other.pk

    moved = client.post("/support/cases/", {"key": incident.key, "references": "SD-1", "move": "1"})
    assert moved.context["result"].moved == ["SD-1"]
    assert f'SD-1 from <a class="key" href="/incidents/{other.key}/">' in (moved.content.decode())


# The API -----------------------------------------------------------------------------


def test_the_api_answers_409_naming_the_cases_that_need_move(api_for, support, incident, other):
    case("SD-2")
    api = api_for(support)
    url = f"/api/incidents/{incident.key}/cases/"

    refused = api.post(url, {"references": ["SD-1", "sd-2"]}, format="json")

    assert refused.status_code == 409
    assert refused.json()["needs_move"] == [{"reference": "SD-1", "incident": other.key}]
    assert (label_of("SD-1"), label_of("SD-2")) == (other.pk, None)  # nothing written

    done = api.post(url, {"references": ["SD-1", "sd-2"], "move": True}, format="json")

    assert done.status_code == 200
    body = done.json()
    assert (body["labelled"], body["moved"]) == (["SD-2"], ["SD-1"])
    assert body["moved_from"] == [{"reference": "SD-1", "incident": other.key}]
    assert label_of("SD-1") == incident.pk


def test_the_api_names_an_unseen_incident_restricted(api_for, support, manager, incident):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    case("SD-9")
    support_actions.label_cases(key=secret.key, references="SD-9", by=manager)

    refused = api_for(support).post(
        f"/api/incidents/{incident.key}/cases/", {"references": ["SD-9"]}, format="json"
    )

    assert refused.status_code == 409
    assert refused.json()["needs_move"] == [{"reference": "SD-9", "incident": "restricted"}]
    assert secret.key not in refused.content.decode()


def test_the_api_bad_move_value_is_400(api_for, support, incident, other):
    refused = api_for(support).post(
        f"/api/incidents/{incident.key}/cases/",
        {"references": ["SD-1"], "move": "perhaps"},
        format="json",
    )
    assert refused.status_code == 400
    assert "move" in refused.json()


def test_the_schema_documents_move_and_the_409(api_for, support):
    schema = api_for(support).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/incidents/{key}/cases/"]["post"]
    assert "409" in operation["responses"]
    assert "move" in schema["components"]["schemas"]["LabelInRequest"]["properties"]
    assert "moved_from" in schema["components"]["schemas"]["LabelOut"]["properties"]
    assert "needs_move" in schema["components"]["schemas"]["MoveNeededOut"]["properties"]


# Remove label, then Undo -------------------------------------------------------------


@pytest.fixture
def labelled_case(support, incident):
    labelled_case = case("SD-7")
    support_actions.label_cases(key=incident.key, references="SD-7", by=support)
    return labelled_case


def test_removing_with_htmx_answers_the_row_with_undo(htmx_for, support, incident, labelled_case):
    client = htmx_for(support)

    removed = client.post(
        f"/support/cases/{labelled_case.pk}/unlabel/", {"next": "/support/cases/?q=SD"}
    )

    assert removed.status_code == 200
    body = removed.content.decode()
    assert body.lstrip().startswith(f'<tr id="case-{labelled_case.pk}"')
    assert "Label removed from <code>SD-7</code> —" in body
    undo = body[body.index('<form class="label-inline undo-remove"') :].split("</form>")[0]
    assert f'action="/support/cases/{labelled_case.pk}/relabel/"' in undo
    assert f'hx-post="/support/cases/{labelled_case.pk}/relabel/"' in undo
    assert f'name="key" value="{incident.key}"' in undo
    assert label_of("SD-7") is None

    undone = client.post(
        f"/support/cases/{labelled_case.pk}/relabel/",
        {"key": incident.key, "next": "/support/cases/?q=SD"},
    )

    assert undone.status_code == 200
    body = undone.content.decode()
    assert f"Labelled SD-7 with {incident.key}." in body
    assert ">Remove label</button>" in body
    assert label_of("SD-7") == incident.pk
    history = list(
        LabelChange.objects.filter(case=labelled_case)
        .order_by("at", "pk")
        .values_list("from_incident", "to_incident")
    )
    assert history == [(None, incident.pk), (incident.pk, None), (None, incident.pk)]
    texts = list(incident.timeline.filter(kind=EntryKind.CASES).values_list("text", flat=True))
    assert any(f"removed SD-7 from {incident.key}" in text for text in texts)


def test_removing_without_javascript_offers_undo_on_the_list(
    client_for, support, incident, labelled_case
):
    client = client_for(support)

    removed = client.post(
        f"/support/cases/{labelled_case.pk}/unlabel/", {"next": "/support/cases/?q=SD"}, follow=True
    )

    body = removed.content.decode()
    assert "Label removed from <code>SD-7</code> —" in body
    assert f'action="/support/cases/{labelled_case.pk}/relabel/"' in body

    undone = client.post(
        f"/support/cases/{labelled_case.pk}/relabel/",
        {"key": incident.key, "next": "/support/cases/?q=SD"},
    )
    assert undone.status_code == 302
    assert undone["Location"] == "/support/cases/?q=SD"
    assert label_of("SD-7") == incident.pk
    page = client.get(f"/support/cases/?q=SD&removed={labelled_case.pk}").content.decode()
    assert f"Labelled SD-7 with {incident.key}." in page
    assert "Label removed from" not in page  # labelled again: nothing to undo


def test_undo_does_not_move_a_case_labelled_elsewhere_meanwhile(
    htmx_for, support, incident, other, labelled_case
):
    client = htmx_for(support)
    client.post(f"/support/cases/{labelled_case.pk}/unlabel/")
    support_actions.label_cases(key=other.key, references="SD-7", by=support)

    undone = client.post(f"/support/cases/{labelled_case.pk}/relabel/", {"key": incident.key})

    assert undone.status_code == 409
    assert f"SD-7 is labelled with {other.key} now: not moved." in undone.content.decode()
    assert label_of("SD-7") == other.pk


def test_undo_access_and_bad_input(client_for, support, security, outsider, labelled_case):
    url = f"/support/cases/{labelled_case.pk}/relabel/"
    assert client_for(outsider).post(url, {"key": "HOT-1"}).status_code == 403
    assert client_for(security).post(url, {"key": "HOT-1"}).status_code == 403
    client = client_for(support)
    assert client.post(f"/support/cases/{labelled_case.pk + 1000}/relabel/").status_code == 404
    assert client.get(url).status_code == 405
    refused = client.post(url, {"key": "HOT-424242"}, follow=True)
    assert "No incident HOT-424242" in refused.content.decode()


def test_an_undo_offer_for_an_unseen_incident_is_not_shown(client_for, support, manager, incident):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    hidden = case("SD-9")
    support_actions.label_cases(key=secret.key, references="SD-9", by=manager)
    support_actions.remove_label(hidden, by=manager)

    page = client_for(support).get(f"/support/cases/?removed={hidden.pk}").content.decode()

    assert "Label removed from" not in page
    assert secret.key not in page


def test_removing_a_label_twice_is_refused(htmx_for, support, labelled_case):
    client = htmx_for(support)
    client.post(f"/support/cases/{labelled_case.pk}/unlabel/")
    again = client.post(f"/support/cases/{labelled_case.pk}/unlabel/")
    assert again.status_code == 400
    assert "SD-7 has no label." in again.content.decode()
    with pytest.raises(actions.ActionRefused):
        support_actions.remove_label(labelled_case, by=support)


# The label history's incidents and person (not checked by the database) ------------


def test_deleting_an_incident_empties_its_place_in_the_history(support, incident, other):
    support_actions.label_cases(key=incident.key, references="SD-1", by=support, move=True)
    history = LabelChange.objects.filter(case__reference="SD-1").order_by("pk")
    assert list(history.values_list("from_incident", "to_incident")) == [
        (None, other.pk),
        (other.pk, incident.pk),
    ]

    other.delete()

    assert list(history.values_list("from_incident", "to_incident")) == [
        (None, None),
        (None, incident.pk),
    ]


def test_a_person_with_label_history_cannot_be_deleted(support, other):
    with pytest.raises(ProtectedError) as refused:
        support.delete()
    assert LabelChange.objects.filter(by=support).exists()
    assert any(isinstance(row, LabelChange) for row in refused.value.protected_objects)


def test_an_incident_id_with_no_incident_reads_as_gone_in_the_history(
    client_for, support, incident, other
):
    support_actions.label_cases(key=incident.key, references="SD-1", by=support, move=True)
    # Only written straight into the table: no constraint keeps the id from dangling.
    LabelChange.objects.filter(to_incident=other).update(to_incident_id=10**9)
    case = SupportCase.objects.get(reference="SD-1")

    page = client_for(support).get(f"/support/cases/{case.pk}/history/")

    body = " ".join(page.content.decode().split())
    assert page.status_code == 200
    assert "the incident is gone" in body
    assert f">{incident.key}</a>" in body
