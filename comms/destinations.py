"""A team's chat destination: where the incident's chat topic and updates are posted.

Changed by the team's admins from the on-call team page and API (``oncall.setup``,
which checks who may); the posting itself stays in ``comms.actions``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused
from incidents.models import Team

from .models import ChatFormat, ChatWebhook

MAX_URL = 500  # ChatWebhook.url's max_length


def shown_url(url: str) -> str:
    """A webhook URL as people may see it: whoever has it may post, so its host only."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


@transaction.atomic
def set_team_chat_webhook(
    team: Team, *, url: str, format: str, by: User, active: bool = True
) -> ChatWebhook:
    """The team's chat webhook becomes ``url`` in ``format`` (one per team)."""
    url = url.strip()
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise ActionRefused(_("Enter the webhook's full http(s) address."), field="url") from None
    if len(url) > MAX_URL:
        raise ActionRefused(_("The address is too long."), field="url")
    if format not in ChatFormat.values:
        raise ActionRefused(_("Choose a chat format."), field="format")
    Team.objects.select_for_update().get(pk=team.pk)
    webhook, _created = ChatWebhook.objects.update_or_create(
        team=team, defaults={"url": url, "format": format, "active": active}
    )
    return webhook


@transaction.atomic
def remove_team_chat_webhook(team: Team, *, by: User) -> bool:
    """Stop posting to the team's chat; messages already sent stay recorded (they go
    with the webhook row, so it is deactivated rather than deleted)."""
    return bool(ChatWebhook.objects.filter(team=team, active=True).update(active=False))
