"""Demo communications for a first start: a distribution list, product statuses, a
published initial communication (internal and external) for each open sev-1/2 incident,
and an upcoming scheduled maintenance, so the status pages have content. Idempotent:
what exists is left alone."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from comms import actions, selectors
from comms.maintenance import actions as maintenance_actions
from comms.models import Audience, Communication, DistributionList, Kind, Maintenance, State
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
        self._plan_maintenance()
        self.stdout.write(self.style.SUCCESS("Demo communications ready."))

    def _plan_maintenance(self) -> None:
        product = maintenance_actions.plannable_products().order_by("name").first()
        planner = self._publisher()
        if Maintenance.objects.exists() or product is None or planner is None:
            return
        # Three nights from now, 02:00-04:00 UTC: upcoming whenever the demo starts.
        start = (timezone.now() + timedelta(days=3)).replace(
            hour=2, minute=0, second=0, microsecond=0
        )
        maintenance_actions.plan_maintenance(
            title=f"{product.name} database upgrade",
            message=f"{product.name} may be read-only for up to two hours while its "
            "database is upgraded. Nothing needs to be done on your side.",
            products=[product],
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            by=planner,
        )

    def _publisher(self) -> Any:
        users = get_user_model()._default_manager
        return (
            users.filter(groups__permissions__codename="publish_communication")
            .order_by("pk")
            .first()
        )
