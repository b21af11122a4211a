"""What the public page, its feed and its uptime history call a status-page incident, in
the reader's language.

A page's stored ``name`` is written once, at publishing, in the publisher's language,
and the Statuspage JSON keeps it as it is. The page, its uptime history and the feed say
it again in the visitor's language, from the products the page shows: both through
``content.issue_name``.
"""

from __future__ import annotations

from .content import issue_name
from .models import StatusPageIncident


def public_name(page: StatusPageIncident) -> str:
    """The page's name in the active language (its products prefetched, or one query)."""
    return issue_name(product.name for product in page.products.all())
