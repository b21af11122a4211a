"""Chat webhooks: Slack-compatible ``{"text": ...}`` or Microsoft Teams message cards."""

from typing import Any, Literal

from . import webhook

ChatFormat = Literal["slack", "teams"]


def payload(text: str, *, fmt: ChatFormat, title: str = "") -> dict[str, Any]:
    if fmt == "teams":
        card: dict[str, Any] = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title or text[:80],
            "text": text,
        }
        if title:
            card["title"] = title
        return card
    return {"text": f"*{title}*\n{text}" if title else text}


def send(url: str, text: str, *, fmt: ChatFormat, idempotency_key: str, title: str = "") -> str:
    return webhook.send(url, payload(text, fmt=fmt, title=title), idempotency_key=idempotency_key)
