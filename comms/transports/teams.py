"""Microsoft Teams: Adaptive Cards for Workflows webhooks, MessageCards for connectors.

Office 365 connectors (MessageCard) are being retired; a Teams channel now takes posts
through a Workflows ("Post to a channel when a webhook request is received") URL, whose
body is a message with one Adaptive Card attachment. Version 1.4 is the newest that
every Teams client (desktop, web and mobile) renders.
"""

from typing import Any

from django.utils.translation import gettext

CARD_VERSION = "1.4"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def adaptive_card(text: str, *, title: str = "", link: str = "") -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if title:
        body.append(
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True}
        )
    body.append({"type": "TextBlock", "text": text, "wrap": True})
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": gettext("Open in Hotline"), "url": link}
        ]
    return card


def workflows_payload(text: str, *, title: str = "", link: str = "") -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": adaptive_card(text, title=title, link=link),
            }
        ],
    }


def message_card(text: str, *, title: str = "", link: str = "") -> dict[str, Any]:
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title or text[:80],
        "text": text,
    }
    if title:
        card["title"] = title
    if link:
        card["potentialAction"] = [
            {
                "@type": "OpenUri",
                "name": gettext("Open in Hotline"),
                "targets": [{"os": "default", "uri": link}],
            }
        ]
    return card
