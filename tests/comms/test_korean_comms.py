"""The communication pages and the HANDBOOK templates in the author's language: a Korean
incident manager's new draft (and customer follow-up preview) is prefilled in Korean, an
English one's in English; the draft, status and maintenance pages read in Korean whatever
state they are in (user data aside); review requests, reminders and chat lines are
written in their reader's language."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from comms import actions
from comms.models import (
    Audience,
    ChatMessage,
    ChatWebhook,
    Communication,
    Kind,
    OutboundEmail,
    State,
)
from incidents import actions as incident_actions
from incidents.actions.people import set_preferences
from incidents.models import Role, Status
from incidents.support import actions as support_actions
from tests.comms.conftest import complete_follow_up
from tests.factories import ServiceFactory, make_incident
from tests.test_korean import _english_left, _Text, _user_data

pytestmark = pytest.mark.django_db

# The incident of tests/comms/conftest.py affects Confluence and Jira.
TEMPLATES = [
    pytest.param(
        Audience.INTERNAL,
        Kind.INITIAL,
        "summary",
        "현재 Confluence 및 Jira에 영향을 미치는 인시던트를 조사하고 있습니다. "
        "이메일과 상태 페이지를 통해 곧 업데이트를 제공할 예정입니다.",
        "We are investigating an incident affecting Confluence and Jira. "
        "We will provide updates via email and the status page shortly.",
        id="internal-initial",
    ),
    pytest.param(
        Audience.EXTERNAL,
        Kind.INITIAL,
        "summary",
        "현재 Confluence 및 Jira 관련 이슈를 조사하고 있으며, "
        "여기에서 곧 업데이트를 제공할 예정입니다.",
        "We are investigating an issue with Confluence and Jira and will provide an update "
        "here shortly.",
        id="external-initial",
    ),
    pytest.param(
        Audience.INTERNAL,
        Kind.FOLLOW_UP,
        "next_update",
        "이메일과 내부 상태 페이지를 통해 알려 드립니다.",
        "By e-mail and on the internal status page.",
        id="internal-follow-up",
    ),
    pytest.param(
        Audience.EXTERNAL,
        Kind.FOLLOW_UP,
        "summary",
        "Confluence 및 Jira 관련 이슈의 원인을 파악했으며 수정 작업을 진행하고 있습니다.",
        "We have identified the issue with Confluence and Jira and are working on a fix.",
        id="external-follow-up",
    ),
    pytest.param(
        Audience.INTERNAL,
        Kind.FINAL,
        "customer_impact",
        "Confluence 및 Jira에 대한 영향은 알 수 없음 동안 지속되었습니다. "
        "고객이 {key} 레이블이 지정된 지원 사례를 1건 제출했습니다.",
        "The impact on Confluence and Jira lasted unknown. "
        "Customers filed 1 support case labelled {key}.",
        id="internal-final",
    ),
    pytest.param(
        Audience.EXTERNAL,
        Kind.FINAL,
        "summary",
        "Confluence 및 Jira 관련 이슈가 해결되어 서비스가 복구되었습니다. "
        "사후 검토를 통한 후속 조치가 이어질 예정입니다.",
        "The issue with Confluence and Jira has been resolved and service is restored. "
        "A post-incident review will follow.",
        id="external-final",
    ),
]


def _label_a_case(incident, support):
    support_actions.upsert_case(
        reference="SD-1", customer_name="Ana", contact_email="ana@customer.example"
    )
    support_actions.label_cases(key=incident.key, references="SD-1", by=support)


def _draft_as(client, incident, audience, kind) -> Communication:
    response = client.post(
        f"/comms/incidents/{incident.key}/draft/", {"audience": audience, "kind": kind}
    )
    assert response.status_code == 302
    return Communication.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize(("audience", "kind", "field", "korean", "english"), TEMPLATES)
def test_a_new_draft_is_prefilled_in_its_authors_language(
    client_for, incident, manager, support, language, audience, kind, field, korean, english
):
    _label_a_case(incident, support)
    # The person's own setting, against a browser that asks for the other language.
    set_preferences(manager, language=language, time_zone="")
    browser = "en" if language == "ko" else "ko"
    draft = _draft_as(client_for(manager, HTTP_ACCEPT_LANGUAGE=browser), incident, audience, kind)

    expected = korean if language == "ko" else english
    assert getattr(draft, field) == expected.format(key=incident.key)


@pytest.mark.parametrize(
    ("language", "greeting", "signature"),
    [
        ("ko", "Ana 님, 안녕하세요.", "지원팀 드림"),
        ("en", "Hello Ana,", "The support team"),
    ],
)
def test_the_customer_follow_up_is_previewed_in_its_authors_language(
    client_for, incident, manager, support, language, greeting, signature
):
    _label_a_case(incident, support)
    incident_actions.claim_incident(incident, by=manager)
    set_preferences(manager, language=language, time_zone="")

    sample = client_for(manager).get(f"/support/follow-up/{incident.key}/").context["sample"]

    assert sample.text.startswith(greeting)
    assert signature in sample.text


def test_text_typed_into_a_draft_stays_as_typed(api_for, incident, manager):
    set_preferences(manager, language="ko", time_zone="")
    response = api_for(manager).post(
        f"/api/comms/incidents/{incident.key}/communications/",
        {"audience": "internal", "kind": "follow_up", "summary": "EU checkout is down."},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ko",
    )

    assert response.status_code == 201
    assert response.data["summary"] == "EU checkout is down."
    # The API keeps machine values; only the prefilled human text is Korean.
    assert response.data["kind"] == "follow_up"
    assert response.data["next_update"] == "이메일과 내부 상태 페이지를 통해 알려 드립니다."


def _english_on(client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    parser = _Text()
    parser.feed(response.content.decode())
    return _english_left(parser.chunks, _user_data())


@pytest.mark.parametrize(("audience", "kind"), [(a, k) for a in Audience for k in Kind])
def test_each_draft_page_reads_in_korean(client_for, incident, manager, audience, kind):
    set_preferences(manager, language="ko", time_zone="")
    draft = actions.draft_communication(incident, audience=audience, kind=kind, by=manager)

    assert _english_on(client_for(manager), f"/comms/communications/{draft.pk}/") == []


def test_a_draft_with_refusals_and_warnings_reads_in_korean(
    client_for, incident, manager, other_manager
):
    set_preferences(manager, language="ko", time_zone="")
    client = client_for(manager)
    follow_up = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.FOLLOW_UP, by=manager
    )
    # Publishing with the checklist unmet: the refusal names the missing item.
    refused = client.post(
        f"/comms/communications/{follow_up.pk}/",
        {"summary": "Checkout fails.", "page_status": "identified", "publish": "1"},
    )
    assert refused.status_code == 400
    assert "항목이 빠져 있습니다" in refused.content.decode()
    parser = _Text()
    parser.feed(refused.content.decode())
    assert _english_left(parser.chunks, _user_data()) == []
    external = actions.draft_communication(
        incident,
        audience=Audience.EXTERNAL,
        kind=Kind.INITIAL,
        by=manager,
        summary="Checkout fails. Payments fail. Logins fail.",
    )
    actions.request_review(external, reviewer=other_manager, by=manager)
    page = client.get(f"/comms/communications/{external.pk}/").content.decode()
    assert "외부 업데이트는 한두 문장이어야 합니다" in page
    assert _english_on(client, f"/comms/communications/{external.pk}/") == []


def test_a_published_update_and_the_internal_page_read_in_korean(
    client_for, incident, manager, other_manager
):
    set_preferences(manager, language="ko", time_zone="")
    follow_up = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        # Bullets without their dashes, so the page shows each line as stored.
        **complete_follow_up(
            current_status="Payments API errors at 30%\nRollback of 4.2 started",
            next_steps="Finish the rollback\nWatch error rates for 15 minutes",
        ),
    )
    actions.request_review(follow_up, reviewer=other_manager, by=manager)
    published = actions.publish_communication(follow_up, by=other_manager)
    assert published.state == State.PUBLISHED
    client = client_for(manager)

    page = client.get(f"/comms/communications/{published.pk}/").content.decode()
    assert f"{other_manager.username} 님이 검토했습니다" in page
    assert _english_on(client, f"/comms/communications/{published.pk}/") == []
    assert _english_on(client, "/comms/status/") == []
    # The incident page's communications panel (its timeline is checked elsewhere).
    incident_page = client.get(incident.get_absolute_url()).content.decode()
    panel = re.search(r'<section class="card comms-panel".*?</section>', incident_page, re.S)
    parser = _Text()
    parser.feed(panel.group(0))
    assert _english_left(parser.chunks, _user_data()) == []


# Messages composed by the communication actions, in their reader's language -----------


@pytest.mark.parametrize(
    ("language", "subject", "asks"),
    [
        ("ko", "검토 요청: ", "검토해 달라고 요청했습니다"),
        ("en", "Review requested: ", "asks you to review the internal initial of"),
    ],
)
def test_a_reviewer_is_asked_in_their_own_language(
    incident, manager, other_manager, language, subject, asks
):
    set_preferences(other_manager, language=language, time_zone="")
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager
    )
    OutboundEmail.objects.all().delete()

    actions.request_review(draft, reviewer=other_manager, by=manager)

    mail = OutboundEmail.objects.get(to=other_manager.email)
    assert mail.subject.startswith(subject)
    assert asks in mail.text
    assert draft.summary in mail.text


def _chat_texts(products, manager, responder, language):
    service = ServiceFactory()
    ChatWebhook.objects.create(team=service.team, url="http://127.0.0.1:9/hook", language=language)
    incident = make_incident(
        by=manager, faulty_service=service, products=products, summary="EU down"
    )
    incident_actions.claim_incident(incident, by=manager)
    incident_actions.change_severity(incident, severity=1, by=manager)
    lead = incident_actions.assign_role(incident, person=responder, role=Role.TECH_LEAD, by=manager)
    lead = incident_actions.hand_over_role(lead, to=manager, by=manager)
    incident_actions.release_role(lead, by=manager)
    draft = actions.draft_communication(
        incident, audience=Audience.INTERNAL, kind=Kind.INITIAL, by=manager, summary="EU down."
    )
    actions.publish_communication(draft, by=manager)
    incident_actions.transition_incident(
        incident, to=Status.RESOLVED, by=manager, impact_ended_at=timezone.now()
    )
    texts = list(ChatMessage.objects.order_by("id").values_list("text", flat=True))
    return incident, texts


def test_chat_lines_read_in_the_rooms_language(products, manager, responder):
    incident, texts = _chat_texts(products, manager, responder, "ko")

    # One line per change: created, claimed (and so fixing), severity, three role
    # changes, published, resolved.
    assert len(texts) == 9
    assert texts[0].startswith(f"@{manager.username} 님이 {incident.key} 인시던트를 생성했습니다")
    # Every line but the published update's carries the topic.
    assert sum("\n주제: " in text for text in texts) == 8
    user_data = [*_user_data(), "manager", "responder"]
    left = [run for text in texts for run in _english_left(text.split("\n")[:1], user_data)]
    assert left == []


def test_chat_lines_in_english_are_the_sentences_they_always_were(products, manager, responder):
    incident, texts = _chat_texts(products, manager, responder, "en")
    key, who = incident.key, manager.username

    lines = [text.split("\n")[0] for text in texts]
    assert lines == [
        f"{key} created by @{who}: SEV 2 EU down",
        f"{key} claimed by @{who}.",
        f"{key} is fixing by @{who}.",
        f"{key} severity 2 → 1 by @{who}.",
        f"{key}: Tech lead @{responder.username} assigned by @{who}.",
        f"{key}: Tech lead @{who} handed over by @{who}.",
        f"{key}: Tech lead @{who} released by @{who}.",
        f"{key}: internal initial published. EU down.",
        f"{key} is resolved by @{who}.",
    ]
    assert sum("\nTopic: " in text for text in texts) == 8


def test_a_korean_incident_manager_is_reminded_in_korean(incident, manager, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    set_preferences(manager, language="ko", time_zone="Asia/Seoul")
    incident_actions.claim_incident(incident, by=manager)
    follow_up = actions.draft_communication(
        incident,
        audience=Audience.INTERNAL,
        kind=Kind.FOLLOW_UP,
        by=manager,
        **complete_follow_up(next_update_at=timezone.now() + timedelta(minutes=5)),
    )
    actions.publish_communication(follow_up, by=manager)
    OutboundEmail.objects.all().delete()

    assert actions.send_due_reminders() == 1

    [reminder] = OutboundEmail.objects.all()
    assert reminder.subject == f"업데이트 기한: {follow_up.subject}"
    assert reminder.text.startswith(f"{incident.key}의 다음 업데이트 기한은 ")
    assert "여기에서 초안을 작성하세요: " in reminder.text


def test_the_maintenance_pages_read_in_korean(client_for, products, manager):
    from comms.maintenance import actions as maintenance_actions

    set_preferences(manager, language="ko", time_zone="")
    soon = timezone.now() + timedelta(hours=1)
    planned = maintenance_actions.plan_maintenance(
        title="Database upgrade",
        message="Jira is read-only for ten minutes.",
        products=products,
        starts_at=soon,
        ends_at=soon + timedelta(hours=1),
        by=manager,
    )
    client = client_for(manager)

    detail = f"/comms/maintenances/{planned.pk}/"
    for path in ("/comms/maintenances/", "/comms/maintenances/new/", detail):
        assert _english_on(client, path) == [], path
    refused = client.post(detail, {"title": ""})
    assert refused.status_code == 400
    parser = _Text()
    parser.feed(refused.content.decode())
    assert _english_left(parser.chunks, _user_data()) == []
