"""Who may do what after the incident, on top of the record's ``incidents.access``."""

from __future__ import annotations

from django.contrib.auth.models import User

from incidents.access import can_manage
from incidents.after.models import CleanupTask


def can_complete_task(user: User, task: CleanupTask) -> bool:
    """The owner ticks their own task off; incident managers keep the list tidy."""
    return task.owner_id == user.pk or can_manage(user, task.incident)
