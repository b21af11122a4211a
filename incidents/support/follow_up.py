"""The customer follow-up e-mail (HANDBOOK §1, §10): what the customer of each labelled
case receives when the incident is resolved.

``incidents`` only says who and what; the app that owns e-mail (``comms``) queues and
sends it after commit, and records the follow-up through ``actions.mark_followed_up``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.template.loader import select_template
from django.utils.translation import gettext as _

from incidents.models import CLOSED_STATUSES, Incident
from incidents.support.models import SupportCase


@dataclass(frozen=True)
class FollowUp:
    case: SupportCase
    to: str
    subject: str
    text: str


def due_cases(incident: Incident, case_ids: list[int] | None = None) -> QuerySet[SupportCase]:
    """Cases of the incident whose customer has not been told yet and can be e-mailed."""
    cases = SupportCase.objects.filter(label=incident, followed_up_at__isnull=True).exclude(
        contact_email=""
    )
    if case_ids is not None:
        cases = cases.filter(pk__in=case_ids)
    return cases.order_by("opened_at", "pk")


def template_names(incident: Incident) -> list[str]:
    """A template per affected product (alphabetical), then the default one."""
    slugs = sorted(product.slug for product in incident.affected_products.all())
    return [f"incidents/support/follow_up/{slug}.txt" for slug in slugs] + [
        "incidents/support/follow_up/default.txt"
    ]


def messages(incident: Incident, cases: list[SupportCase]) -> list[FollowUp]:
    """The e-mail for each case; one template lookup for the whole batch."""
    template = select_template(template_names(incident))
    products = ", ".join(product.name for product in incident.affected_products.all())
    subject = _("Resolved: %(summary)s (%(key)s)") % {
        "summary": incident.summary,
        "key": incident.key,
    }
    return [
        FollowUp(
            case=case,
            to=case.contact_email,
            subject=subject,
            text=template.render({"incident": incident, "case": case, "products": products}).strip()
            + "\n",
        )
        for case in cases
    ]


def should_follow_up(incident: Incident) -> bool:
    """Customers hear of resolved incidents, never of restricted ones: the mail names the
    key and the summary, which only the people involved may read."""
    return (
        incident.customer_follow_up
        and not incident.restricted
        and incident.status in CLOSED_STATUSES
    )
