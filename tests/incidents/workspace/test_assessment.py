"""The structured assessment (HANDBOOK §4): revisions, timeline, severity guidance."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import actions
from incidents.actions import ActionRefused
from incidents.models import EntryKind, Severity
from incidents.workspace import actions as workspace_actions
from incidents.workspace.models import Affected, Assessment
from tests.factories import make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixing(manager):
    return actions.claim_incident(make_incident(severity=3), by=manager)


def page(incident):
    return reverse("incidents:assessment", args=[incident.key])


@pytest.mark.parametrize(
    ("answers", "severity"),
    [
        ({}, None),
        ({"affected": Affected.NONE}, Severity.MINOR),
        ({"customer_experience": "Slow pages."}, Severity.MINOR),
        ({"affected": Affected.SOME}, Severity.MAJOR),
        ({"affected": Affected.NUMBER, "affected_count": 12}, Severity.MAJOR),
        ({"affected": Affected.ALL}, Severity.CRITICAL),
        ({"affected": Affected.NONE, "data_loss": True}, Severity.CRITICAL),
        ({"affected": Affected.SOME, "security": True}, Severity.CRITICAL),
    ],
)
def test_the_matrix_row_follows_the_answers(answers, severity):
    assert Assessment(**answers).suggested_severity == severity


def test_saving_an_assessment_adds_it_to_the_timeline(fixing, manager):
    started = timezone.now() - timedelta(minutes=30)

    assessment = workspace_actions.save_assessment(
        fixing,
        by=manager,
        affected=Affected.SOME,
        customer_experience="Card payments fail at checkout.",
        started_at=started,
        support_cases=4,
        social_media=True,
    )

    assert assessment.revision == 1
    entry = fixing.timeline.get(kind=EntryKind.ASSESSMENT)
    assert entry.author == manager
    assert entry.data.items() >= {"revision": 1, "suggested_severity": 2}.items()
    assert "Customers affected: some." in entry.text
    assert "What customers experience: Card payments fail at checkout." in entry.text
    assert "Support cases opened: 4." in entry.text
    assert "Other factors: talked about on social media." in entry.text
    assert "suggests severity 2" in entry.text


def test_a_revision_keeps_the_one_before(fixing, manager, other_manager):
    first = workspace_actions.save_assessment(fixing, by=manager, affected=Affected.SOME)
    second = workspace_actions.save_assessment(
        fixing, by=other_manager, affected=Affected.NUMBER, affected_count=1200
    )

    first.refresh_from_db()
    assert (first.revision, first.affected, first.author) == (1, Affected.SOME, manager)
    assert (second.revision, second.affected_count) == (2, 1200)
    assert list(fixing.assessments.values_list("revision", flat=True)) == [2, 1]
    assert fixing.timeline.filter(kind=EntryKind.ASSESSMENT).count() == 2


def test_a_number_of_customers_needs_the_number(fixing, manager):
    with pytest.raises(ActionRefused) as refused:
        workspace_actions.save_assessment(fixing, by=manager, affected=Affected.NUMBER)

    assert refused.value.field == "affected_count"
    assert not fixing.assessments.exists()


def test_a_count_without_the_number_choice_is_dropped(fixing, manager):
    assessment = workspace_actions.save_assessment(
        fixing, by=manager, affected=Affected.ALL, affected_count=5
    )

    assert assessment.affected_count is None


def test_a_start_in_the_future_is_refused(fixing, manager):
    with pytest.raises(ActionRefused) as refused:
        workspace_actions.save_assessment(
            fixing, by=manager, started_at=timezone.now() + timedelta(hours=1)
        )

    assert refused.value.field == "started_at"


def test_the_page_highlights_the_matching_row(client_for, fixing, manager):
    workspace_actions.save_assessment(fixing, by=manager, affected=Affected.ALL)

    body = client_for(manager).get(page(fixing)).content.decode()

    assert '<tr class="matrix-1 is-match" aria-current="true">' in body
    assert "announces the new severity by number" in body


def test_the_form_starts_from_the_last_revision(client_for, fixing, manager):
    workspace_actions.save_assessment(
        fixing, by=manager, customer_experience="Timeouts on checkout."
    )

    body = client_for(manager).get(page(fixing)).content.decode()

    assert ">\nTimeouts on checkout.</textarea>" in body
    assert "as revision 2; revision 1 is kept" in body


def test_a_manager_saves_an_assessment_from_the_page(client_for, fixing, manager):
    response = client_for(manager).post(
        page(fixing), {"affected": "some", "customer_experience": "Errors."}
    )

    assert response.status_code == 302
    assert fixing.assessments.get().customer_experience == "Errors."


def test_a_number_without_the_number_is_a_400_naming_the_field(client_for, fixing, manager):
    response = client_for(manager).post(page(fixing), {"affected": "number"})

    assert response.status_code == 400
    assert "Say how many customers are affected." in html.unescape(response.content.decode())
    assert not fixing.assessments.exists()


def test_a_responder_reads_the_assessment_but_may_not_save_one(client_for, fixing, responder):
    client = client_for(responder)

    assert client.get(page(fixing)).status_code == 200
    assert client.post(page(fixing), {"affected": "all"}).status_code == 403
    assert not fixing.assessments.exists()


def test_an_outsider_is_refused_the_assessment(client_for, fixing, outsider):
    assert client_for(outsider).get(page(fixing)).status_code == 403


def test_the_workspace_shows_the_assessment_and_a_differing_severity(client_for, fixing, manager):
    workspace_actions.save_assessment(fixing, by=manager, affected=Affected.SOME)

    body = client_for(manager).get(fixing.get_absolute_url()).content.decode()

    assert 'id="assessment-summary"' in body
    assert "differs from SEV 3" in body
