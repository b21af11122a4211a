"""Fixtures of the incident workspace tests."""

from collections import defaultdict

import pytest

from incidents import events


@pytest.fixture
def published():
    """Every incident event published while the test runs, in order."""
    seen: list[events.IncidentEvent] = []

    def record(event: events.IncidentEvent) -> None:
        seen.append(event)

    for name in events.NAMES:
        events.subscribe(name, record)
    yield seen
    for name in events.NAMES:
        events.unsubscribe(name, record)


@pytest.fixture(autouse=True)
def _no_paging(monkeypatch):
    """These tests count the incident's own timeline entries; paging (which adds page
    entries to the timeline for severity 1-2) is tested in tests/oncall."""
    kept = {
        name: [handler for handler in handlers if not handler.__module__.startswith("oncall")]
        for name, handlers in events._handlers.items()
    }
    monkeypatch.setattr(events, "_handlers", defaultdict(list, kept))
