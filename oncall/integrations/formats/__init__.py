"""Parsers for the formats monitoring tools already speak. Each turns a decoded JSON body
into ``Event``s or raises ``Malformed`` with every reason found, so the sender learns
all that is wrong at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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
