"""After the impact ends (HANDBOOK §10): cleanup tasks and the post-incident review."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused, _name, _say, _touch, involve, transition_incident
from incidents.after.models import CleanupTask, Review
from incidents.after.review import draft
from incidents.models import EntryKind, Incident, Status


@transaction.atomic
def add_cleanup_task(
    incident: Incident,
    *,
    by: User,
    title: str,
    owner: User | None = None,
    due: date | None = None,
    link: str = "",
) -> CleanupTask:
    title = title.strip()
    if not title:
        raise ActionRefused(_("Say what needs doing."), field="title")
    task = CleanupTask.objects.create(
        incident=incident, title=title, owner=owner, due=due, link=link.strip(), created_by=by
    )
    if owner is not None:
        involve(incident, person=owner, reason="owns a cleanup task")
    _say(
        incident,
        EntryKind.CLEANUP,
        by,
        "cleanup.added",
        task=task.pk,
        title=title,
        owner=_name(owner) if owner else None,
        due=f"{due:%Y-%m-%d}" if due else None,
    )
    _touch(incident)
    return task


@transaction.atomic
def complete_cleanup_task(task: CleanupTask, *, by: User, done: bool = True) -> CleanupTask:
    """Mark a task done, or open again; a second identical call changes nothing."""
    current = CleanupTask.objects.select_for_update().get(pk=task.pk)
    if (current.done_at is not None) == done:
        return current
    current.done_at = timezone.now() if done else None
    current.done_by = by if done else None
    current.save(update_fields=["done_at", "done_by"])
    _say(
        current.incident,
        EntryKind.CLEANUP,
        by,
        "cleanup.done",
        task=current.pk,
        title=current.title,
        done=done,
    )
    _touch(current.incident)
    return current


@transaction.atomic
def start_review(incident: Incident, *, by: User) -> Review:
    """The review's first draft, generated from the incident; later calls return it."""
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    existing = Review.objects.filter(incident=current).first()
    if existing is not None:
        return existing
    if current.status != Status.RESOLVED:
        raise ActionRefused(
            _("Resolve %(key)s first: the review covers the whole incident.") % {"key": current.key}
        )
    review = Review.objects.create(
        incident=current, body=draft(current), created_by=by, updated_by=by
    )
    _say(current, EntryKind.REVIEW, by, "review.started", who=_name(by))
    _touch(current)
    return review


@transaction.atomic
def save_review(review: Review, *, by: User, body: str) -> Review:
    current = Review.objects.select_for_update().get(pk=review.pk)
    if current.completed_at is not None:
        raise ActionRefused(_("The review is done; it is kept as it was."), field="body")
    if not body.strip():
        raise ActionRefused(_("The review cannot be empty."), field="body")
    if body == current.body:
        return current
    current.body = body
    current.updated_by = by
    current.updated_at = timezone.now()
    current.save(update_fields=["body", "updated_by", "updated_at"])
    return current


@transaction.atomic
def complete_review(review: Review, *, by: User) -> Review:
    """Mark the review done: the incident moves from resolved to reviewed."""
    current = Review.objects.select_for_update().get(pk=review.pk)
    if current.completed_at is not None:
        return current
    transition_incident(current.incident, to=Status.REVIEWED, by=by)
    current.completed_at = timezone.now()
    current.save(update_fields=["completed_at"])
    _say(current.incident, EntryKind.REVIEW, by, "review.completed", who=_name(by))
    return current
