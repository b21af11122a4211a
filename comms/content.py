"""What communications say: the HANDBOOK templates (§5, §10), the chat topic (§3, §7)
and the completeness checklist of follow-ups (§8). Pure functions of the records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from incidents.models import Incident
from incidents.selectors import current_roles
from incidents.templatetags.hotline import duration

from . import selectors
from .models import Audience, Communication, ComponentStatus, Kind, PageStatus

# HANDBOOK §8: external updates are "one or two sentences"; longer only warns.
EXTERNAL_SENTENCES = 2
DEFAULT_NEXT_UPDATE = timedelta(minutes=30)
SEVERITY_COMPONENT_STATUS = {
    1: ComponentStatus.MAJOR,
    2: ComponentStatus.PARTIAL,
    3: ComponentStatus.DEGRADED,
}


# Rendering -------------------------------------------------------------------------


def and_list(names: Iterable[str]) -> str:
    """'A', 'A and B', 'A, B and C': how the HANDBOOK templates list products."""
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def product_names(incident: Incident) -> list[str]:
    return [product.name for product in incident.affected_products.all()]


def external_name(incident: Incident) -> str:
    """HANDBOOK §5: customers see the product, never the key or the summary."""
    return f"Issue with {and_list(product_names(incident)) or 'our service'}"


def sentences(text: str) -> int:
    return len([part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part.strip()])


def site_url(path: str) -> str:
    return settings.SITE_URL + path


def topic(incident: Incident) -> str:
    """HANDBOOK §3 and §7: summary and severity; roles, IM first; the three links."""
    roles = ", ".join(
        f"{holder.role}: @{holder.person.get_username()}" for holder in current_roles(incident)
    )
    parts = [
        f"{incident.summary} | SEV {incident.severity}",
        roles or gettext("IM: unassigned"),
        gettext("Incident: %(url)s") % {"url": site_url(incident.get_absolute_url())},
        gettext("Video: %(url)s") % {"url": incident.video_url or gettext("none yet")},
        gettext("Status doc: %(url)s") % {"url": incident.status_doc_url or gettext("none yet")},
    ]
    return " | ".join(parts)


def template_fields(incident: Incident, *, audience: str, kind: str) -> dict[str, Any]:
    """A new draft's fields, from the HANDBOOK §5 and §10 templates."""
    products = and_list(product_names(incident))
    now = timezone.now()
    fields: dict[str, Any] = {"page_status": PageStatus.INVESTIGATING}
    external = audience == Audience.EXTERNAL
    if external:
        fields["component_status"] = SEVERITY_COMPONENT_STATUS.get(
            incident.severity, ComponentStatus.DEGRADED
        )
    if kind == Kind.INITIAL:
        fields["summary"] = (
            f"We are investigating an issue with {products or 'our service'} and will provide "
            "an update here shortly."
            if external
            else f"We are investigating an incident affecting {products or 'our services'}. "
            "We will provide updates via email and the status page shortly."
        )
    elif kind == Kind.FOLLOW_UP:
        fields["page_status"] = PageStatus.IDENTIFIED
        fields["summary"] = (
            f"We have identified the issue with {products or 'our service'} and are working on "
            "a fix."
            if external
            else ""
        )
        if not external:
            fields["next_update"] = "By e-mail and on the internal status page."
            fields["next_update_at"] = now + DEFAULT_NEXT_UPDATE
    else:
        fields["page_status"] = PageStatus.RESOLVED
        if external:
            fields["component_status"] = ComponentStatus.OPERATIONAL
            fields["summary"] = (
                f"The issue with {products or 'our service'} has been resolved and service is "
                "restored. A post-incident review will follow."
            )
        else:
            cases = selectors.support_case_count(incident)
            fields["summary"] = (
                f"{incident.key} is resolved and no further communications will follow."
            )
            fields["customer_impact"] = (
                f"The impact on {products or 'our services'} lasted {_duration(incident)}. "
                f"Customers filed {cases} support case{'' if cases == 1 else 's'} labelled "
                f"{incident.key}."
            )
    return fields


def _duration(incident: Incident) -> str:
    return duration(incident.ttr)


# The completeness checklist (HANDBOOK §8) ---------------------------------------------


@dataclass(frozen=True)
class Check:
    field: str
    label: str
    done: bool
    hint: str


def _bullets_ok(text: str) -> bool:
    return 2 <= len(Communication.bullets(text)) <= 4


def checklist(communication: Communication) -> list[Check]:
    """What an internal follow-up must say. Unknowns count when said as "unknown"."""
    c = communication
    return [
        Check(
            "summary",
            "Summary of status and impact",
            bool(c.summary.strip()) and sentences(c.summary) <= 2,
            "One or two sentences.",
        ),
        Check(
            "current_status",
            "Current status",
            _bullets_ok(c.current_status),
            "2-4 bullets, one per line.",
        ),
        Check("next_steps", "Next steps", _bullets_ok(c.next_steps), "2-4 bullets, one per line."),
        Check(
            "customer_impact",
            "Customer impact",
            bool(c.customer_impact.strip()),
            "What customers experience.",
        ),
        Check(
            "internal_customers_affected",
            "Internal customers affected",
            bool(c.internal_customers_affected.strip()),
            'A number, "all", or "unknown".',
        ),
        Check(
            "external_customers_affected",
            "External customers affected",
            bool(c.external_customers_affected.strip()),
            'A number, "all", or "unknown".',
        ),
        Check("root_cause", "Root cause", bool(c.root_cause.strip()), 'Say "unknown" if so.'),
        Check("eta", "ETA for recovery", bool(c.eta.strip()), 'Say "unknown" if so.'),
        Check(
            "next_update",
            "Where the next update comes",
            bool(c.next_update.strip()),
            "E-mail, status page, chat room…",
        ),
        Check(
            "next_update_at",
            "When the next update comes",
            c.next_update_at is not None,
            "A date and time.",
        ),
    ]


def needs_checklist(communication: Communication) -> bool:
    return communication.audience == Audience.INTERNAL and communication.kind == Kind.FOLLOW_UP


def warnings(communication: Communication) -> list[str]:
    if (
        communication.audience == Audience.EXTERNAL
        and sentences(communication.summary) > EXTERNAL_SENTENCES
    ):
        return [
            f"External updates should be one or two sentences; this one has "
            f"{sentences(communication.summary)}. Customers want to know if it is fixed yet."
        ]
    return []
