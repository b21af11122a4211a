"""PagerDuty Events API v2 (``POST /v2/enqueue``), answered as PagerDuty answers.

Validation follows PagerDuty's documented rules: ``routing_key`` and ``event_action``
always; a trigger needs ``payload.summary``, ``payload.source`` and ``payload.severity``
(critical, error, warning or info); acknowledge and resolve need the ``dedup_key`` of
the alert they follow up. A trigger without ``dedup_key`` gets a generated one, returned
in the response so the sender can resolve it later. ``payload.timestamp`` is when the
impact started; ``custom_details``, ``links``, ``images``, ``component``, ``group`` and
``class`` are kept for the alert group's page.
See https://developer.pagerduty.com/docs/events-api-v2/trigger-events/

Change events (``POST /v2/change/enqueue``) become changes of the integration's service,
shown near an incident's impact start like the changes CI/CD reports.
See https://developer.pagerduty.com/docs/events-api-v2/send-change-events/
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import (
    ACTIONS,
    MAX_DEDUP_KEY,
    MAX_SUMMARY,
    TRIGGER,
    Event,
    Malformed,
    bounded_context,
    clip,
    real_time,
    text,
    web_url,
)

NAME = "pagerduty"
SEVERITIES = ("critical", "error", "warning", "info")
MAX_PD_SUMMARY = 1024


def routing_key(body: Any) -> str:
    return text(body.get("routing_key")) if isinstance(body, dict) else ""


def parse(body: Any) -> list[Event]:
    if not isinstance(body, dict):
        raise Malformed(["Event must be a JSON object"])
    errors = []
    if not routing_key(body):
        errors.append("'routing_key' is missing or blank")
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
        dedup_key = None
    dedup_key = (dedup_key or "").strip()
    if len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is too long (maximum is {MAX_DEDUP_KEY} characters)")
    if action in ACTIONS and action != TRIGGER and not dedup_key:
        errors.append(f"'dedup_key' is required for event_action '{action}'")
    payload = body.get("payload")
    if action == TRIGGER:
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
            payload = {}
        summary = text(payload.get("summary"))
        if not summary:
            errors.append("'payload.summary' is missing or blank")
        elif len(summary) > MAX_PD_SUMMARY:
            errors.append(f"'payload.summary' is too long (maximum is {MAX_PD_SUMMARY} characters)")
        if not text(payload.get("source")):
            errors.append("'payload.source' is missing or blank")
        if payload.get("severity") not in SEVERITIES:
            errors.append(
                "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
            )
        errors += _time_errors(payload)
        errors += _detail_errors(payload)
    links, images = _references(body, errors)
    if errors:
        raise Malformed(errors)
    if not isinstance(payload, dict):
        payload = {}
    details = payload.get("custom_details")
    return [
        Event(
            action=str(action),
            dedup_key=dedup_key or uuid.uuid4().hex,
            summary=clip(text(payload.get("summary")), MAX_SUMMARY),
            severity=payload.get("severity"),
            source=text(payload.get("source")),
            description=text(payload.get("summary")),
            details=details if isinstance(details, dict) else {},
            started_at=started.isoformat() if (started := _started(payload)) else "",
            context=bounded_context(_context(body, payload, links, images)),
        )
    ]


def _time_errors(payload: dict[str, Any]) -> list[str]:
    if payload.get("timestamp") is None or _started(payload) is not None:
        return []
    return ["'payload.timestamp' is not an ISO 8601 date-time with an offset after 2000"]


def _started(payload: dict[str, Any]) -> datetime | None:
    return real_time(payload.get("timestamp"))


def _detail_errors(payload: dict[str, Any]) -> list[str]:
    errors = []
    for name in ("component", "group", "class"):
        if payload.get(name) is not None and not isinstance(payload.get(name), str):
            errors.append(f"'payload.{name}' must be a string")
    return errors


def _references(body: dict[str, Any], errors: list[str]) -> tuple[list[dict], list[dict]]:
    """``links`` ({href, text}) and ``images`` ({src, href, alt}), checked as PagerDuty
    documents them; the errors are added to ``errors``."""
    found: dict[str, list[dict]] = {}
    for name, required, optional in (
        ("links", "href", ("text",)),
        ("images", "src", ("href", "alt")),
    ):
        items = body.get(name, [])
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and text(item.get(required)) for item in items
        ):
            errors.append(f"'{name}' must be a list of objects, each with a '{required}'")
            items = []
        # Only http(s) links are kept: the page shows them as links.
        found[name] = [
            {
                key: web_url(item.get(key)) if key in ("href", "src") else text(item.get(key))
                for key in (required, *optional)
                if text(item.get(key))
            }
            for item in items
            if web_url(item.get(required))
        ]
    return found["links"], found["images"]


def _context(
    body: dict[str, Any], payload: dict[str, Any], links: list[dict], images: list[dict]
) -> dict[str, Any]:
    details = payload.get("custom_details")
    context: dict[str, Any] = {
        name: text(payload.get(name))
        for name in ("source", "component", "group", "class")
        if text(payload.get(name))
    }
    if details is not None:
        # As the page shows it: any JSON, nested or not, indented.
        context["custom_details"] = json.dumps(details, indent=2, ensure_ascii=False)
    if links:
        context["links"] = links
    if images:
        context["images"] = images
    if text(body.get("client")):
        context["client"] = text(body.get("client"))
    if web_url(body.get("client_url")):
        context["client_url"] = web_url(body.get("client_url"))
    return context


@dataclass(frozen=True)
class ChangeEvent:
    summary: str
    source: str = ""
    happened_at: datetime | None = None
    links: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def parse_change(body: Any) -> ChangeEvent:
    """A change event: ``payload.summary`` required, ``timestamp`` (when the change
    happened; now if not given), ``source``, ``custom_details``, ``links``, ``images``."""
    if not isinstance(body, dict):
        raise Malformed(["Event must be a JSON object"])
    errors = []
    if not routing_key(body):
        errors.append("'routing_key' is missing or blank")
    payload = body.get("payload")
    if not isinstance(payload, dict):
        errors.append("'payload' is missing or not an object")
        payload = {}
    summary = text(payload.get("summary"))
    if not summary:
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > MAX_PD_SUMMARY:
        errors.append(f"'payload.summary' is too long (maximum is {MAX_PD_SUMMARY} characters)")
    if payload.get("source") is not None and not isinstance(payload.get("source"), str):
        errors.append("'payload.source' must be a string")
    errors += _time_errors(payload)
    links, images = _references(body, errors)
    if errors:
        raise Malformed(errors)
    details: dict[str, Any] = {"links": links, "images": images}
    if payload.get("custom_details") is not None:
        details["custom_details"] = json.dumps(
            payload["custom_details"], indent=2, ensure_ascii=False
        )
    return ChangeEvent(
        summary=summary,
        source=text(payload.get("source")),
        happened_at=_started(payload),
        links=links,
        details=bounded_context(details),
    )
