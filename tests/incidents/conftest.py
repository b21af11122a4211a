"""Fixtures of the incident workspace tests."""

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
