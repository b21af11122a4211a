from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def is_past(value: datetime | None) -> bool:
    """Whether a promised time has passed: the overdue badge."""
    return value is not None and value < timezone.now()
