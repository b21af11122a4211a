"""Slack incoming webhooks: Block Kit sections with a plain ``text`` fallback.

Slack reads ``&``, ``<`` and ``>`` as control characters in message text (``<!channel>``
notifies everyone, ``<https://x|label>`` disguises a link), so text that people typed is
escaped before it is posted. Slack's limits: a section's text 3,000 characters, a
header's 150; the fallback is what notifications and old clients show.
"""

from typing import Any

from django.utils.translation import gettext

SECTION_LIMIT = 3000
FALLBACK_LIMIT = 4000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, never ending inside an entity ("&am…" would show)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    # The longest entity, "&amp;", is five characters.
    amp = head.rfind("&", len(head) - 4)
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"


def payload(text: str, *, title: str = "", link: str = "") -> dict[str, Any]:
    body = escape(text)
    heading = f"*{escape(title)}*\n" if title else ""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(heading + body, SECTION_LIMIT)},
        }
    ]
    if link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": gettext("Open in Hotline")},
                        "url": link,
                    }
                ],
            }
        )
    fallback = f"{escape(title)}: {body}" if title else body
    return {"text": _cut(fallback, FALLBACK_LIMIT), "blocks": blocks}
