"""Status page interop: each component's status history (uptime bars, old/new statuses),
filled from the external updates already published."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

STATUSES = [
    ("operational", "Operational"),
    ("degraded_performance", "Degraded performance"),
    ("partial_outage", "Partial outage"),
    ("major_outage", "Major outage"),
    ("under_maintenance", "Under maintenance"),
]

WORST_FIRST = [
    "major_outage",
    "partial_outage",
    "degraded_performance",
    "under_maintenance",
    "operational",
]


def replay_published_updates(apps, schema_editor):
    """Replays every published external update in order, as publishing sets a product's
    status (the worst of its unresolved incidents; with none, the update's own status),
    so the history starts with the outages already shown. A status set by hand before
    this release was never recorded and cannot be replayed."""
    Communication = apps.get_model("comms", "Communication")
    Component = apps.get_model("comms", "Component")
    ComponentStatusChange = apps.get_model("comms", "ComponentStatusChange")
    StatusPageIncident = apps.get_model("comms", "StatusPageIncident")
    components = {c.product_id: c for c in Component.objects.all()}
    products: dict[int, set[int]] = {}
    for page_id, product_id in StatusPageIncident.products.through.objects.values_list(
        "statuspageincident_id", "product_id"
    ):
        products.setdefault(page_id, set()).add(product_id)
    updates = (
        Communication.objects.filter(
            state="published",
            audience="external",
            page_incident__isnull=False,
            published_at__isnull=False,
        )
        .order_by("published_at", "id")
        .values_list("pk", "page_incident_id", "page_status", "component_status", "published_at")
    )
    open_statuses: dict[int, dict[int, str]] = {}
    current: dict[int, str] = {}
    rows = []
    for pk, page_id, page_status, component_status, published_at in updates.iterator():
        for product_id in sorted(products.get(page_id, ())):
            component = components.get(product_id)
            if component is None:
                continue
            statuses = open_statuses.setdefault(product_id, {})
            if page_status == "resolved":
                statuses.pop(page_id, None)
            elif component_status:
                statuses[page_id] = component_status
            worst = next((s for s in WORST_FIRST if s in statuses.values()), None)
            new = worst or component_status or current.get(product_id, "operational")
            rows.append(
                ComponentStatusChange(
                    component=component,
                    old_status=current.get(product_id, ""),
                    new_status=new,
                    changed_at=max(published_at, component.created_at),
                    update_id=pk,
                )
            )
            current[product_id] = new
    ComponentStatusChange.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("comms", "0004_scheduled_maintenance")]

    operations = [
        migrations.CreateModel(
            name="ComponentStatusChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("old_status", models.CharField(blank=True, choices=STATUSES, max_length=24)),
                ("new_status", models.CharField(choices=STATUSES, max_length=24)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "component",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="comms.component",
                    ),
                ),
                (
                    "update",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="component_changes",
                        to="comms.communication",
                    ),
                ),
            ],
            options={
                "ordering": ["changed_at", "id"],
                "indexes": [models.Index(fields=["changed_at"], name="component_change_at")],
            },
        ),
        migrations.RunPython(replay_published_updates, migrations.RunPython.noop),
    ]
