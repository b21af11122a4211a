"""Resolution and after (HANDBOOK §10): cleanup tasks and the post-incident review."""

import html
import importlib
from datetime import date, timedelta

import pytest
import time_machine
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone

from incidents import actions
from incidents.actions import ActionRefused
from incidents.after import actions as after_actions
from incidents.after.models import CleanupTask, Review
from incidents.models import EntryKind, Incident, Involvement, Status, TheoryState
from incidents.workspace import actions as workspace_actions
from incidents.workspace.models import Affected
from tests.factories import UserFactory, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixing(manager):
    incident = make_incident(impact_started_at=timezone.now() - timedelta(hours=2))
    return actions.claim_incident(incident, by=manager)


@pytest.fixture
def resolved(fixing, manager):
    return actions.transition_incident(
        fixing, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )


def url(name, incident, *args):
    return reverse(f"incidents:{name}", args=[incident.key, *args])


def text_of(response):
    return html.unescape(response.content.decode())


# Cleanup tasks -------------------------------------------------------------------------


def test_a_cleanup_task_is_recorded_on_the_timeline(fixing, manager, responder):
    task = after_actions.add_cleanup_task(
        fixing,
        by=manager,
        title=" Alert on pool exhaustion ",
        owner=responder,
        due=date(2030, 1, 2),
        link="https://issues.example.com/OPS-1",
    )

    assert (task.title, task.owner, task.link) == (
        "Alert on pool exhaustion",
        responder,
        "https://issues.example.com/OPS-1",
    )
    entry = fixing.timeline.get(kind=EntryKind.CLEANUP)
    assert entry.text == "Cleanup task: Alert on pool exhaustion (owner rui, due 2030-01-02)"


def test_a_task_needs_a_title(fixing, manager):
    with pytest.raises(ActionRefused) as refused:
        after_actions.add_cleanup_task(fixing, by=manager, title="  ")

    assert refused.value.field == "title"


def test_a_task_is_done_once_and_may_be_reopened(fixing, manager, responder):
    task = after_actions.add_cleanup_task(fixing, by=manager, title="Alert", owner=responder)

    after_actions.complete_cleanup_task(task, by=responder)
    after_actions.complete_cleanup_task(task, by=responder)
    task.refresh_from_db()
    assert task.done_by == responder
    assert fixing.timeline.filter(text="Done: Alert").count() == 1

    after_actions.complete_cleanup_task(task, by=manager, done=False)
    task.refresh_from_db()
    assert task.done_at is None


def test_a_task_is_overdue_after_its_due_day(fixing, manager):
    task = after_actions.add_cleanup_task(fixing, by=manager, title="Alert", due=date(2030, 1, 2))

    with time_machine.travel("2030-01-02 23:00Z", tick=False):
        assert not task.is_overdue
    with time_machine.travel("2030-01-03 00:01Z", tick=False):
        assert task.is_overdue
        after_actions.complete_cleanup_task(task, by=manager)
        task.refresh_from_db()
        assert not task.is_overdue


def test_my_cleanup_tasks_lists_my_open_tasks_overdue_ones_marked(
    client_for, fixing, manager, responder
):
    after_actions.add_cleanup_task(
        fixing, by=manager, title="Late", owner=responder, due=date(2020, 1, 1)
    )
    after_actions.add_cleanup_task(fixing, by=manager, title="Someone else's", owner=manager)
    done = after_actions.add_cleanup_task(fixing, by=manager, title="Finished", owner=responder)
    after_actions.complete_cleanup_task(done, by=responder)

    body = text_of(client_for(responder).get(reverse("incidents:my_cleanup")))

    assert "Late" in body
    assert "overdue" in body
    assert "Someone else's" not in body
    assert "Recently done" in body


def test_my_cleanup_tasks_hide_restricted_incidents_i_no_longer_see(client_for, manager):
    person = UserFactory(username="tess", group="responder")
    hidden = make_incident(restricted=True)
    CleanupTask.objects.create(incident=hidden, title="Secret", owner=person, created_by=manager)

    assert "Secret" not in text_of(client_for(person).get(reverse("incidents:my_cleanup")))


