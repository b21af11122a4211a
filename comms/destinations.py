"""A team's destinations: its chat webhook (where the incident's chat topic and updates
are posted), its generic signed webhooks and its distribution lists.

Changed by the team's admins from the on-call team page and API (``oncall.setup``,
which checks who may); the posting and sending stay in ``comms.actions``. A webhook's
or list's team says who manages it; who receives what is unchanged (a webhook gets its
events for every incident; a list gets mail when it is the default list). A chat's and a
list's ``language`` is the one their messages are written in (empty: the portal's); a
list's teams' members read their own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from incidents.actions import ActionRefused
from incidents.models import Team

from .models import ChatFormat, ChatWebhook, DistributionList, Webhook, WebhookEvent

MAX_URL = 500  # ChatWebhook.url's and Webhook.url's max_length
MAX_NAME = 100  # Webhook.name's and DistributionList.name's max_length
MAX_ADDRESSES = 500


def shown_url(url: str) -> str:
    """A webhook URL as people may see it: whoever has it may post, so its host only."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _checked_url(url: str) -> str:
    url = url.strip()
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise ActionRefused(_("Enter the webhook's full http(s) address."), field="url") from None
    if len(url) > MAX_URL:
        raise ActionRefused(_("The address is too long."), field="url")
    return url


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ActionRefused(_("Enter a name."), field="name")
    if len(name) > MAX_NAME:
        raise ActionRefused(_("The name is too long."), field="name")
    return name


def _checked_language(language: str) -> str:
    if language and language not in dict(settings.LANGUAGES):
        raise ActionRefused(_("Choose one of the offered languages."), field="language")
    return language


@transaction.atomic
def set_team_chat_webhook(
    team: Team, *, url: str, format: str, by: User, active: bool = True, language: str = ""
) -> ChatWebhook:
    """The team's chat webhook becomes ``url`` in ``format`` (one per team), its
    messages written in ``language``."""
    url, language = _checked_url(url), _checked_language(language)
    if format not in ChatFormat.values:
        raise ActionRefused(_("Choose a chat format."), field="format")
    Team.objects.select_for_update().get(pk=team.pk)
    webhook, _created = ChatWebhook.objects.update_or_create(
        team=team, defaults={"url": url, "format": format, "active": active, "language": language}
    )
    return webhook


@transaction.atomic
def remove_team_chat_webhook(team: Team, *, by: User) -> bool:
    """Stop posting to the team's chat; messages already sent stay recorded (they go
    with the webhook row, so it is deactivated rather than deleted)."""
    return bool(ChatWebhook.objects.filter(team=team, active=True).update(active=False))


# Generic signed webhooks ---------------------------------------------------------------


def _checked_events(events: list[str]) -> list[str]:
    unknown = [event for event in events if event not in WebhookEvent.values]
    if unknown:
        raise ActionRefused(
            _("Unknown event: %(events)s.") % {"events": ", ".join(unknown)}, field="events"
        )
    if not events:
        raise ActionRefused(_("Choose at least one event."), field="events")
    # In the order Hotline lists them, each once.
    return [event for event in WebhookEvent.values if event in events]


@transaction.atomic
def add_team_webhook(
    team: Team, *, name: str, url: str, events: list[str], by: User, active: bool = True
) -> Webhook:
    """A new signed webhook managed by the team's admins. Its secret is generated here;
    show it (``transports.webhook.standard_secret``) to whoever added it, once."""
    name, url, events = _checked_name(name), _checked_url(url), _checked_events(events)
    return Webhook.objects.create(team=team, name=name, url=url, events=events, active=active)


@transaction.atomic
def update_team_webhook(
    webhook: Webhook, *, name: str, url: str, events: list[str], by: User, active: bool = True
) -> Webhook:
    """Change the webhook's name, address, events or pause it; its secret stays."""
    name, url, events = _checked_name(name), _checked_url(url), _checked_events(events)
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    webhook.name, webhook.url, webhook.events, webhook.active = name, url, events, active
    webhook.save(update_fields=["name", "url", "events", "active"])
    return webhook


@transaction.atomic
def remove_team_webhook(webhook: Webhook, *, by: User) -> bool:
    """Stop sending to the webhook. One that was ever sent something is deactivated, so
    its delivery record stays (it goes with the webhook row); others are deleted.
    Returns whether it was deleted."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if webhook.deliveries.exists():
        if webhook.active:
            webhook.active = False
            webhook.save(update_fields=["active"])
        return False
    webhook.delete()
    return True


# Distribution lists --------------------------------------------------------------------


def _checked_addresses(addresses: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(line.strip() for line in addresses if line.strip()))
    for address in cleaned:
        try:
            validate_email(address)
        except ValidationError:
            raise ActionRefused(
                _("“%(address)s” is not an e-mail address.") % {"address": address},
                field="addresses",
            ) from None
    if len(cleaned) > MAX_ADDRESSES:
        raise ActionRefused(_("Too many addresses."), field="addresses")
    return cleaned


def _name_taken(name: str, *, but: int | None = None) -> bool:
    taken = DistributionList.objects.filter(name__iexact=name)
    if but is not None:
        taken = taken.exclude(pk=but)
    return taken.exists()


@transaction.atomic
def add_team_distribution_list(
    team: Team, *, name: str, addresses: list[str], by: User, language: str = ""
) -> DistributionList:
    """A new distribution list managed by the team's admins (``addresses``: one each)."""
    name, cleaned = _checked_name(name), _checked_addresses(addresses)
    language = _checked_language(language)
    Team.objects.select_for_update().get(pk=team.pk)
    if _name_taken(name):
        raise ActionRefused(_("A distribution list has this name already."), field="name")
    return DistributionList.objects.create(
        team=team, name=name, addresses="\n".join(cleaned), language=language
    )


@transaction.atomic
def update_team_distribution_list(
    distribution: DistributionList,
    *,
    name: str,
    addresses: list[str],
    by: User,
    language: str | None = None,
) -> DistributionList:
    """Rename the list, replace its addresses and, given one, change its language."""
    name, cleaned = _checked_name(name), _checked_addresses(addresses)
    distribution = DistributionList.objects.select_for_update().get(pk=distribution.pk)
    if _name_taken(name, but=distribution.pk):
        raise ActionRefused(_("A distribution list has this name already."), field="name")
    distribution.name, distribution.addresses = name, "\n".join(cleaned)
    if language is not None:
        distribution.language = _checked_language(language)
    distribution.save(update_fields=["name", "addresses", "language"])
    return distribution


@transaction.atomic
def remove_team_distribution_list(distribution: DistributionList, *, by: User) -> None:
    """Delete the list; mail already sent is recorded per address, not per list."""
    DistributionList.objects.filter(pk=distribution.pk).delete()
