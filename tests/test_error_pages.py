"""The 403, 404 and 500 pages: styled, with the reason and (403, 404) the navigation,
the same with DEBUG on and off; and links only where the person may follow them."""

import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver

from config import error_pages
from tests.factories import make_incident

pytestmark = pytest.mark.django_db

# What only Django's debug pages say.
DEBUG_PAGE = "<code>DEBUG = True</code>"


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def assert_styled_page_with_navigation(response, status):
    body = response.content.decode()
    assert response.status_code == status
    assert DEBUG_PAGE not in body
    assert "css/app.css" in body  # extends base.html
    assert 'class="topnav"' in body
    assert 'href="/incidents/"' in body  # a link of the navigation
    return body


@pytest.mark.usefixtures("debug")
def test_a_refusal_shows_its_reason_and_the_navigation(client_for, support):
    incident = make_incident(by=support)

    response = client_for(support).get(f"/incidents/{incident.key}/edit/")

    body = assert_styled_page_with_navigation(response, 403)
    assert "You may not edit this incident." in body
    assert "403" in body


@pytest.mark.usefixtures("debug")
def test_an_unknown_incident_is_a_styled_404_with_its_reason(client_for, support):
    response = client_for(support).get("/incidents/HOT-999/")

    body = assert_styled_page_with_navigation(response, 404)
    assert "No incident HOT-999." in body


@pytest.mark.usefixtures("debug")
def test_an_unknown_address_is_a_styled_404_naming_it(client_for, support):
    response = client_for(support).get("/no/such/page/")

    body = assert_styled_page_with_navigation(response, 404)
    assert "/no/such/page/" in body
    assert "tried these URL patterns" not in body


@pytest.mark.usefixtures("debug")
def test_a_missing_slash_is_still_added_before_any_404(client_for, support):
    response = client_for(support).get("/support/metrics")

    assert response.status_code == 301
    assert response["Location"] == "/support/metrics/"


@pytest.mark.usefixtures("debug")
def test_unknown_api_addresses_answer_json(api_for, support):
    missing = api_for(support).get("/api/no-such-endpoint/")

    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}


def test_the_server_error_page_is_styled_and_reads_nothing():
    assert get_resolver().resolve_error_handler(500) is error_pages.server_error

    with CaptureQueriesContext(connection) as queries:
        response = error_pages.server_error(RequestFactory().get("/incidents/"))

    body = response.content.decode()
    assert response.status_code == 500
    assert "css/app.css" in body
    assert "Something went wrong on our side" in body
    assert 'class="topnav"' not in body
    assert len(queries) == 0


# Links only where the person may follow them ---------------------------------------------


def missing_links(response):
    """The hrefs of the metrics page's "missing times" rows."""
    section = re.search(r'<section class="card" id="missing">.*?</section>', response, re.S)
    return re.findall(r'<a class="key" href="([^"]+)"', section.group(0))


@pytest.mark.parametrize("person", ["support", "responder"])
def test_metrics_link_people_who_may_not_edit_to_the_incident_page(request, client_for, person):
    viewer = request.getfixturevalue(person)
    incident = make_incident(by=viewer if person == "support" else None)
    client = client_for(viewer)

    page = client.get("/support/metrics/")

    assert page.status_code == 200
    links = missing_links(page.content.decode())
    assert links == [f"/incidents/{incident.key}/"]
    assert all(client.get(link).status_code == 200 for link in links)


def test_metrics_link_incident_managers_to_the_edit_page(client_for, manager):
    incident = make_incident()
    client = client_for(manager)

    links = missing_links(client.get("/support/metrics/").content.decode())

    assert links == [f"/incidents/{incident.key}/edit/"]
    assert all(client.get(link).status_code == 200 for link in links)
