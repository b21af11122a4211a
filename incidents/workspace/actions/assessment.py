"""The structured assessment (HANDBOOK §4): each save is a new revision."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused, _record, _touch, check_time
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
    _record(
        current,
        EntryKind.ASSESSMENT,
        by,
        _assessment_text(assessment),
        revision=assessment.revision,
        suggested_severity=assessment.suggested_severity,
    )
    _touch(current)
    return assessment


def _assessment_text(assessment: Assessment) -> str:
    affected = assessment.get_affected_display().lower()
    if assessment.affected == Affected.NUMBER:
        affected = str(assessment.affected_count)
    lines = [f"Assessment (revision {assessment.revision}). Customers affected: {affected}."]
    for field in ("customer_experience", "external_impact", "internal_impact"):
        value = getattr(assessment, field).strip()
        if value:
            label = _assessment_label(field)
            lines.append(f"{label.capitalize()}: {value}")
    if assessment.started_at is not None:
        lines.append(f"Started: {timezone.localtime(assessment.started_at):%Y-%m-%d %H:%M %Z}.")
    if assessment.support_cases is not None:
        lines.append(f"Support cases opened: {assessment.support_cases}.")
    factors = [
        _assessment_label(field)
        for field in ("social_media", "security", "data_loss")
        if getattr(assessment, field)
    ]
    if factors:
        lines.append(f"Other factors: {', '.join(factors)}.")
    if assessment.other_factors.strip():
        lines.append(assessment.other_factors.strip())
    if assessment.suggested_severity is not None:
        lines.append(f"The severity matrix suggests severity {assessment.suggested_severity}.")
    return "\n".join(lines)


def _assessment_label(name: str) -> str:
    field = Assessment._meta.get_field(name)
    assert isinstance(field, models.Field)  # the answers are all plain columns
    return str(field.verbose_name)
