"""Parsers for the formats monitoring tools already speak. Each turns a decoded JSON body
into ``Event``s or raises ``Malformed`` with every reason found, so the sender learns
all that is wrong at once."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TRIGGER = "trigger"
ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
ACTIONS = (TRIGGER, ACKNOWLEDGE, RESOLVE)

# Longer keys would not fit the group's column; PagerDuty allows 255 too.
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 200


@dataclass(frozen=True)
class Event:
    action: str
    dedup_key: str
    summary: str = ""
    # A label such as "critical", or a number 1-3 (generic format); mapped per integration.
    severity: str | int | None = None
    source: str = ""
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    # When the tool says the problem started (Alertmanager's earliest ``startsAt``,
    # PagerDuty's ``payload.timestamp``) and, on a resolve, ended (the latest
    # ``endsAt``): ISO 8601, or blank when the tool did not say. Arrival is later by
    # the tool's grouping and retry delays, so these are the impact's times.
    started_at: str = ""
    ended_at: str = ""
    # What responders read on the alert group: labels, annotations, links, details.
    context: dict[str, Any] = field(default_factory=dict)


class Malformed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def fitted_key(value: str) -> str:
    """A dedup key that fits the column and still tells long keys apart: past the limit,
    its start and a digest of the whole. Alertmanager's group keys grow with every label
    grouped by, and two groups differing only after the limit must stay two groups."""
    if len(value) <= MAX_DEDUP_KEY:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"{value[: MAX_DEDUP_KEY - len(digest) - 1]}~{digest}"


# Times before this are placeholders (Alertmanager's "0001-01-01T00:00:00Z" for "not
# ended") or typos, never an impact.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# The context kept per group: bounded like the payload, so a group of a thousand
# alerts cannot store megabytes on every delivery.
MAX_CONTEXT_ALERTS = 50
MAX_CONTEXT_CHARS = 16 * 1024
REDACTED = "[redacted]"


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 / RFC 3339 time with an offset, or None when it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def real_time(value: Any) -> datetime | None:
    """A timestamp that can be an impact time: not a zero-value placeholder."""
    parsed = timestamp(value)
    return parsed if parsed is not None and parsed >= EARLIEST else None


def bounded_context(context: dict[str, Any]) -> dict[str, Any]:
    """The context as stored: alerts beyond MAX_CONTEXT_ALERTS dropped (and counted),
    then the whole replaced by a note if it is still too large to show."""
    alerts = context.get("alerts")
    if isinstance(alerts, list) and len(alerts) > MAX_CONTEXT_ALERTS:
        context = {
            **context,
            "alerts": alerts[:MAX_CONTEXT_ALERTS],
            "more_alerts": len(alerts) - MAX_CONTEXT_ALERTS,
        }
    if len(json.dumps(context, default=str)) > MAX_CONTEXT_CHARS:
        return {"too_large": True}
    return context


def web_url(value: Any) -> str:
    """A link a page may show: http(s) only (a ``javascript:`` URL from a sender is no
    link), within a URL's usual length."""
    url = text(value)
    return url if url.lower().startswith(("https://", "http://")) and len(url) <= 2000 else ""


def redact(raw: bytes | str, secret: str) -> str:
    """The body as stored and shown: the integration key, wherever the sender put it
    (PagerDuty's ``routing_key``), replaced. The key is shown once, at creation."""
    body = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return body.replace(secret, REDACTED) if secret else body
