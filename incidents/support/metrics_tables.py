"""The metrics page's table rows (by severity, service and month; the incidents missing
times), rendered with Jinja2 as the support board's rows are (``rows``): in Django's
template language, with a filter and a ``reverse`` per cell or row, they were most of
the cost of a page computed after a change.

Translations stay Django's: the gaps' names are ``gettext`` calls here, durations go
through the ``duration`` filter's own function, and the viewer's language applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.template import engines
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from incidents.support.metrics import Group, Row
from incidents.templatetags.hotline import duration

GROUPS = "incidents/support/metrics_groups.html"
MISSING = "incidents/support/metrics_missing.html"

# Stands for the key in the one ``reverse`` the missing rows make: keys (``HOT-12``) are
# letters, digits and a dash, which a URL path carries as they are.
_KEY = "~key~"


def _template(name: str) -> Any:
    return engines["jinja2"].get_template(name)


def groups(grouped: Sequence[Group]) -> SafeString:
    """One grouping's rows: medians and p90s of TTD and TTR, and how many have a TTR."""
    # Rendered by the template, with autoescape on.
    return mark_safe(_template(GROUPS).render({"groups": grouped, "duration": duration}))


def missing(rows: Sequence[Row], *, edit: bool) -> SafeString:
    """The incidents missing times, each linked where its times are filled in when the
    viewer may (``edit``), else to the incident."""
    before, after = reverse("incidents:edit" if edit else "incidents:detail", args=[_KEY]).split(
        _KEY
    )
    gaps = {gap: gettext(gap) for row in rows for gap in row.missing}
    context = {"rows": rows, "link": lambda key: f"{before}{key}{after}", "gaps": gaps}
    return mark_safe(_template(MISSING).render(context))
