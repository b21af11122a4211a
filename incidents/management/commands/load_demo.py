"""Demo data for a first start: people, teams, services, products and a few incidents.

Idempotent: a second run adds nothing. Does nothing unless DEMO_DATA is on (it is by
default only in the embedded, debug set-up), so production never gets demo logins.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from incidents import actions
from incidents.models import Incident, Product, Service, Team

PASSWORD = "demo"
# username -> (group, full name); the first four are the documented demo logins.
PEOPLE = {
    "admin": ("admin", "Ada Admin"),
    "manager": ("incident manager", "Maya Manager"),
    "responder": ("responder", "Rui Responder"),
    "support": ("support", "Sam Support"),
    "imani": ("incident manager", "Imani Okafor"),
    "lars": ("incident manager", "Lars Berg"),
    "priya": ("responder", "Priya Nair"),
    "tomas": ("responder", "Tomás Silva"),
    "kenji": ("support", "Kenji Sato"),
    "lena": ("support", "Lena Fischer"),
    "sofia": ("security", "Sofia Rossi"),
}
TEAMS = {
    "platform": ("Platform", "platform@example.com", ["manager", "responder", "priya"]),
    "payments": ("Payments", "payments@example.com", ["imani", "tomas"]),
    "identity": ("Identity", "identity@example.com", ["lars", "priya"]),
    "support": ("Customer Support", "support@example.com", ["support", "kenji", "lena"]),
}
SERVICES = {
    "api-gateway": ("API gateway", "platform"),
    "web-frontend": ("Web frontend", "platform"),
    "payments-api": ("Payments API", "payments"),
    "billing-worker": ("Billing worker", "payments"),
    "auth": ("Authentication", "identity"),
}
PRODUCTS = {
    "web-app": ("Web app", "The browser application"),
    "mobile-app": ("Mobile app", "iOS and Android apps"),
    "public-api": ("Public API", "REST API for integrations"),
    "billing": ("Billing", "Invoices, payments and plans"),
}


class Command(BaseCommand):
    help = "Load demo people, teams, services, products and incidents (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_DATA:
            # Production: never create demo logins. Not an error, so `make run` goes on.
            self.stdout.write("Demo data is off (DEMO_DATA unset, DEBUG off): nothing loaded.")
            return
        people = self._people()
        for slug, (name, email, members) in TEAMS.items():
            team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": name, "email": email})
            team.members.add(*(people[username] for username in members))
        for slug, (name, team_slug) in SERVICES.items():
            Service.objects.get_or_create(
                slug=slug, defaults={"name": name, "team": Team.objects.get(slug=team_slug)}
            )
        for slug, (name, description) in PRODUCTS.items():
            Product.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description}
            )
        if not Incident.objects.exists():
            self._incidents(people)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _people(self) -> dict[str, Any]:
        User = get_user_model()
        people = {}
        for username, (group, full_name) in PEOPLE.items():
            first, last = full_name.split(" ", 1)
            user, created = User._default_manager.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                    "is_staff": group == "admin",
                    "is_superuser": username == "admin",
                },
            )
            if created:
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=group))
            people[username] = user
        return people

    def _incidents(self, people: dict[str, Any]) -> None:
        now = timezone.now()
        service = {slug: Service.objects.get(slug=slug) for slug in [*SERVICES, "unknown"]}
        product = {slug: Product.objects.get(slug=slug) for slug in PRODUCTS}

        old = actions.create_incident(
            by=people["support"],
            summary="Invoices show the wrong currency",
            description="Customers in the EU see invoices in USD. Reported by three customers.",
            severity=3,
            faulty_service=service["billing-worker"],
            affected_products=[product["billing"]],
            impact_started_at=now - timedelta(days=6, hours=3),
            detected_at=now - timedelta(days=6, hours=1),
        )
        actions.claim_incident(old, by=people["imani"])
        actions.add_timeline_entry(
            old,
            kind="theory",
            text="The currency table was not refreshed after the last deploy.",
            by=people["tomas"],
        )
        actions.transition_incident(
            old, to="resolved", by=people["imani"], impact_ended_at=now - timedelta(days=5)
        )

        login = actions.create_incident(
            by=people["kenji"],
            summary="Login fails for SSO customers",
            description="SAML logins end on an error page. Contact: kenji@example.com.",
            severity=2,
            faulty_service=service["auth"],
            affected_products=[product["web-app"], product["mobile-app"]],
            impact_started_at=now - timedelta(hours=2, minutes=10),
            detected_at=now - timedelta(hours=1, minutes=55),
        )
        actions.claim_incident(login, by=people["lars"])
        actions.add_timeline_entry(
            login,
            kind="observation",
            text="Error rate on /saml/acs is 40% since 10 minutes after the auth deploy.",
            by=people["priya"],
            occurred_at=now - timedelta(hours=1, minutes=40),
        )
        actions.add_timeline_entry(
            login,
            kind="decision",
            text="Roll back the auth deploy.",
            by=people["lars"],
        )

        actions.create_incident(
            by=people["support"],
            summary="API returns 502 for some requests",
            description="Integrations report intermittent 502s. Contact: support@example.com.",
            severity=1,
            faulty_service=service["api-gateway"],
            affected_products=[product["public-api"], product["web-app"]],
            impact_started_at=now - timedelta(minutes=25),
        )
        actions.create_incident(
            by=people["lena"],
            summary="Slow page loads in the mobile app",
            description="Unsure which service; screens take 10 s to load.",
            severity=3,
            faulty_service=service["unknown"],
            affected_products=[product["mobile-app"]],
        )
