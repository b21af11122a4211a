"""Maintenances planned through the action, at times relative to a frozen clock."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from comms.maintenance import actions
from comms.models import Subscriber

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The clock stands at NOW; ``clock.move_to(...)`` moves it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def plan(by, products, *, starts_in=60, lasts=120, **fields):
    """A maintenance starting ``starts_in`` minutes from the clock's now."""
    from django.utils import timezone

    starts = timezone.now() + timedelta(minutes=starts_in)
    values = {
        "title": "Database upgrade",
        "message": "Jira is read-only for up to two hours.",
        "products": products,
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=lasts),
    }
    values.update(fields)
    return actions.plan_maintenance(by=by, **values)


def subscriber(email, *products):
    from django.utils import timezone

    person = Subscriber.objects.create(email=email, confirmed_at=timezone.now())
    person.products.set(products)
    return person
