"""Issue a token CI/CD uses to report a service's changes; printed once, never stored."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.models import Service
from incidents.workspace import actions as workspace_actions


class Command(BaseCommand):
    help = "Issue a change-report token for one service (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="The service's slug, e.g. payments-api.")
        parser.add_argument("--label", default="", help="Which pipeline will use it.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            service = Service.objects.get(slug=options["service"])
        except Service.DoesNotExist:
            raise CommandError(f"No service {options['service']!r}.") from None
        _, token = workspace_actions.issue_change_token(service, label=options["label"])
        self.stdout.write(token)
