"""Roles and delegation (HANDBOOK §7): rules, history, the assignee kept in step."""

import html

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import actions, events, selectors
from incidents.actions import ActionRefused
from incidents.after import actions as after_actions
from incidents.models import EntryKind, Incident, Role, RoleAssignment, Status
from tests.factories import UserFactory, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixing(manager):
    incident = make_incident()
    return actions.claim_incident(incident, by=manager)


def roles_of(incident):
    return [(held.role, held.person.username) for held in selectors.current_roles(incident)]


def current_labels(incident):
    return [(holder.role, holder.person.username) for holder in selectors.current_roles(incident)]


# Actions ------------------------------------------------------------------------------


def test_claiming_makes_the_claimer_the_incident_manager_role_holder(fixing, manager):
    held = RoleAssignment.objects.get(incident=fixing)

    assert (held.role, held.person, held.ended_at) == (Role.INCIDENT_MANAGER, manager, None)
    assert current_labels(fixing) == [("Incident manager", "maya")]


def test_assigning_a_tech_lead_records_it_and_announces_the_change(
    fixing, manager, responder, published
):
    held = actions.assign_role(
        fixing, person=responder, role=Role.TECH_LEAD, by=manager, scope="database failover"
    )

    assert (held.person, held.assigned_by, held.scope) == (responder, manager, "database failover")
    entry = fixing.timeline.get(kind=EntryKind.ROLE)
    assert entry.text == "maya made rui Tech lead for database failover."
    assert entry.data["action"] == "assigned"
    assert [event.name for event in published] == [events.ROLE_CHANGED]
    assert published[0].data["person"] == "rui"
    assert current_labels(fixing) == [("Incident manager", "maya"), ("Tech lead", "rui")]


def test_several_people_may_hold_a_role_and_the_same_person_once(fixing, manager, responder):
    second = UserFactory(username="tess", group="responder")
    first = actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)
    actions.assign_role(fixing, person=second, role=Role.TECH_LEAD, by=manager)

    again = actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)

    assert again == first
    assert fixing.roles.current().filter(role=Role.TECH_LEAD).count() == 2
    assert fixing.timeline.filter(kind=EntryKind.ROLE).count() == 2


def test_a_custom_role_needs_a_name(fixing, manager, responder):
    with pytest.raises(ActionRefused) as refused:
        actions.assign_role(fixing, person=responder, role=Role.CUSTOM, by=manager)

    assert refused.value.field == "custom_name"
    held = actions.assign_role(
        fixing, person=responder, role=Role.CUSTOM, custom_name=" Scribe ", by=manager
    )
    assert held.label == "Scribe"


def test_only_incident_managers_may_hold_the_incident_manager_role(fixing, manager, responder):
    with pytest.raises(ActionRefused) as refused:
        actions.assign_role(fixing, person=responder, role=Role.INCIDENT_MANAGER, by=manager)

    assert refused.value.field == "person"
    assert "not an incident manager" in refused.value.message


def test_people_without_the_take_role_permission_get_no_role(fixing, manager, support):
    with pytest.raises(ActionRefused) as refused:
        actions.assign_role(fixing, person=support, role=Role.COMMS_EXTERNAL, by=manager)

    assert refused.value.field == "person"
    assert not fixing.roles.filter(person=support).exists()


def test_roles_are_for_open_incidents(fixing, manager, responder):
    resolved = actions.transition_incident(
        fixing, to=Status.RESOLVED, by=manager, impact_ended_at=fixing.created_at
    )

    with pytest.raises(ActionRefused, match="resolved"):
        actions.assign_role(resolved, person=responder, role=Role.TECH_LEAD, by=manager)


def test_a_supporting_incident_manager_leaves_the_assignee_alone(
    fixing, manager, other_manager, published
):
    actions.assign_role(fixing, person=other_manager, role=Role.INCIDENT_MANAGER, by=manager)

    fixing.refresh_from_db()
    assert fixing.assignee == manager
    assert [event.name for event in published] == [events.ROLE_CHANGED]
    assert current_labels(fixing) == [("Incident manager", "maya"), ("Incident manager", "imani")]


