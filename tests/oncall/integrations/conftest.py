"""Integration fixtures: an integration created through the actions, with its key."""

import json

import pytest
from django.test import Client

from oncall.integrations import actions, setup
from oncall.integrations.actions import receiving
from tests.factories import ProductFactory, ServiceFactory, TeamFactory


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    # The lead calls setup() from OncallConfig.ready(); calling it again is harmless.
    setup()
    # Each test starts with no wake-up known to be queued.
    monkeypatch.setattr(receiving, "_woken_until", 0.0)


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def service(team):
    return ServiceFactory(slug="checkout", name="Checkout", team=team)


@pytest.fixture
def made(service, admin_user):
    """(integration, key)"""
    product = ProductFactory(slug="shop", name="Shop")
    return actions.create_integration(
        by=admin_user, name="Prometheus prod", service=service, affected_products=[product]
    )


@pytest.fixture
def integration(made):
    return made[0]


@pytest.fixture
def key(made):
    return made[1]


@pytest.fixture
def post():
    """POST a JSON body (a dict, or raw text) without login, like a monitoring tool."""
    client = Client()

    def send(url, body, **extra):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return client.post(url, data=data, content_type="application/json", **extra)

    return send


def apply_pending():
    """What the worker does after a wake-up: apply every pending alert."""
    return actions.process_pending()


@pytest.fixture
def deliver(post):
    """POST like a monitoring tool, then let the worker apply it; returns the response."""

    def send(url, body, **extra):
        response = post(url, body, **extra)
        apply_pending()
        return response

    return send
