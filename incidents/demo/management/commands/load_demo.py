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
from incidents.after import actions as after_actions
from incidents.models import (
    OPEN_STATUSES,
    EntryKind,
    Incident,
    Preferences,
    Product,
    Role,
    Service,
    Team,
    TheoryState,
)
from incidents.support import actions as support_actions
from incidents.support.models import SupportCase
from incidents.workspace import actions as workspace_actions
from incidents.workspace.models import Affected

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
    # Works in Korean, in Seoul: the portal speaks Korean to her whatever the browser says.
    "jiwoo": ("incident manager", "김 지우"),
}
KOREAN = {"jiwoo"}
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
# The services each product runs on: their deployments are suspects when it is affected.
PRODUCT_SERVICES = {
    "web-app": ["web-frontend", "api-gateway", "auth"],
    "mobile-app": ["api-gateway", "auth"],
    "public-api": ["api-gateway"],
    "billing": ["payments-api", "billing-worker"],
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
            product, _ = Product.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description}
            )
            product.services.add(*Service.objects.filter(slug__in=PRODUCT_SERVICES[slug]))
        if not Incident.objects.exists():
            self._incidents(people)
        self._workspace(people)
        self._support_cases(people)
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
            if username in KOREAN:
                Preferences.objects.get_or_create(
                    person=user, defaults={"language": "ko", "time_zone": "Asia/Seoul"}
                )
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

    def _workspace(self, people: dict[str, Any]) -> None:
        """Roles, an assessment, changes and a theory on the open SSO incident, and the
        deployments CI/CD reported around it. Skipped once it has an assessment, so a
        second load (or a database from before the workspace) adds nothing twice."""
        login = Incident.objects.filter(summary="Login fails for SSO customers").first()
        if login is None or not login.is_open or login.assessments.exists():
            return
        started = login.impact_started_at or login.created_at
        auth = Service.objects.get(slug="auth")
        deploy, _ = workspace_actions.report_service_change(
            auth,
            summary="auth v2.14.0: new SAML library",
            happened_at=started - timedelta(minutes=10),
            author="ci-bot",
            url="https://ci.example.com/auth/deploys/2140",
            external_id="demo-auth-2140",
        )
        workspace_actions.report_service_change(
            Service.objects.get(slug="api-gateway"),
            summary="Raise the rate limit for /oauth",
            happened_at=started - timedelta(minutes=70),
            kind="config",
            author="priya",
            external_id="demo-gateway-cfg-88",
        )
        workspace_actions.report_service_change(
            Service.objects.get(slug="web-frontend"),
            summary="Turn on the new login page for 50%",
            happened_at=started + timedelta(minutes=12),
            kind="feature_flag",
            author="lena",
            external_id="demo-frontend-flag",
        )
        lars = people["lars"]
        actions.assign_role(
            login, person=people["priya"], role=Role.TECH_LEAD, by=lars, scope="SAML errors"
        )
        actions.assign_role(login, person=people["tomas"], role=Role.COMMS_INTERNAL, by=lars)
        actions.assign_role(
            login, person=people["manager"], role=Role.CUSTOM, custom_name="Scribe", by=lars
        )
        workspace_actions.save_assessment(
            login,
            by=lars,
            affected=Affected.SOME,
            customer_experience="SSO customers land on an error page after signing in.",
            external_impact="Every customer on SAML single sign-on; password logins work.",
            internal_impact="Support sees a wave of login tickets.",
            started_at=started,
            support_cases=7,
            social_media=True,
        )
        theory = workspace_actions.suspect_service_change(login, deploy, by=people["priya"]).theory
        actions.add_timeline_entry(
            login,
            kind=EntryKind.EXPERIMENT,
            text="Roll back auth on one canary node and compare the /saml/acs error rate.",
            theory=theory,
            by=people["priya"],
        )
        workspace_actions.decide_theory(
            theory, state=TheoryState.CONFIRMED, by=lars, note="The canary has no errors."
        )
        workspace_actions.roll_back_service_change(
            login, deploy, by=people["priya"], how="deploy auth v2.13.4"
        )
        workspace_actions.save_workstream(
            login, by=lars, name="Roll back", goal="auth v2.13.4 everywhere", lead=people["priya"]
        )
        workspace_actions.save_workstream(
            login,
            by=lars,
            name="Customer follow-up",
            goal="Tell the SSO customers with open cases",
            lead=people["tomas"],
        )
        after_actions.add_cleanup_task(
            login,
            by=lars,
            title="Add a SAML login check to the deploy pipeline",
            owner=people["priya"],
            due=(timezone.now() + timedelta(days=7)).date(),
            link="https://issues.example.com/AUTH-311",
        )

    def _support_cases(self, people: dict[str, Any]) -> None:
        """Cases from the support desk; a few labelled to the open incidents. Upserts by
        reference, and labels only cases still unlabelled, so a second run adds nothing."""
        now = timezone.now()
        for index, (reference, name, organisation, subject) in enumerate(CASES):
            support_actions.upsert_case(
                reference=reference,
                customer_name=name,
                organisation=organisation,
                contact_email=f"{name.split()[0].lower()}@{organisation.split()[0].lower()}.example",
                subject=subject,
                opened_at=now - timedelta(minutes=20 + 7 * index),
            )
        for summary, references in CASE_LABELS.items():
            incident = Incident.objects.filter(summary=summary, status__in=OPEN_STATUSES).first()
            unlabelled = list(
                SupportCase.objects.filter(
                    reference__in=references, label__isnull=True
                ).values_list("reference", flat=True)
            )
            if incident is not None and unlabelled:
                support_actions.label_cases(
                    key=incident.key, references=unlabelled, by=people["support"]
                )


CASES = [
    ("SD-10231", "Ana Lima", "Acme Corp", "SSO login shows an error page"),
    ("SD-10232", "Ben Okafor", "Globex", "Cannot sign in with SAML"),
    ("SD-10233", "Chen Wei", "Initech", "Login loop after the update"),
    ("SD-10234", "Dana Levi", "Umbrella Ltd", "Integration gets 502 errors"),
    ("SD-10235", "Emil Berg", "Hooli", "API calls fail intermittently"),
    ("SD-10236", "Fatima Zahra", "Acme Corp", "Mobile app is slow"),
    ("SD-10237", "Goran Ilic", "Stark Industries", "Invoice question"),
]
# Which open demo incident each case belongs to; the others stay unlabelled for trying.
CASE_LABELS = {
    "Login fails for SSO customers": ["SD-10231", "SD-10232", "SD-10233"],
    "API returns 502 for some requests": ["SD-10234", "SD-10235"],
}
