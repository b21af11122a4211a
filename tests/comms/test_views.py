"""The portal pages: incident panel, draft page with its live checklist, internal page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from comms import actions
from comms.models import Audience, Communication, Kind, State, StatusPageIncident
from incidents import actions as incident_actions
from tests.comms.conftest import complete_follow_up, count_queries
from tests.factories import make_incident

pytestmark = pytest.mark.django_db


def draft(incident, by, audience=Audience.INTERNAL, kind=Kind.FOLLOW_UP, **fields):
    return actions.draft_communication(incident, audience=audience, kind=kind, by=by, **fields)


def form_data(**overrides):
    data = complete_follow_up(**overrides)
    if hasattr(data["next_update_at"], "tzinfo"):
        data["next_update_at"] = timezone.localtime(data["next_update_at"]).strftime(
            "%Y-%m-%dT%H:%M"
        )
    data.setdefault("page_status", "identified")
    data.setdefault("component_status", "")
    return {k: "" if v is None else v for k, v in data.items()}


def test_incident_page_shows_the_panel_with_topic_and_communications(client_for, incident, manager):
    incident_actions.claim_incident(incident, by=manager)
    published = draft(incident, manager, kind=Kind.INITIAL)
    actions.publish_communication(published, by=manager)

    body = client_for(manager).get(incident.get_absolute_url()).content.decode()

    assert 'id="communications"' in body
    assert "Checkout is failing for EU tenants | SEV 2 | Incident manager: @maya" in body
    assert "Internal initial" in body
    assert f'action="/comms/incidents/{incident.key}/draft/"' in body


def test_panel_shows_an_overdue_badge_after_the_promised_time(
    client_for, incident, manager, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    follow_up = draft(incident, manager, **complete_follow_up())
    actions.publish_communication(follow_up, by=manager)

    page = client_for(manager).get(incident.get_absolute_url()).content.decode()
    assert "Next update" in page
    assert "Update overdue" not in page
    time_machine.shift(timedelta(minutes=31))
    assert "Update overdue" in client_for(manager).get(incident.get_absolute_url()).content.decode()
    assert "Update overdue" in client_for(manager).get("/comms/status/").content.decode()


def test_support_sees_the_panel_without_the_draft_form(client_for, incident, support):
    body = client_for(support).get(incident.get_absolute_url()).content.decode()
    assert 'id="communications"' in body
    assert "/draft/" not in body


def test_drafting_from_the_panel_opens_the_prefilled_draft(client_for, incident, manager):
    response = client_for(manager).post(
        f"/comms/incidents/{incident.key}/draft/", {"audience": "external", "kind": "initial"}
    )

    communication = Communication.objects.get()
    assert response.url == f"/comms/communications/{communication.pk}/"
    page = client_for(manager).get(response.url).content.decode()
    assert "We are investigating an issue with Confluence and Jira" in page
    assert 'hx-trigger="input changed delay:300ms"' in page


def test_support_cannot_draft(client_for, incident, support):
    response = client_for(support).post(
        f"/comms/incidents/{incident.key}/draft/", {"audience": "internal", "kind": "initial"}
    )
    assert response.status_code == 403
    assert not Communication.objects.exists()


def test_outsider_gets_403_and_restricted_incident_404(
    client_for, incident, outsider, responder, products
):
    communication = draft(incident, responder, kind=Kind.INITIAL)
    secret = make_incident(summary="leak", restricted=True, products=products)
    secret_draft = actions.draft_communication(
        secret, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=secret.created_by
    )

    assert client_for(outsider).get(f"/comms/communications/{communication.pk}/").status_code == 403
    assert client_for(outsider).get("/comms/status/").status_code == 403
    assert client_for(responder).get(f"/comms/communications/{secret_draft.pk}/").status_code == 404


def test_checklist_fills_in_as_the_form_is_typed(htmx_for, incident, manager):
    communication = draft(incident, manager)
    url = f"/comms/communications/{communication.pk}/checklist/"

    empty = htmx_for(manager).post(url, form_data(root_cause="", eta="")).content.decode()
    full = htmx_for(manager).post(url, form_data()).content.decode()

    assert 'id="checklist"' in empty
    assert '<li class="missing" data-field="root_cause">' in empty
    assert '<li class="missing" data-field="eta">' in empty
    assert 'class="missing"' not in full
    communication.refresh_from_db()
    assert communication.root_cause == ""  # checking never saves


def test_publishing_an_incomplete_follow_up_names_the_missing_item(client_for, incident, manager):
    communication = draft(incident, manager)

    response = client_for(manager).post(
        f"/comms/communications/{communication.pk}/",
        {**form_data(eta=""), "publish": "1"},
    )

    assert response.status_code == 400
    assert "ETA for recovery is missing" in response.content.decode()
    communication.refresh_from_db()
    assert communication.state == State.DRAFT
    # The draft keeps what was typed; only publishing was refused.
    assert communication.root_cause == "unknown"


def test_publishing_without_js_redirects_to_the_incident(client_for, incident, manager, staff_list):
    communication = draft(incident, manager)

    response = client_for(manager).post(
        f"/comms/communications/{communication.pk}/", {**form_data(), "publish": "1"}
    )

    assert response.status_code == 302
    assert response.url == incident.get_absolute_url()
    communication.refresh_from_db()
    assert communication.state == State.PUBLISHED
    assert StatusPageIncident.objects.filter(audience=Audience.INTERNAL).exists()


def test_a_responder_saves_but_cannot_publish(client_for, incident, responder):
    communication = draft(incident, responder)
    url = f"/comms/communications/{communication.pk}/"

    assert client_for(responder).post(url, form_data()).status_code == 302
    assert client_for(responder).post(url, {**form_data(), "publish": "1"}).status_code == 403
    communication.refresh_from_db()
    assert communication.state == State.DRAFT


def test_bad_date_is_a_400_naming_the_field(client_for, incident, manager):
    communication = draft(incident, manager)
    response = client_for(manager).post(
        f"/comms/communications/{communication.pk}/", form_data(next_update_at="tomorrow-ish")
    )
    assert response.status_code == 400
    assert "Enter a valid date/time" in response.content.decode()


def test_send_for_review(client_for, incident, responder, manager):
    communication = draft(incident, responder, kind=Kind.INITIAL)

    response = client_for(responder).post(
        f"/comms/communications/{communication.pk}/review/", {"reviewer": manager.pk}
    )

    assert response.status_code == 302
    communication.refresh_from_db()
    assert communication.state == State.IN_REVIEW
    assert communication.review_requested_from == manager


def test_review_needs_a_reviewer(client_for, incident, responder):
    communication = draft(incident, responder, kind=Kind.INITIAL)
    response = client_for(responder).post(f"/comms/communications/{communication.pk}/review/", {})
    assert response.status_code == 400


def test_internal_status_page_lists_open_incidents_by_internal_name(
    client_for, incident, manager, support, products
):
    actions.publish_communication(draft(incident, manager, kind=Kind.INITIAL), by=manager)
    unannounced = make_incident(summary="Search is slow", severity=3, products=products)
    secret = make_incident(summary="Leaked tokens", restricted=True, products=products)

    body = client_for(support).get("/comms/status/").content.decode()

    assert f"{incident.key} - 2 - Checkout is failing for EU tenants" in body
    assert "We are investigating an incident affecting Confluence and Jira" in body
    assert f"{unannounced.key} - 3 - Search is slow" in body
    assert secret.key not in body


def test_internal_status_page_queries_do_not_grow(client_for, manager, products):
    client = client_for(manager)

    def add(n):
        for i in range(n):
            incident = make_incident(summary=f"i{n}-{i}", products=products)
            actions.publish_communication(draft(incident, manager, kind=Kind.INITIAL), by=manager)

    add(1)
    few = count_queries(lambda: client.get("/comms/status/"))
    add(4)
    assert count_queries(lambda: client.get("/comms/status/")) == few


def test_nav_has_the_status_link(client_for, manager):
    body = client_for(manager).get("/comms/status/").content.decode()
    assert 'href="/comms/status/" class="active"' in body


@pytest.mark.parametrize("suffix", ["", "checklist/", "review/"])
def test_an_unseen_communication_page_answers_like_a_missing_one(
    client_for, responder, products, settings, suffix
):
    secret = make_incident(summary="leak", restricted=True, products=products)
    hidden = draft(secret, secret.created_by, kind=Kind.INITIAL)
    settings.DEBUG = True  # the 404 page shows its reason
    client = client_for(responder)
    method = client.get if not suffix else client.post

    unseen = method(f"/comms/communications/{hidden.pk}/{suffix}")
    missing = method(f"/comms/communications/{hidden.pk + 1000}/{suffix}")

    assert (unseen.status_code, missing.status_code) == (404, 404)
    for answer in (unseen, missing):
        assert "No such communication." in answer.content.decode()
    assert secret.key not in unseen.content.decode()
