"""A page whose incident you may not see answers exactly like a page that does not
exist: trying ids one by one must not reveal restricted incident keys."""

import pytest

from oncall import actions, delivery
from oncall.models import Page
from tests.factories import UserFactory, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def hidden_page(manager):
    secret = make_incident(by=manager, summary="Leaked tokens", restricted=True)
    page = actions.page_manually(
        secret, by=manager, user=UserFactory(username="bea"), message="Need you"
    )
    return secret, page


def test_the_api_answers_an_unseen_page_like_a_missing_one(api_for, responder, hidden_page):
    secret, page = hidden_page
    client = api_for(responder)

    unseen = client.post(f"/api/oncall/pages/{page.pk}/acknowledge/")
    missing = client.post(f"/api/oncall/pages/{page.pk + 1000}/acknowledge/")

    assert (unseen.status_code, missing.status_code) == (404, 404)
    assert unseen.json() == missing.json() == {"detail": "No such page."}
    assert secret.key not in unseen.content.decode()


@pytest.mark.parametrize("how", ["button", "link-get", "link-post"])
def test_the_portal_answers_an_unseen_page_like_a_missing_one(
    client_for, responder, hidden_page, settings, how
):
    secret, page = hidden_page
    settings.DEBUG = True  # the 404 page shows its reason
    client = client_for(responder)

    def answer(pk):
        if how == "button":
            return client.post(f"/oncall/pages/{pk}/acknowledge/")
        url = f"/oncall/ack/{delivery.ack_token(Page(pk=pk))}/"
        return client.get(url) if how == "link-get" else client.post(url)

    unseen, missing = answer(page.pk), answer(page.pk + 1000)

    assert (unseen.status_code, missing.status_code) == (404, 404)
    for response in (unseen, missing):
        assert "No such page." in response.content.decode()
    assert secret.key not in unseen.content.decode()
    page.refresh_from_db()
    assert page.acknowledged_at is None