def test_an_incident_manager_role_on_an_unassigned_incident_makes_them_the_assignee(
    manager, other_manager, published
):
    incident = make_incident()

    actions.assign_role(incident, person=other_manager, role=Role.INCIDENT_MANAGER, by=manager)

    incident.refresh_from_db()
    assert incident.assignee == other_manager
    assert [event.name for event in published][-1] == events.ASSIGNEE_CHANGED


def test_handing_over_the_incident_manager_role_changes_the_assignee(
    fixing, manager, other_manager, published
):
    held = fixing.roles.get()

    new = actions.hand_over_role(held, to=other_manager, by=manager, note="Going to sleep.")

    fixing.refresh_from_db()
    held.refresh_from_db()
    assert fixing.assignee == other_manager
    assert held.ended_at is not None
    assert held.ended_by == manager
    assert (new.person, new.role, new.ended_at) == (other_manager, Role.INCIDENT_MANAGER, None)
    entry = fixing.timeline.filter(kind=EntryKind.ROLE).get()
    assert entry.text == "maya handed Incident manager over to imani. Going to sleep."
    assert entry.data["from"] == "maya"
    assert entry.data["note"] == "Going to sleep."
    assert [event.name for event in published] == [events.ASSIGNEE_CHANGED]
    assert published[0].data["previous"] == manager


def test_changing_the_assignee_moves_the_incident_manager_role(fixing, manager, other_manager):
    actions.assign_incident(fixing, assignee=other_manager, by=manager)

    history = [(held.person.username, held.is_current) for held in selectors.role_history(fixing)]
    assert history == [("maya", False), ("imani", True)]
    assert current_labels(fixing) == [("Incident manager", "imani")]


def test_releasing_the_assignee_ends_the_incident_manager_role(fixing, manager):
    actions.assign_incident(fixing, assignee=None, by=manager)

    assert not fixing.roles.current().exists()
    assert selectors.current_roles(fixing) == []


def test_when_the_assignee_steps_down_the_supporting_manager_takes_over(
    fixing, manager, other_manager
):
    actions.assign_role(fixing, person=other_manager, role=Role.INCIDENT_MANAGER, by=manager)
    held = fixing.roles.get(person=manager)

    actions.release_role(held, by=manager)

    fixing.refresh_from_db()
    assert fixing.assignee == other_manager
    entry = fixing.timeline.filter(kind=EntryKind.ROLE).last()
    assert entry.text == "maya released Incident manager. imani is now the incident manager."


def test_when_the_last_incident_manager_steps_down_the_incident_is_unassigned(fixing, manager):
    actions.release_role(fixing.roles.get(), by=manager)

    fixing.refresh_from_db()
    assert fixing.assignee is None
    assert "has no incident manager" in fixing.timeline.last().text


def test_an_ended_role_cannot_be_handed_over_or_released_again(
    fixing, manager, responder, other_manager
):
    held = actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)
    actions.release_role(held, by=manager)

    with pytest.raises(ActionRefused) as refused:
        actions.release_role(held, by=manager)
    assert refused.value.conflict
    with pytest.raises(ActionRefused):
        actions.hand_over_role(held, to=other_manager, by=manager)


def test_the_history_keeps_who_held_what_and_when(fixing, manager, responder):
    tess = UserFactory(username="tess", group="responder")
    held = actions.assign_role(fixing, person=responder, role=Role.COMMS_INTERNAL, by=manager)
    actions.hand_over_role(held, to=tess, by=manager)

    history = [
        (held.label, held.person.username, held.is_current)
        for held in selectors.role_history(fixing)
    ]
    assert history == [
        ("Incident manager", "maya", True),
        ("Communications manager (internal)", "rui", False),
        ("Communications manager (internal)", "tess", True),
    ]