def test_owning_a_task_on_a_restricted_incident_lets_the_owner_see_it(client_for, manager):
    owner = UserFactory(username="tess", group="responder")
    outsider = UserFactory(username="olga", group="responder")
    secret = actions.claim_incident(make_incident(restricted=True), by=manager)
    after_actions.add_cleanup_task(secret, by=manager, title="Rotate the keys", owner=owner)

    assert "Rotate the keys" in text_of(client_for(owner).get(reverse("incidents:my_cleanup")))
    assert client_for(owner).get(secret.get_absolute_url()).status_code == 200
    assert client_for(outsider).get(secret.get_absolute_url()).status_code == 404


def test_owners_of_tasks_given_before_involvement_are_involved_by_the_migration(manager):
    """Migration 0018, run twice: owners of older tasks see their restricted incident."""
    migration = importlib.import_module("incidents.migrations.0018_involve_cleanup_owners")
    owner = UserFactory(username="tess", group="responder")
    secret = make_incident(restricted=True)
    CleanupTask.objects.create(incident=secret, title="Rotate", owner=owner, created_by=manager)
    assert not Incident.objects.visible_to(owner).filter(pk=secret.pk).exists()

    migration.involve_owners(django_apps, None)
    migration.involve_owners(django_apps, None)

    assert Incident.objects.visible_to(owner).filter(pk=secret.pk).exists()
    assert Involvement.objects.filter(incident=secret, person=owner).count() == 1


def test_the_workspace_lists_tasks_and_adds_one(client_for, fixing, responder):
    client = client_for(responder)

    response = client.post(
        url("cleanup_add", fixing), {"title": "Rotate keys", "owner": responder.pk, "due": ""}
    )

    assert response.status_code == 302
    assert "Rotate keys" in text_of(client.get(fixing.get_absolute_url()))


def test_a_task_with_a_bad_link_is_a_400(client_for, fixing, responder):
    response = client_for(responder).post(
        url("cleanup_add", fixing), {"title": "Rotate", "link": "not a url at all"}
    )

    assert response.status_code == 400
    assert "Enter a valid URL." in text_of(response)
    assert not CleanupTask.objects.exists()


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [("/cleanup/mine/", "/cleanup/mine/"), ("https://evil.example/", None)],
)
def test_ticking_a_task_off_returns_only_to_a_page_of_this_site(
    client_for, fixing, manager, next_url, lands_on
):
    task = after_actions.add_cleanup_task(fixing, by=manager, title="Alert", owner=manager)
    response = client_for(manager).post(url("cleanup_done", fixing, task.pk), {"next": next_url})
    assert response["Location"] == (lands_on or f"{fixing.get_absolute_url()}#cleanup")


def test_only_the_owner_or_an_incident_manager_ticks_a_task_off(
    client_for, fixing, manager, responder
):
    task = after_actions.add_cleanup_task(fixing, by=manager, title="Alert", owner=manager)

    assert client_for(responder).post(url("cleanup_done", fixing, task.pk)).status_code == 403
    assert client_for(manager).post(url("cleanup_done", fixing, task.pk)).status_code == 302
    task.refresh_from_db()
    assert task.done_by == manager


def test_support_may_not_add_tasks(client_for, fixing, support):
    response = client_for(support).post(url("cleanup_add", fixing), {"title": "Mine"})

    assert response.status_code == 403


# Resolution --------------------------------------------------------------------------


def test_resolving_needs_the_impact_end(client_for, fixing, manager):
    response = client_for(manager).post(url("transition", fixing), {"to": "resolved"})

    assert response.status_code == 400
    assert "Say when the impact ended before resolving." in text_of(response)


def test_the_impact_cannot_end_before_it_started(client_for, fixing, manager):
    before = timezone.localtime(fixing.impact_started_at - timedelta(minutes=5))

    response = client_for(manager).post(
        url("transition", fixing),
        {"to": "resolved", "impact_ended_at": before.strftime("%Y-%m-%dT%H:%M:%S")},
    )

    assert response.status_code == 400
    assert "The impact cannot end before it started." in text_of(response)


# The review --------------------------------------------------------------------------


