"""The public Atom feed, read by feedparser as a feed reader reads it: an author, plain
text, ids from SITE_URL whatever the Host header, and 304 when nothing changed."""

from datetime import timedelta

import feedparser
import pytest
from django.test import Client
from django.utils import timezone

from comms import actions
from comms.models import Audience, Kind

pytestmark = pytest.mark.django_db

SITE = "https://status.hotline.example"
FEED = "/status/feed.atom"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.COMMS_STATUS_PAGE_NAME = "Acme status"
    settings.ALLOWED_HOSTS = ["*"]


def publish(incident, by, kind=Kind.INITIAL, **fields):
    draft = actions.draft_communication(
        incident, audience=Audience.EXTERNAL, kind=kind, by=by, **fields
    )
    return actions.publish_communication(draft, by=by)


def read(response) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_feed_has_an_author_and_plain_text_entries(incident, manager):
    publish(incident, manager)
    publish(incident, manager, Kind.FOLLOW_UP, summary="Fixed <b>checkout</b> & payments.")

    parsed = read(Client().get(FEED))

    assert parsed.version == "atom10"
    assert parsed.feed.title == "Acme status"
    assert parsed.feed.author_detail.name == "Acme status"
    assert parsed.feed.author_detail.href == f"{SITE}/status/"
    newest = parsed.entries[0]
    assert newest.summary_detail.type == "text/plain"
    # Shown as written, not as markup: the reader gets the angle brackets back.
    assert newest.summary == "Fixed <b>checkout</b> & payments."
    assert all(entry.summary_detail.type == "text/plain" for entry in parsed.entries)
    assert newest.title.startswith("Issue with Confluence and Jira")


def test_ids_and_links_come_from_site_url_not_the_host_header(incident, manager):
    publish(incident, manager)
    publish(incident, manager, Kind.FOLLOW_UP, summary="Found it.")

    honest = read(Client().get(FEED))
    forged = read(Client(HTTP_HOST="evil.example").get(FEED))

    assert honest.feed.id == forged.feed.id == f"{SITE}/status/feed.atom"
    ids = [entry.id for entry in honest.entries]
    assert ids == [entry.id for entry in forged.entries]
    assert len(set(ids)) == 2
    for entry in honest.entries + forged.entries:
        assert entry.id.startswith(f"{SITE}/status/#")
        assert entry.link.startswith(f"{SITE}/status/#")
    assert "evil.example" not in Client(HTTP_HOST="evil.example").get(FEED).content.decode()


def test_an_unchanged_feed_answers_304_by_etag_or_date(
    incident, manager, django_assert_max_num_queries
):
    publish(incident, manager)
    client = Client()
    first = client.get(FEED)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert first.status_code == 200
    assert etag
    assert modified

    with django_assert_max_num_queries(1):
        again = client.get(FEED, HTTP_IF_NONE_MATCH=etag)
    by_date = client.get(FEED, HTTP_IF_MODIFIED_SINCE=modified)

    assert again.status_code == by_date.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_a_new_update_changes_the_etag_and_the_feed(incident, manager, time_machine):
    publish(incident, manager)
    before = Client().get(FEED)
    time_machine.move_to(timezone.now() + timedelta(minutes=5))

    publish(incident, manager, Kind.FOLLOW_UP, summary="Found it.")
    after = Client().get(FEED, HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert len(read(after).entries) == 2
    assert Client().get(FEED, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"]).status_code == 200


def test_an_update_leaving_the_history_changes_the_etag(incident, manager, time_machine):
    publish(incident, manager)
    publish(incident, manager, Kind.FINAL)
    etag = Client().get(FEED)["ETag"]

    time_machine.move_to(timezone.now() + timedelta(days=91))
    response = Client().get(FEED, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert read(response).entries == []


def test_the_feed_answers_head_and_refuses_post(incident, manager):
    publish(incident, manager)
    assert Client().head(FEED).status_code == 200
    assert Client().post(FEED).status_code == 405
