"""The support-cases section of the incident page (a registered panel)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from incidents import access
from incidents.models import Incident

SHOWN = 20
MAX_PREFILL = 2000


def context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    cases = incident.support_cases.order_by("-labelled_at", "-pk")
    count = cases.count()
    organisations = sorted(
        set(cases.exclude(organisation="").values_list("organisation", flat=True)[:200])
    )
    return {
        "count": count,
        "cases": list(cases[:SHOWN]) if count else [],
        "organisations": organisations,
        "can_label": access.can_label(request.user),
        "can_see_history": access.can_see_label_history(request.user),
        "can_follow_up": access.can_follow_up(request.user, incident),
        # The dashboard's inline form without JavaScript (its cached rows carry no CSRF
        # token) comes here with the references typed, to be confirmed with "Label".
        "prefill": request.GET.get("references", "")[:MAX_PREFILL],
    }
