"""Demo communications for a first start: a distribution list, product statuses, and a
published initial communication (internal and external) for each open sev-1/2 incident,
so the status pages have content. Idempotent: what exists is left alone."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from comms import actions, selectors
from comms.models import Audience, Communication, DistributionList, Kind, State
from incidents.models import OPEN_STATUSES, Incident, Team


class Command(BaseCommand):
    help = "Load demo distribution list, component statuses and initial communications."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_DATA:
            self.stdout.write("Demo data is off (DEMO_DATA unset, DEBUG off): nothing loaded.")
            return
        staff, created = DistributionList.objects.get_or_create(
            is_default=True,
            defaults={
                "name": "Incident communications",
                "addresses": "engineering-leaders@example.com\nmajor-incident-managers@example.com",
            },
        )
        if created:
            staff.teams.add(*Team.objects.all()[:1])
        selectors.public_components()
        incidents = Incident.objects.filter(
            status__in=OPEN_STATUSES, severity__lte=2, restricted=False
        )
        for incident in incidents.order_by("number"):
            author = incident.assignee or self._publisher()
            if author is None:
                continue
            for audience in (Audience.INTERNAL, Audience.EXTERNAL):
                done = Communication.objects.filter(
                    incident=incident, audience=audience, state=State.PUBLISHED
                ).exists()
                if not done:
                    draft = actions.draft_communication(
                        incident, audience=audience, kind=Kind.INITIAL, by=author
                    )
                    actions.publish_communication(draft, by=author)
        self.stdout.write(self.style.SUCCESS("Demo communications ready."))

    def _publisher(self) -> Any:
        users = get_user_model()._default_manager
        return (
            users.filter(groups__permissions__codename="publish_communication")
            .order_by("pk")
            .first()
        )
