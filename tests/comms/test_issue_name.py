"""What customers call an incident: one wording, whether stored at publishing
(``external_name``) or said again on the public page in the visitor's language
(``public_name``)."""

import pytest
from django.utils import translation

from comms.content import external_name, issue_name
from comms.models import Audience, StatusPageIncident
from comms.public_names import public_name
from tests.factories import make_incident

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "names", "expected"),
    [
        ("en", [], "Issue with our service"),
        ("en", ["Jira"], "Issue with Jira"),
        ("en", ["Confluence", "Jira", "Bitbucket"], "Issue with Confluence, Jira and Bitbucket"),
        ("ko", [], "당사 서비스 관련 이슈"),
        ("ko", ["Confluence", "Jira"], "Confluence 및 Jira 관련 이슈"),
    ],
)
def test_the_name_lists_the_products_in_the_readers_language(language, names, expected):
    with translation.override(language):
        assert issue_name(names) == expected


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("with_products", [True, False])
def test_the_stored_and_the_public_name_are_the_same(products, support, language, with_products):
    incident = make_incident(by=support, products=products if with_products else [])
    page = StatusPageIncident.objects.create(
        incident=incident, audience=Audience.EXTERNAL, name="stored"
    )
    page.products.set(incident.affected_products.all())
    with translation.override(language):
        assert public_name(page) == external_name(incident)
        assert public_name(page) == issue_name(p.name for p in incident.affected_products.all())
