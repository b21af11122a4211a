"""Recompute the metrics' roll-ups from the incidents: after rows were written straight
into the tables (an import, a benchmark's fill), or to check them."""

from typing import Any

from django.core.management.base import BaseCommand

from incidents.support import rollups


class Command(BaseCommand):
    help = "Recompute the TTD/TTR roll-ups (per incident and per month) from the incidents."

    def handle(self, *args: Any, **options: Any) -> None:
        cells = rollups.rebuild()
        self.stdout.write(f"Rebuilt the metrics: {cells} month cells.")