def test_the_review_draft_is_written_from_the_incident(resolved, manager, responder):
    workspace_actions.save_assessment(
        resolved, by=manager, affected=Affected.SOME, customer_experience="Checkout | fails"
    )
    actions.add_timeline_entry(
        resolved,
        kind=EntryKind.CHANGE,
        text="Pool to 200",
        how="helm",
        undo="helm rollback",
        by=responder,
    )
    confirmed = actions.add_timeline_entry(
        resolved, kind=EntryKind.THEORY, text="The pool ran out", by=responder
    ).theory
    workspace_actions.decide_theory(confirmed, state=TheoryState.CONFIRMED, by=manager)
    disproved = actions.add_timeline_entry(
        resolved, kind=EntryKind.THEORY, text="DNS again", by=responder
    ).theory
    workspace_actions.decide_theory(disproved, state=TheoryState.DISPROVED, by=manager)
    after_actions.add_cleanup_task(
        resolved, by=manager, title="Alert on the pool", owner=responder, due=date(2030, 1, 2)
    )

    review = after_actions.start_review(resolved, by=manager)

    body = review.body
    assert body.startswith(f"# Post-incident review: {resolved.key} - Checkout is failing")
    assert "Customers cannot pay." in body
    assert "- Customers affected: some" in body
    assert "What customers experienced: Checkout \\| fails" in body
    assert "- **TTD** (time to detect): 2 h" in body
    assert "- **TTR** (time to recovery): 2 h" in body
    assert "maya claimed the incident." in body
    assert "| rui | Pool to 200 | helm | - | helm rollback | no |" in body
    assert "- The pool ran out (rui)" in body
    assert "DNS again" not in body.split("## Root cause")[1].split("## Cleanup")[0]
    assert "- [ ] Alert on the pool — rui, due 2030-01-02" in body
    assert resolved.timeline.filter(kind=EntryKind.REVIEW).count() == 1


def test_a_review_waits_for_resolution(fixing, manager):
    with pytest.raises(ActionRefused, match="Resolve"):
        after_actions.start_review(fixing, by=manager)


def test_starting_twice_keeps_the_first_draft(resolved, manager):
    first = after_actions.start_review(resolved, by=manager)
    after_actions.save_review(first, by=manager, body="Edited.")

    again = after_actions.start_review(resolved, by=manager)

    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.body == "Edited."


def test_completing_the_review_moves_the_incident_to_reviewed(resolved, manager):
    review = after_actions.start_review(resolved, by=manager)

    after_actions.complete_review(review, by=manager)

    resolved.refresh_from_db()
    assert resolved.status == Status.REVIEWED
    with pytest.raises(ActionRefused):
        after_actions.save_review(review, by=manager, body="Too late.")


def test_an_empty_review_is_refused(resolved, manager):
    review = after_actions.start_review(resolved, by=manager)

    with pytest.raises(ActionRefused) as refused:
        after_actions.save_review(review, by=manager, body="  ")

    assert refused.value.field == "body"


def test_the_review_pages(client_for, resolved, manager):
    client = client_for(manager)

    assert "Generate the review draft" in text_of(client.get(url("review", resolved)))
    assert client.post(url("review_start", resolved)).status_code == 302
    assert client.post(url("review", resolved), {"body": "# Better"}).status_code == 302
    export = client.get(url("review_export", resolved))
    assert export["Content-Type"] == "text/markdown; charset=utf-8"
    assert export["Content-Disposition"] == f'attachment; filename="{resolved.key}-review.md"'
    assert export.content.decode() == "# Better"
    assert client.post(url("review_complete", resolved)).status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == Status.REVIEWED


def test_an_empty_review_body_is_a_400(client_for, resolved, manager):
    client = client_for(manager)
    client.post(url("review_start", resolved))

    response = client.post(url("review", resolved), {"body": ""})

    assert response.status_code == 400
    assert Review.objects.get().body.startswith("# Post-incident review")


def test_a_review_before_resolution_is_refused_on_the_page(client_for, fixing, manager):
    response = client_for(manager).post(url("review_start", fixing))

    assert response.status_code == 400
    assert "Resolve" in text_of(response)


def test_a_responder_reads_but_does_not_write_the_review(client_for, resolved, manager, responder):
    after_actions.start_review(resolved, by=manager)
    client = client_for(responder)

    assert client.get(url("review", resolved)).status_code == 200
    assert client.post(url("review", resolved), {"body": "Mine"}).status_code == 403
    assert client.post(url("review_complete", resolved)).status_code == 403


def test_the_export_is_404_without_a_review(client_for, resolved, manager):
    assert client_for(manager).get(url("review_export", resolved)).status_code == 404


def test_an_outsider_is_refused_the_cleanup_page(client_for, outsider):
    assert client_for(outsider).get(reverse("incidents:my_cleanup")).status_code == 403
