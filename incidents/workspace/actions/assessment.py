"""The structured assessment (HANDBOOK §4): each save is a new revision."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused, _say, _touch, check_time
from incidents.models import EntryKind, Incident
from incidents.workspace.models import Affected, Assessment

# Assessment (HANDBOOK §4) ------------------------------------------------------------

ASSESSMENT_FIELDS = (
    "internal_impact",
    "external_impact",
    "customer_experience",
    "affected",
    "affected_count",
    "started_at",
    "support_cases",
    "social_media",
    "security",
    "data_loss",
    "other_factors",
)


@transaction.atomic
def save_assessment(incident: Incident, *, by: User, **answers: Any) -> Assessment:
    """A new revision of the assessment; earlier revisions stay as they were."""
    unknown = set(answers) - set(ASSESSMENT_FIELDS)
    if unknown:
        raise ActionRefused(
            _("%(fields)s is not part of the assessment.") % {"fields": ", ".join(sorted(unknown))}
        )
    affected = answers.get("affected") or ""
    if affected not in Affected.values:
        raise ActionRefused(_("Choose none, some, all or a number."), field="affected")
    if affected == Affected.NUMBER and answers.get("affected_count") is None:
        raise ActionRefused(_("Say how many customers are affected."), field="affected_count")
    if affected != Affected.NUMBER:
        answers["affected_count"] = None
    started = answers.get("started_at")
    check_time(started, field="started_at")
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    last = current.assessments.order_by("-revision").values_list("revision", flat=True).first()
    assessment = Assessment.objects.create(
        incident=current, revision=(last or 0) + 1, author=by, **answers
    )
    _say(
        current,
        EntryKind.ASSESSMENT,
        by,
        "assessment.saved",
        revision=assessment.revision,
        suggested_severity=assessment.suggested_severity,
        affected=assessment.affected,
        affected_count=assessment.affected_count,
        answers=[
            [field, getattr(assessment, field).strip()]
            for field in ("customer_experience", "external_impact", "internal_impact")
            if getattr(assessment, field).strip()
        ],
        started_at=assessment.started_at.isoformat() if assessment.started_at else None,
        support_cases=assessment.support_cases,
        factors=[f for f in ("social_media", "security", "data_loss") if getattr(assessment, f)],
        other_factors=assessment.other_factors.strip(),
    )
    _touch(current)
    return assessment
