"""Demo rosters for the demo teams of ``load_demo`` (idempotent; run it after that).

Every team gets an IM rotation, the IMOC gets the incident managers, each team an
escalation policy and each person an e-mail contact method, so a severity-1 incident
created in ``make run`` pages someone (to the console e-mail backend).
"""

from datetime import time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from incidents.models import Team
from oncall import actions
from oncall.models import (
    IMOC_SLUG,
    ContactMethod,
    EscalationPolicy,
    EscalationStep,
    Roster,
    TeamAdmin,
)

# team slug -> (roster name, shift unit, length, hand-off hour, time zone, people in order)
ROSTERS = {
    "platform": ("Platform IM", "weeks", 1, 9, "Europe/Paris", ["manager", "responder", "priya"]),
    "payments": ("Payments IM", "days", 1, 10, "America/New_York", ["imani", "tomas"]),
    "identity": ("Identity IM", "weeks", 1, 9, "Europe/Berlin", ["lars", "priya"]),
    "support": ("Support lead", "hours", 8, 0, "UTC", ["support", "kenji", "lena"]),
}
IMOC_PEOPLE = ["manager", "imani", "lars"]
TEAM_ADMINS = {"platform": "manager", "payments": "imani", "identity": "lars"}


class Command(BaseCommand):
    help = "Load demo rosters, escalation policies and contact methods (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_DATA:
            self.stdout.write("DEMO_DATA is off: no demo rosters loaded.")
            return
        people = {user.username: user for user in User.objects.all()}
        if "manager" not in people:
            self.stdout.write("Run `manage.py load_demo` first: the demo people are missing.")
            return
        admin = people.get("admin") or people["manager"]
        # Started four weeks ago, so the calendar shows rotations already under way.
        start = timezone.localdate() - timedelta(weeks=4)
        for team_slug, (name, unit, length, hour, zone, members) in ROSTERS.items():
            team = Team.objects.filter(slug=team_slug).first()
            if team is None:
                continue
            roster = Roster.objects.filter(slug=f"{team_slug}-im").first()
            if roster is None:
                roster = actions.create_roster(
                    slug=f"{team_slug}-im",
                    team=team,
                    name=name,
                    by=admin,
                    participants=[people[u] for u in members],
                    shift_unit=unit,
                    shift_length=length,
                    handoff_time=time(hour),
                    start_date=start,
                    time_zone=zone,
                )
            policy, created = EscalationPolicy.objects.get_or_create(
                team=team, defaults={"repeat": 1}
            )
            if created:
                EscalationStep.objects.create(
                    policy=policy, position=0, wait_minutes=5, roster=roster
                )
                EscalationStep.objects.create(
                    policy=policy, position=1, wait_minutes=10, user=people[members[0]]
                )
        imoc = Roster.objects.get(slug=IMOC_SLUG)
        if not imoc.participants.exists():
            actions.change_rotation(
                imoc,
                by=admin,
                effective=actions.NOW,
                participants=[people[u] for u in IMOC_PEOPLE],
                time_zone="Europe/London",
            )
        for team_slug, username in TEAM_ADMINS.items():
            team = Team.objects.filter(slug=team_slug).first()
            if team is not None:
                TeamAdmin.objects.get_or_create(team=team, user=people[username])
        for user in people.values():
            if user.email:
                ContactMethod.objects.get_or_create(user=user, kind="email", target=user.email)
        self.stdout.write(f"Demo rosters: {Roster.objects.count()} (with the IMOC).")