def test_current_roles_put_the_assignee_first_then_the_roles_in_order(
    fixing, manager, responder, other_manager
):
    actions.assign_role(fixing, person=responder, role=Role.COMMS_EXTERNAL, by=manager)
    actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)
    actions.assign_role(fixing, person=other_manager, role=Role.INCIDENT_MANAGER, by=manager)
    actions.assign_incident(fixing, assignee=other_manager, by=manager)

    assert current_labels(fixing) == [
        ("Incident manager", "imani"),
        ("Tech lead", "rui"),
        ("Communications manager (external)", "rui"),
    ]


def test_a_role_holder_sees_the_restricted_incident(manager, responder):
    restricted = actions.claim_incident(make_incident(restricted=True), by=manager)
    assert not Incident.objects.visible_to(responder).filter(pk=restricted.pk).exists()

    held = actions.assign_role(restricted, person=responder, role=Role.TECH_LEAD, by=manager)
    assert Incident.objects.visible_to(responder).filter(pk=restricted.pk).exists()

    # Having taken part, they keep seeing what they worked on.
    actions.release_role(held, by=manager)
    assert list(Incident.objects.visible_to(responder)) == [restricted]


# Access -------------------------------------------------------------------------------


def url(name, incident, *args):
    return reverse(f"incidents:{name}", args=[incident.key, *args])


