"""Fixtures for communications: an incident with products, a default list, receivers."""

import pytest

from comms.models import DistributionList
from tests.factories import ProductFactory, make_incident


@pytest.fixture
def products(db):
    return [
        ProductFactory(name="Jira", slug="jira"),
        ProductFactory(name="Confluence", slug="confluence"),
    ]


@pytest.fixture
def incident(products, support):
    return make_incident(
        by=support, summary="Checkout is failing for EU tenants", severity=2, products=products
    )


@pytest.fixture
def staff_list(db):
    return DistributionList.objects.create(
        name="Incident communications",
        addresses="leaders@example.com\nmajor-ims@example.com",
        is_default=True,
    )


def count_queries(call):
    """Queries a call makes, counted at the connection (requests reset Django's log)."""
    from django.db import connection

    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    return len(seen)


def complete_follow_up(**overrides):
    """Every §8 item of an internal follow-up, filled in."""
    from datetime import timedelta

    from django.utils import timezone

    fields = {
        "summary": "Checkout fails for a third of EU tenants since 10:05.",
        "current_status": "- Payments API errors at 30%\n- Rollback of 4.2 started",
        "next_steps": "- Finish the rollback\n- Watch error rates for 15 minutes",
        "customer_impact": "EU customers cannot pay.",
        "internal_customers_affected": "unknown",
        "external_customers_affected": "about 1,200",
        "root_cause": "unknown",
        "eta": "unknown",
        "next_update": "By e-mail and on the internal status page",
        "next_update_at": timezone.now() + timedelta(minutes=30),
    }
    fields.update(overrides)
    return fields
