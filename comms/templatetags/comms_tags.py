from datetime import datetime

from django import template
from django.utils import timezone

from comms.models import Communication

register = template.Library()


@register.filter
def is_past(value: datetime | None) -> bool:
    """Whether a promised time has passed: the overdue badge."""
    return value is not None and value < timezone.now()


@register.filter
def bullets(text: str) -> list[str]:
    """The lines of a "Current status" or "Next steps" section, without their markers."""
    return Communication.bullets(text)
