"""Chat webhooks in the format of the destination: Slack Block Kit, a Teams Workflows
Adaptive Card, or a Teams connector's MessageCard (``comms.models.ChatFormat``)."""

from typing import Any, Literal

from . import slack, teams, webhook

ChatFormat = Literal["slack", "teams", "teams_workflows"]


def payload(text: str, *, fmt: ChatFormat, title: str = "", link: str = "") -> dict[str, Any]:
    if fmt == "teams_workflows":
        return teams.workflows_payload(text, title=title, link=link)
    if fmt == "teams":
        return teams.message_card(text, title=title, link=link)
    return slack.payload(text, title=title, link=link)


def send(
    url: str,
    text: str,
    *,
    fmt: ChatFormat,
    idempotency_key: str,
    title: str = "",
    link: str = "",
) -> str:
    return webhook.send(
        url, payload(text, fmt=fmt, title=title, link=link), idempotency_key=idempotency_key
    )
