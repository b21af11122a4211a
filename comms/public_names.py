"""What the public page, its feed and its uptime history call a status-page incident, in
the reader's language.

A page's stored ``name`` is written once, at publishing, in the publisher's language
(``content.external_name``), and the Statuspage JSON keeps it as it is. The page, its uptime
history and the feed say it again in the visitor's language, from the products the page
shows.
"""

from __future__ import annotations

from django.utils.translation import gettext

from .content import and_list
from .models import StatusPageIncident


def public_name(page: StatusPageIncident) -> str:
    """The page's name in the active language (its products prefetched, or one query)."""
    products = and_list(product.name for product in page.products.all())
    return gettext("Issue with %(products)s") % {"products": products or gettext("our service")}
