"""Drafting from the HANDBOOK templates, the checklist, review, permissions, publishing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from comms import access, actions, content
from comms import mail as comms_mail
from comms.models import (
    Audience,
    ChatMessage,
    ChatWebhook,
    Component,
    ComponentStatus,
    Kind,
    OutboundEmail,
    PageStatus,
    State,
    StatusPageIncident,
    Subscriber,
)
from incidents import actions as incident_actions
from incidents.models import EntryKind, Role
from incidents.support import dashboard
from tests.comms.conftest import complete_follow_up
from tests.factories import ProductFactory, make_incident

pytestmark = pytest.mark.django_db


def test_internal_initial_is_the_handbook_template(incident, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )

    assert draft.state == State.DRAFT
    assert draft.subject == f"{incident.key} - 2 - Checkout is failing for EU tenants"
    assert draft.summary == (
        "We are investigating an incident affecting Confluence and Jira. "
        "We will provide updates via email and the status page shortly."
    )


def test_external_initial_names_products_only(incident, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
    )

    assert draft.summary == (
        "We are investigating an issue with Confluence and Jira and will provide an update "
        "here shortly."
    )
    assert content.external_name(incident) == "Issue with Confluence and Jira"
    assert draft.component_status == ComponentStatus.PARTIAL


def test_external_follow_up_moves_the_page_on(incident, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.FOLLOW_UP, by=manager
    )

    assert draft.page_status == PageStatus.IDENTIFIED
    assert "identified the issue with Confluence and Jira" in draft.summary


def test_internal_follow_up_prefills_where_and_when_the_next_update_comes(incident, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.FOLLOW_UP, by=manager
    )

    assert draft.next_update
    assert draft.next_update_at > timezone.now()
    assert draft.summary == ""


def test_internal_final_states_duration_cases_and_no_further_updates(incident, manager):
    started = timezone.now() - timedelta(hours=2)
    incident_actions.update_incident(incident, by=manager, impact_started_at=started)
    incident_actions.claim_incident(incident, by=manager)
    incident_actions.transition_incident(
        incident, to="resolved", by=manager, impact_ended_at=started + timedelta(minutes=95)
    )
    incident.refresh_from_db()

    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.FINAL, by=manager
    )

    assert "no further communications will follow" in draft.summary
    assert "lasted 1 h 35 min" in draft.customer_impact
    assert f"0 support cases labelled {incident.key}" in draft.customer_impact


def test_external_final_says_restored_and_review_follows(incident, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.FINAL, by=manager
    )

    assert "service is restored" in draft.summary
    assert "post-incident review will follow" in draft.summary
    assert draft.page_status == PageStatus.RESOLVED
    assert draft.component_status == ComponentStatus.OPERATIONAL


FOLLOW_UP_ITEMS = list(complete_follow_up())


@pytest.mark.parametrize("missing", FOLLOW_UP_ITEMS)
def test_internal_follow_up_missing_an_item_is_refused_naming_it(incident, manager, missing):
    fields = complete_follow_up(**{missing: None if missing == "next_update_at" else ""})
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.FOLLOW_UP, by=manager, **fields
    )

    with pytest.raises(actions.ActionRefused) as refusal:
        actions.publish_communication(draft, by=manager)

    assert refusal.value.field == missing
    draft.refresh_from_db()
    assert draft.state == State.DRAFT
    assert not OutboundEmail.objects.exists()
    assert not StatusPageIncident.objects.exists()


@pytest.mark.parametrize("field", ["current_status", "next_steps"])
@pytest.mark.parametrize("bullets", [1, 5])
def test_sections_need_two_to_four_bullets(incident, manager, field, bullets):
    text = "\n".join(f"- point {n}" for n in range(bullets))
    draft = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        **complete_follow_up(**{field: text}),
    )

    with pytest.raises(actions.ActionRefused) as refusal:
        actions.publish_communication(draft, by=manager)
    assert refusal.value.field == field


def test_a_summary_of_three_sentences_is_refused_internally(incident, manager):
    draft = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        **complete_follow_up(summary="One. Two. Three."),
    )
    with pytest.raises(actions.ActionRefused) as refusal:
        actions.publish_communication(draft, by=manager)
    assert refusal.value.field == "summary"


def test_unknowns_said_as_unknown_are_accepted(incident, manager, staff_list):
    draft = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        **complete_follow_up(root_cause="unknown", eta="unknown"),
    )

    published = actions.publish_communication(draft, by=manager)

    assert published.state == State.PUBLISHED
    assert all(check.done for check in content.checklist(published))


def test_long_external_update_warns_but_publishes(incident, manager):
    draft = actions.draft_communication(
        incident,
        audience=Audience.EXTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        summary="We found it. We are fixing it. We will be back. Promise.",
    )

    assert content.warnings(draft)
    assert actions.publish_communication(draft, by=manager).state == State.PUBLISHED


def test_publishing_internal_updates_the_internal_page_and_mails_the_list(
    incident, manager, staff_list, responder, django_capture_on_commit_callbacks
):
    team = incident.faulty_service.team
    team.members.add(responder)
    staff_list.teams.add(team)
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )

    with django_capture_on_commit_callbacks() as callbacks:
        actions.publish_communication(draft, by=manager)

    page = StatusPageIncident.objects.get(incident=incident, audience=Audience.INTERNAL)
    assert page.name == f"{incident.key} - 2 - Checkout is failing for EU tenants"
    mails = OutboundEmail.objects.order_by("to")
    assert [mail.to for mail in mails] == [
        "leaders@example.com",
        "major-ims@example.com",
        "rui@example.com",
    ]
    assert {mail.subject for mail in mails} == {page.name}
    assert all(incident.key in mail.text for mail in mails)
    assert len({mail.message_id for mail in mails}) == 3
    # One send per mail, after commit (beside the support board's marker moves).
    assert len([c for c in callbacks if c is not dashboard.bump_marker]) == 3
    entry = incident.timeline.filter(kind=EntryKind.COMMS).last()
    assert "published the internal initial" in entry.text


def test_publishing_external_updates_components_and_mails_matching_subscribers(
    incident, manager, products
):
    everything = Subscriber.objects.create(email="all@example.com", confirmed_at=timezone.now())
    jira_only = Subscriber.objects.create(email="jira@example.com", confirmed_at=timezone.now())
    jira_only.products.set([products[0]])
    Subscriber.objects.create(email="unconfirmed@example.com")
    other = Subscriber.objects.create(email="other@example.com", confirmed_at=timezone.now())
    other.products.set([ProductFactory(name="Bamboo", slug="bamboo")])
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
    )

    actions.publish_communication(draft, by=manager)

    page = StatusPageIncident.objects.get(incident=incident, audience=Audience.EXTERNAL)
    assert page.name == "Issue with Confluence and Jira"
    assert page.status == PageStatus.INVESTIGATING
    assert set(OutboundEmail.objects.values_list("to", flat=True)) == {
        everything.email,
        jira_only.email,
    }
    mail = OutboundEmail.objects.get(to=everything.email)
    assert incident.key not in mail.text + mail.subject
    assert f"/status/unsubscribe/{comms_mail.unsubscribe_token(everything)}/" in mail.text
    assert set(Component.objects.values_list("status", flat=True)) == {ComponentStatus.PARTIAL}


def test_final_external_resolves_the_page_and_restores_components(incident, manager):
    for kind in (Kind.INITIAL, Kind.FINAL):
        draft = actions.draft_communication(
            incident, audience=Audience.EXTERNAL, kind=kind, by=manager
        )
        actions.publish_communication(draft, by=manager)

    page = StatusPageIncident.objects.get()
    assert page.status == PageStatus.RESOLVED
    assert page.resolved_at is not None
    assert page.updates.count() == 2
    assert set(Component.objects.values_list("status", flat=True)) == {ComponentStatus.OPERATIONAL}


def test_review_records_the_reviewer(incident, responder, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=responder
    )
    actions.request_review(draft, reviewer=manager, by=responder)

    published = actions.publish_communication(draft, by=manager)

    assert published.reviewer == manager
    assert published.published_by == manager


def test_asking_yourself_for_review_is_refused(incident, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    with pytest.raises(actions.ActionRefused) as refusal:
        actions.request_review(draft, reviewer=manager, by=manager)
    assert refusal.value.field == "reviewer"


def test_setting_requires_review_for_external_updates(incident, manager, other_manager, settings):
    settings.COMMS_EXTERNAL_REVIEW_REQUIRED = True
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
    )

    with pytest.raises(actions.ActionRefused, match="need a review"):
        actions.publish_communication(draft, by=manager)
    actions.request_review(draft, reviewer=other_manager, by=manager)
    with pytest.raises(actions.ActionRefused, match="need a review"):
        actions.publish_communication(draft, by=manager)  # the author is no second opinion
    assert actions.publish_communication(draft, by=other_manager).reviewer == other_manager


def test_internal_updates_need_no_review_even_with_the_setting(incident, manager, settings):
    settings.COMMS_EXTERNAL_REVIEW_REQUIRED = True
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    assert actions.publish_communication(draft, by=manager).state == State.PUBLISHED


def test_publishing_twice_is_refused(incident, manager):
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    actions.publish_communication(draft, by=manager)
    with pytest.raises(actions.ActionRefused) as refusal:
        actions.publish_communication(draft, by=manager)
    assert refusal.value.conflict


def test_restricted_incidents_never_get_external_communications(manager, products):
    secret = make_incident(summary="Token leak", restricted=True, products=products)
    with pytest.raises(actions.ActionRefused) as refusal:
        actions.draft_communication(
            secret, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=manager
        )
    assert refusal.value.field == "audience"


def test_only_incident_and_communications_managers_publish(incident, manager, responder):
    assert access.can_publish(manager, incident)
    assert not access.can_publish(responder, incident)
    assert access.can_draft(responder, incident)

    incident_actions.assign_role(incident, person=responder, role=Role.COMMS_EXTERNAL, by=manager)

    assert access.can_publish(responder, incident)


def test_support_and_outsiders_cannot_draft(incident, support, outsider):
    assert not access.can_draft(support, incident)
    assert not access.can_draft(outsider, incident)


def test_next_update_becomes_the_incident_deadline(incident, manager, time_machine):
    from comms import selectors

    time_machine.move_to(timezone.now(), tick=False)
    draft = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        **complete_follow_up(next_update_at=timezone.now() + timedelta(minutes=30)),
    )
    actions.publish_communication(draft, by=manager)

    due = selectors.next_update_due(incident)
    assert due is not None
    assert not due.overdue
    time_machine.shift(timedelta(minutes=31))
    assert selectors.next_update_due(incident).overdue


def test_chat_topic_lists_the_im_first_and_the_links(incident, manager, responder):
    incident_actions.update_incident(
        incident, by=manager, video_url="https://meet.example.com/x", status_doc_url=""
    )
    incident_actions.claim_incident(incident, by=manager)
    incident_actions.assign_role(incident, person=responder, role=Role.TECH_LEAD, by=manager)
    incident.refresh_from_db()

    topic = content.topic(incident)

    assert topic.startswith("Checkout is failing for EU tenants | SEV 2 | Incident manager: @maya")
    assert topic.index("@maya") < topic.index("@rui")
    assert "Video: https://meet.example.com/x" in topic
    assert f"/incidents/{incident.key}/" in topic


def test_incident_events_write_chat_rows_to_the_team_webhook(products, manager):
    from tests.factories import ServiceFactory

    service = ServiceFactory()
    ChatWebhook.objects.create(team=service.team, url="http://127.0.0.1:9/hook")
    incident = make_incident(faulty_service=service, products=products)
    incident_actions.claim_incident(incident, by=manager)
    incident_actions.change_severity(incident, severity=1, by=manager)

    texts = list(ChatMessage.objects.order_by("id").values_list("text", flat=True))
    assert texts[0].startswith(f"{incident.key} created")
    assert any("severity 2 → 1" in text for text in texts)
    assert all("Topic: " in text for text in texts)


def test_an_incident_without_a_team_webhook_posts_nothing(incident):
    assert not ChatMessage.objects.exists()


def test_subscribing_twice_keeps_one_subscriber_and_resends_confirmation(products):
    actions.subscribe("A@Example.com", products=[products[0]])
    actions.subscribe("a@example.com")

    subscriber = Subscriber.objects.get()
    assert subscriber.email == "a@example.com"
    assert not subscriber.products.exists()
    assert OutboundEmail.objects.filter(to="a@example.com").count() == 2


def test_confirm_and_unsubscribe(db):
    subscriber = actions.subscribe("c@example.com")
    assert actions.confirm_subscription("nope") is None
    assert actions.confirm_subscription(subscriber.confirm_token).confirmed
    signed = comms_mail.unsubscribe_token(subscriber)
    # The bare stored token is not the link's: only a signed one unsubscribes.
    assert not actions.unsubscribe(subscriber.unsubscribe_token)
    assert actions.unsubscribe(signed)
    assert not Subscriber.objects.exists()
    assert not actions.unsubscribe(signed)


def test_other_people_cannot_be_made_publishers_by_a_custom_role(incident, manager, responder):
    incident_actions.assign_role(
        incident, person=responder, role=Role.CUSTOM, custom_name="Scribe", by=manager
    )
    assert not access.can_publish(responder, incident)


def test_a_reminder_goes_to_the_communications_manager_before_the_update_is_due(
    incident, manager, responder, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    incident_actions.claim_incident(incident, by=manager)
    incident_actions.assign_role(incident, person=responder, role=Role.COMMS_INTERNAL, by=manager)
    follow_up = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        **complete_follow_up(next_update_at=timezone.now() + timedelta(minutes=30)),
    )
    actions.publish_communication(follow_up, by=manager)
    OutboundEmail.objects.all().delete()

    assert actions.send_due_reminders() == 0  # 30 minutes away: too early
    time_machine.shift(timedelta(minutes=21))
    assert actions.send_due_reminders() == 1
    assert actions.send_due_reminders() == 0  # once per promise

    [reminder] = OutboundEmail.objects.all()
    assert reminder.to == "rui@example.com"
    assert reminder.subject.startswith(f"Update due: {incident.key}")


def test_no_reminder_once_a_newer_update_is_published(incident, manager, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    incident_actions.claim_incident(incident, by=manager)
    for _ in range(2):
        draft = actions.draft_communication(
            incident,
            audience=Audience.INTERNAL,
            kind=Kind.FOLLOW_UP,
            by=manager,
            **complete_follow_up(next_update_at=timezone.now() + timedelta(minutes=5)),
        )
        actions.publish_communication(draft, by=manager)
        time_machine.shift(timedelta(minutes=1))
    OutboundEmail.objects.all().delete()

    assert actions.send_due_reminders() == 1
    assert OutboundEmail.objects.get().to == "maya@example.com"  # the IM: no comms manager


def test_restricted_incidents_post_nothing_to_the_team_room(products, manager, support):
    from tests.factories import ServiceFactory

    service = ServiceFactory()
    ChatWebhook.objects.create(team=service.team, url="http://127.0.0.1:9/hook")
    secret = make_incident(
        by=support, summary="Tokens leaked", faulty_service=service, restricted=True
    )
    secret = incident_actions.claim_incident(secret, by=manager)
    draft = actions.draft_communication(
        secret, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    actions.publish_communication(draft, by=manager)

    # Not even a line naming the key: the room is wider than the people involved.
    assert not ChatMessage.objects.exists()


@pytest.fixture
def restricted_setup(products, support, manager, responder, security, staff_list):
    """A restricted incident: created by support, claimed by the IM, a role holder and a
    paged person involved; a distribution list whose team has an uninvolved member."""
    from tests.factories import TeamFactory, UserFactory

    bystander = UserFactory(username="bea", group="incident manager")
    team = TeamFactory()
    team.members.add(bystander)
    staff_list.teams.add(team)
    paged = UserFactory(username="pat", group="responder")
    secret = make_incident(
        by=support, summary="Customer data exposed", restricted=True, products=products
    )
    secret = incident_actions.claim_incident(secret, by=manager)
    incident_actions.assign_role(secret, person=responder, role=Role.TECH_LEAD, by=manager)
    incident_actions.involve(secret, person=paged, reason="paged")
    return secret


def test_a_restricted_internal_update_mails_only_the_people_involved(restricted_setup, manager):
    secret = restricted_setup
    draft = actions.draft_communication(
        secret, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    actions.publish_communication(draft, by=manager)

    recipients = set(OutboundEmail.objects.values_list("to", flat=True))
    # Creator, IM, role holder, the paged person, and the security group: no list.
    assert recipients == {
        "sam@example.com",
        "maya@example.com",
        "rui@example.com",
        "pat@example.com",
        "sofia@example.com",
    }


def test_an_open_incident_still_mails_the_distribution_list(incident, manager, staff_list):
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    actions.publish_communication(draft, by=manager)

    recipients = set(OutboundEmail.objects.values_list("to", flat=True))
    assert {"leaders@example.com", "major-ims@example.com"} <= recipients


def test_a_restricted_incident_is_never_published_externally(restricted_setup, manager):
    secret = restricted_setup
    draft = actions.draft_communication(
        secret, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    # Even a draft that is external in the database (the incident was restricted later).
    type(draft).objects.filter(pk=draft.pk).update(audience=Audience.EXTERNAL)
    draft.refresh_from_db()

    with pytest.raises(actions.ActionRefused, match="never shown on the public status page"):
        actions.publish_communication(draft, by=manager)
    assert not OutboundEmail.objects.exists()
    assert not StatusPageIncident.objects.exists()


def test_review_of_a_restricted_update_is_never_asked_of_someone_uninvolved(
    restricted_setup, manager, other_manager
):
    draft = actions.draft_communication(
        restricted_setup, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )

    with pytest.raises(actions.ActionRefused) as refusal:
        actions.request_review(draft, reviewer=other_manager, by=manager)
    assert refusal.value.field == "reviewer"
    assert not OutboundEmail.objects.exists()


def test_review_request_mails_the_reviewer_who_must_be_able_to_publish(
    incident, responder, manager, support
):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=responder
    )

    with pytest.raises(actions.ActionRefused) as refusal:
        actions.request_review(draft, reviewer=support, by=responder)
    assert refusal.value.field == "reviewer"
    actions.request_review(draft, reviewer=manager, by=responder)

    [mail] = OutboundEmail.objects.all()
    assert mail.to == "maya@example.com"
    assert f"/comms/communications/{draft.pk}/" in mail.text


def test_a_role_change_posts_who_took_which_role(products, manager, responder):
    from tests.factories import ServiceFactory

    service = ServiceFactory()
    ChatWebhook.objects.create(team=service.team, url="http://127.0.0.1:9/hook")
    incident = make_incident(faulty_service=service, products=products)
    incident_actions.claim_incident(incident, by=manager)
    incident_actions.assign_role(incident, person=responder, role=Role.TECH_LEAD, by=manager)

    last = ChatMessage.objects.order_by("id").last()
    assert last.text.startswith(f"{incident.key}: Tech lead @rui assigned by @maya.")
    assert "Tech lead: @rui" in last.text


# After resolving: the public page's final update ----------------------------------------


def announce_publicly(incident, by):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=Kind.INITIAL, by=by
    )
    return actions.publish_communication(draft, by=by)


def resolve(incident, by):
    return incident_actions.transition_incident(
        incident, to="resolved", impact_ended_at=timezone.now(), by=by
    )


def test_resolving_drafts_the_final_update_once(incident, manager):
    from comms import selectors

    incident = incident_actions.claim_incident(incident, by=manager)
    announce_publicly(incident, manager)

    resolve(incident, manager)
    incident_actions.transition_incident(incident, to="fixing", by=manager)
    incident = resolve(incident, manager)

    [draft] = incident.communications.filter(audience=Audience.EXTERNAL, kind=Kind.FINAL)
    assert draft.author == manager
    assert draft.page_status == PageStatus.RESOLVED
    assert draft.component_status == ComponentStatus.OPERATIONAL
    [step] = selectors.final_update_steps(incident, manager)
    assert step.kind == "final_update"
    assert step.url == f"/comms/communications/{draft.pk}/"

    actions.publish_communication(draft, by=manager)

    assert StatusPageIncident.objects.get(audience=Audience.EXTERNAL).status == "resolved"
    assert selectors.final_update_steps(incident, manager) == []


def test_resolving_a_restricted_or_unannounced_incident_drafts_nothing(products, manager):
    for restricted in (True, False):
        incident = make_incident(by=manager, restricted=restricted, products=products)
        incident = incident_actions.claim_incident(incident, by=manager)

        resolve(incident, manager)

        assert not incident.communications.filter(audience=Audience.EXTERNAL).exists()


def test_a_role_change_reads_in_the_rooms_language_not_the_actors(manager, responder):
    from django.utils import translation

    from tests.factories import ServiceFactory

    service = ServiceFactory()
    ChatWebhook.objects.create(team=service.team, url="http://127.0.0.1:9/hook", language="en")
    incident = make_incident(faulty_service=service)
    with translation.override("ko"):  # the manager works in Korean
        incident_actions.assign_role(incident, person=responder, role=Role.TECH_LEAD, by=manager)
    line = ChatMessage.objects.filter(incident=incident).order_by("-pk").first().text
    assert "Tech lead" in line, line
    assert "기술 리드" not in line
