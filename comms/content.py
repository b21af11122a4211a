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
from django.utils.translation import gettext, ngettext

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
    # Translators: the last two of a list of product names ("A, B and C").
    return gettext("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def product_names(incident: Incident) -> list[str]:
    return [product.name for product in incident.affected_products.all()]


def issue_name(products: Iterable[str]) -> str:
    """HANDBOOK §5: what customers call an incident: its products, never its key or
    summary. The one wording of the name stored at publishing and of the name the public
    page, its feed and its uptime history say again in the visitor's language."""
    return gettext("Issue with %(products)s") % {
        "products": and_list(products) or gettext("our service")
    }


def external_name(incident: Incident) -> str:
    """The name a status page stores at publishing: the incident's affected products."""
    return issue_name(product_names(incident))


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
    """A new draft's fields, from the HANDBOOK §5 and §10 templates, in the active
    language: the author's, who edits the draft before it goes out."""
    products = and_list(product_names(incident))
    service = {"products": products or gettext("our service")}
    services = {"products": products or gettext("our services")}
    now = timezone.now()
    fields: dict[str, Any] = {"page_status": PageStatus.INVESTIGATING}
    external = audience == Audience.EXTERNAL
    if external:
        fields["component_status"] = SEVERITY_COMPONENT_STATUS.get(
            incident.severity, ComponentStatus.DEGRADED
        )
    if kind == Kind.INITIAL:
        fields["summary"] = (
            gettext(
                "We are investigating an issue with %(products)s and will provide an update "
                "here shortly."
            )
            % service
            if external
            else gettext(
                "We are investigating an incident affecting %(products)s. We will provide "
                "updates via email and the status page shortly."
            )
            % services
        )
    elif kind == Kind.FOLLOW_UP:
        fields["page_status"] = PageStatus.IDENTIFIED
        fields["summary"] = (
            gettext("We have identified the issue with %(products)s and are working on a fix.")
            % service
            if external
            else ""
        )
        if not external:
            fields["next_update"] = gettext("By e-mail and on the internal status page.")
            fields["next_update_at"] = now + DEFAULT_NEXT_UPDATE
    else:
        fields["page_status"] = PageStatus.RESOLVED
        if external:
            fields["component_status"] = ComponentStatus.OPERATIONAL
            fields["summary"] = (
                gettext(
                    "The issue with %(products)s has been resolved and service is restored. "
                    "A post-incident review will follow."
                )
                % service
            )
        else:
            cases = selectors.support_case_count(incident)
            fields["summary"] = gettext(
                "%(key)s is resolved and no further communications will follow."
            ) % {"key": incident.key}
            impact = gettext("The impact on %(products)s lasted %(duration)s.") % {
                **services,
                "duration": _duration(incident),
            }
            filed = ngettext(
                "Customers filed %(count)d support case labelled %(key)s.",
                "Customers filed %(count)d support cases labelled %(key)s.",
                cases,
            ) % {"count": cases, "key": incident.key}
            fields["customer_impact"] = f"{impact} {filed}"
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
    bullets = gettext("2-4 bullets, one per line.")
    a_number = gettext('A number, "all", or "unknown".')
    say_unknown = gettext('Say "unknown" if so.')
    return [
        Check(
            "summary",
            gettext("Summary of status and impact"),
            bool(c.summary.strip()) and sentences(c.summary) <= 2,
            gettext("One or two sentences."),
        ),
        Check("current_status", gettext("Current status"), _bullets_ok(c.current_status), bullets),
        Check("next_steps", gettext("Next steps"), _bullets_ok(c.next_steps), bullets),
        Check(
            "customer_impact",
            gettext("Customer impact"),
            bool(c.customer_impact.strip()),
            gettext("What customers experience."),
        ),
        Check(
            "internal_customers_affected",
            gettext("Internal customers affected"),
            bool(c.internal_customers_affected.strip()),
            a_number,
        ),
        Check(
            "external_customers_affected",
            gettext("External customers affected"),
            bool(c.external_customers_affected.strip()),
            a_number,
        ),
        Check("root_cause", gettext("Root cause"), bool(c.root_cause.strip()), say_unknown),
        Check("eta", gettext("ETA for recovery"), bool(c.eta.strip()), say_unknown),
        Check(
            "next_update",
            gettext("Where the next update comes"),
            bool(c.next_update.strip()),
            gettext("E-mail, status page, chat room…"),
        ),
        Check(
            "next_update_at",
            gettext("When the next update comes"),
            c.next_update_at is not None,
            gettext("A date and time."),
        ),
    ]


def needs_checklist(communication: Communication) -> bool:
    return communication.audience == Audience.INTERNAL and communication.kind == Kind.FOLLOW_UP


def warnings(communication: Communication) -> list[str]:
    if (
        communication.audience == Audience.EXTERNAL
        and sentences(communication.summary) > EXTERNAL_SENTENCES
    ):
        count = sentences(communication.summary)
        return [
            gettext(
                "External updates should be one or two sentences; this one has %(count)d. "
                "Customers want to know if it is fixed yet."
            )
            % {"count": count}
        ]
    return []
