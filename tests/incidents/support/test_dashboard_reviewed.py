"""The support dashboard's "resolved in the last day" keeps incidents once reviewed."""

import pytest
from django.utils import timezone

from incidents import actions
from incidents.after import actions as after_actions
from incidents.models import Status
from incidents.support import dashboard
from incidents.support import tasks as support_tasks
from tests.factories import make_incident

# The markers compared fall in one minute (``one_minute``).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_minute")]


@pytest.fixture(autouse=True)
def warm_ups_not_queued(monkeypatch):
    """No broker message for a warm-up nobody runs here."""
    monkeypatch.setattr(support_tasks.warm_support_boards, "delay", lambda: None)


def resolve_and_review(incident, manager):
    actions.claim_incident(incident, by=manager)
    actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    review = after_actions.start_review(incident, by=manager)
    after_actions.complete_review(review, by=manager)
    incident.refresh_from_db()
    return incident


def test_an_incident_reviewed_within_the_day_stays_in_resolved(client_for, support, manager):
    incident = resolve_and_review(make_incident(by=support, summary="Logins fail"), manager)
    assert incident.status == Status.REVIEWED

    assert [row.key for row in dashboard.board(support).resolved] == [incident.key]
    page = client_for(support).get("/support/")
    assert f'id="resolved-{incident.key}"' in page.content.decode()


def test_an_incident_reviewed_but_resolved_over_a_day_ago_is_not_listed(
    support, manager, time_machine
):
    resolve_and_review(make_incident(by=support), manager)

    time_machine.move_to(timezone.now() + dashboard.RECENTLY_RESOLVED * 2)

    assert dashboard.board(support).resolved == []


def test_a_restricted_reviewed_incident_is_shared_only_with_those_who_see_it(
    support, manager, security
):
    secret = resolve_and_review(make_incident(by=manager, restricted=True), manager)

    marker = dashboard.change_marker()
    assert dashboard.visibility(support, marker=marker) == ()
    assert dashboard.visibility(manager, marker=marker) == (secret.pk,)
    assert dashboard.visibility(security, marker=marker) is None