def test_an_incident_manager_assigns_a_role_from_the_page(client_for, fixing, manager, responder):
    response = client_for(manager).post(
        url("roles", fixing), {"person": responder.pk, "role": Role.TECH_LEAD}
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#roles")
    assert fixing.roles.current().filter(person=responder, role=Role.TECH_LEAD).exists()


def test_htmx_assignment_answers_with_the_roles_card(htmx_for, fixing, manager, responder):
    response = htmx_for(manager).post(
        url("roles", fixing), {"person": responder.pk, "role": Role.TECH_LEAD}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="roles">')
    assert "Tech lead" in body
    assert "is now Tech lead" in body


def test_a_responder_may_not_delegate(client_for, fixing, responder):
    response = client_for(responder).post(
        url("roles", fixing), {"person": responder.pk, "role": Role.TECH_LEAD}
    )

    assert response.status_code == 403
    assert not fixing.roles.filter(person=responder).exists()


def test_an_outsider_is_refused_roles(client_for, fixing, outsider, responder):
    response = client_for(outsider).post(
        url("roles", fixing), {"person": responder.pk, "role": Role.TECH_LEAD}
    )

    assert response.status_code == 403


def test_roles_of_a_hidden_restricted_incident_are_404(client_for, manager, responder):
    restricted = actions.claim_incident(make_incident(restricted=True), by=manager)

    response = client_for(responder).get(url("roles", restricted))

    assert response.status_code == 404


def test_a_custom_role_without_a_name_is_refused_on_its_field(
    client_for, fixing, manager, responder
):
    response = client_for(manager).post(
        url("roles", fixing), {"person": responder.pk, "role": Role.CUSTOM}
    )

    assert response.status_code == 400
    assert "Name the custom role." in html.unescape(response.content.decode())
    assert not fixing.roles.filter(person=responder).exists()


def test_a_holder_may_step_down_but_not_hand_over(
    client_for, fixing, manager, responder, other_manager
):
    held = actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)
    client = client_for(responder)

    handed = client.post(url("role_hand_over", fixing, held.pk), {"to": other_manager.pk})
    released = client.post(url("role_release", fixing, held.pk))

    assert handed.status_code == 403
    assert released.status_code == 302
    held.refresh_from_db()
    assert held.ended_by == responder


def test_a_colleague_may_not_release_someone_elses_role(client_for, fixing, manager, responder):
    tess = UserFactory(username="tess", group="responder")
    held = actions.assign_role(fixing, person=tess, role=Role.TECH_LEAD, by=manager)

    response = client_for(responder).post(url("role_release", fixing, held.pk))

    assert response.status_code == 403


def test_hand_over_from_the_page_moves_the_assignee(client_for, fixing, manager, other_manager):
    held = fixing.roles.get()

    response = client_for(manager).post(
        url("role_hand_over", fixing, held.pk), {"to": other_manager.pk, "note": "Night shift."}
    )

    assert response.status_code == 302
    fixing.refresh_from_db()
    assert fixing.assignee == other_manager


def test_hand_over_without_a_receiver_is_refused(client_for, fixing, manager):
    held = fixing.roles.get()

    response = client_for(manager).post(url("role_hand_over", fixing, held.pk), {"to": ""})

    assert response.status_code == 400
    assert fixing.roles.current().get() == held


def test_a_role_of_another_incident_is_404(client_for, fixing, manager):
    other = actions.claim_incident(make_incident(), by=manager)

    response = client_for(manager).post(url("role_release", fixing, other.roles.get().pk))

    assert response.status_code == 404


def test_the_page_shows_roles_and_their_history(client_for, fixing, manager, responder):
    held = actions.assign_role(fixing, person=responder, role=Role.TECH_LEAD, by=manager)
    actions.release_role(held, by=manager)

    body = client_for(manager).get(fixing.get_absolute_url()).content.decode()

    assert 'id="roles"' in body
    assert "History (1 earlier)" in body


# Who is busy with what ----------------------------------------------------------------


def test_the_key_of_the_managed_incident_shows_beside_the_name(
    client_for, fixing, manager, support
):
    other = actions.claim_incident(make_incident(), by=manager)

    body = client_for(support).get("/incidents/").content.decode()

    row = body.split(f'id="row-{fixing.key}"')[1].split("</tr>")[0]
    assert f'title="Managing {other.key}">{other.key}</a>' in row
    # The row's own incident is not repeated beside its manager.
    assert f"Managing {fixing.key}" not in row


def test_a_restricted_incident_key_stays_hidden_beside_the_name(client_for, manager, support):
    restricted = actions.claim_incident(make_incident(restricted=True), by=manager)
    visible = actions.claim_incident(make_incident(), by=manager)
    page = actions.claim_incident(make_incident(), by=manager)

    body = client_for(support).get(page.get_absolute_url()).content.decode()

    assert f"Managing {visible.key}" in body
    assert f"Managing {restricted.key}" not in body


def test_the_busy_keys_cost_one_query_whatever_the_number_of_people(client_for, support):
    client = client_for(support)
    client.get("/incidents/")

    def measure():
        with CaptureQueriesContext(connection) as queries:
            client.get("/incidents/")
        return len(queries)

    managers = [UserFactory(group="incident manager") for _ in range(6)]
    actions.claim_incident(make_incident(), by=managers[0])
    few = measure()
    for person in managers[1:]:
        actions.claim_incident(make_incident(), by=person)
    assert measure() == few


def test_the_workspace_query_count_does_not_grow_with_its_contents(client_for, fixing, manager):
    client = client_for(manager)
    client.get(fixing.get_absolute_url())

    def grow(start, count):
        for number in range(start, start + count):
            person = UserFactory(username=f"p{number}", group="responder")
            held = actions.assign_role(fixing, person=person, role=Role.TECH_LEAD, by=manager)
            if number % 2:
                actions.release_role(held, by=manager)
            actions.add_timeline_entry(fixing, kind=EntryKind.CHANGE, text="c", by=person)
            after_actions.add_cleanup_task(fixing, by=manager, title=f"t{number}", owner=person)
            other = actions.claim_incident(make_incident(), by=manager)
            actions.assign_role(other, person=person, role=Role.COMMS_EXTERNAL, by=manager)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(fixing.get_absolute_url()).status_code == 200
        return len(queries)

    few = grow(0, 2)
    many = grow(2, 8)
    assert many == few


def test_the_person_tag_works_without_a_request(fixing, manager):
    other = actions.claim_incident(make_incident(), by=manager)
    template = Template("{% load hotline %}{% person who hide=incident %}")

    html_out = template.render(Context({"who": manager, "user": manager, "incident": fixing}))

    assert f"Managing {other.key}" in html_out
    assert f"Managing {fixing.key}" not in html_out
