"""PagerDuty Events API v2 (``POST /v2/enqueue``), answered as PagerDuty answers.

Validation follows PagerDuty's documented rules: ``routing_key`` and ``event_action``
always; a trigger needs ``payload.summary``, ``payload.source`` and ``payload.severity``
(critical, error, warning or info); acknowledge and resolve need the ``dedup_key`` of
the alert they follow up. A trigger without ``dedup_key`` gets a generated one, returned
in the response so the sender can resolve it later.
See https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
"""

from __future__ import annotations

import uuid
from typing import Any

from . import ACTIONS, MAX_DEDUP_KEY, MAX_SUMMARY, TRIGGER, Event, Malformed, clip, text

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
        )
    ]
