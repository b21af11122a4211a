"""Recompute every incident's metrics figures from the incidents: after rows were written straight
into the tables (an import, a benchmark's fill), or to check them."""

from typing import Any

from django.core.management.base import BaseCommand

from incidents.support import figures


class Command(BaseCommand):
    help = "Recompute every incident's TTD/TTR figures from the incidents."

    def handle(self, *args: Any, **options: Any) -> None:
        count = figures.rebuild()
        self.stdout.write(f"Rebuilt the metrics: figures of {count} incidents.")
