"""The public status page's Atom feed (RFC 4287), for feed readers and status aggregators.

No login. Its ids and links start at ``SITE_URL``, never at the request's Host header: an
entry's id is its identity for every reader, so it must not change with the name a reader
used to reach the portal (nor with a forged Host). Update texts are people's plain words
and go out as ``type="text"``: a reader shows them as written, never as markup.

Readers poll; ``ETag`` and ``Last-Modified`` come from one aggregate query, so a poll when
nothing changed answers 304 without building the feed. Its human words (the feed's
description, the entries' titles) are in the reader's language, as on the page: the
ETag differs per language and the answer varies by ``Accept-Language``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import http_date
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_safe

from . import selectors
from .content import site_url
from .models import Audience, Communication, State
from .public import in_visitor_language
from .public_names import public_name

# Readers may poll as often as they like; a minute of caching spares the database.
MAX_AGE_SECONDS = 60


class TextAtomFeed(Atom1Feed):
    """Django's Atom feed declares every summary HTML; ours are plain text."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


def _shown_updates() -> Any:
    """The published external updates the feed lists (those of ``public_incidents``)."""
    since = timezone.now() - selectors.PUBLIC_HISTORY
    return Communication.objects.filter(
        state=State.PUBLISHED,
        audience=Audience.EXTERNAL,
        page_incident__audience=Audience.EXTERNAL,
        page_incident__incident__restricted=False,
        page_incident__updated_at__gte=since,
    )


def _version() -> tuple[str, datetime | None]:
    """(ETag, Last-Modified) of the feed: a new update or page name, one leaving the
    90-day history, another page title or language each give another ETag."""
    marker = _shown_updates().aggregate(
        count=Count("pk"),
        newest=Max("published_at"),
        renamed=Max("page_incident__updated_at"),
    )
    parts = [marker["count"], marker["newest"], marker["renamed"]]
    parts += [settings.COMMS_STATUS_PAGE_NAME, settings.SITE_URL, get_language()]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f'"{digest}"', marker["newest"]


def _feed() -> TextAtomFeed:
    page_url = site_url(reverse("comms:public_status"))
    feed_url = site_url(reverse("comms:public_feed"))
    feed = TextAtomFeed(
        title=settings.COMMS_STATUS_PAGE_NAME,
        link=page_url,
        description=gettext("Incidents and their updates."),
        feed_url=feed_url,
        feed_guid=feed_url,
        author_name=settings.COMMS_STATUS_PAGE_NAME,
        author_link=page_url,
        language=get_language(),
    )
    for incident in selectors.public_incidents():
        for update in incident.published:  # type: ignore[attr-defined]
            feed.add_item(
                title=f"{public_name(incident)}: {update.get_page_status_display()}",
                link=f"{page_url}#{incident.public_id}",
                description=update.summary,
                unique_id=f"{page_url}#{incident.public_id}-update-{update.pk}",
                pubdate=update.published_at,
                updateddate=update.published_at,
            )
    return feed


@login_not_required
@require_safe
@in_visitor_language
def status_feed(request: HttpRequest) -> HttpResponse:
    etag, last_modified = _version()
    # Whole seconds, as the HTTP date a reader sends back has them.
    modified = int(last_modified.timestamp()) if last_modified else None
    response = get_conditional_response(request, etag=etag, last_modified=modified)
    if response is None:
        response = HttpResponse(
            _feed().writeString("utf-8"), content_type="application/atom+xml; charset=utf-8"
        )
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
    return response
