"""Scheduled maintenances of the public status page (comms/maintenance/)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

STATUSES = [
    ("scheduled", "Scheduled"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("comms", "0003_reminded_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Maintenance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=200, verbose_name="title")),
                (
                    "message",
                    models.TextField(
                        help_text="What customers should expect.", verbose_name="message"
                    ),
                ),
                ("starts_at", models.DateTimeField(verbose_name="starts at")),
                ("ends_at", models.DateTimeField(verbose_name="ends at")),
                (
                    "status",
                    models.CharField(
                        choices=STATUSES, default="scheduled", max_length=12, verbose_name="status"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="maintenances",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "products",
                    models.ManyToManyField(
                        related_name="maintenances", to="incidents.product", verbose_name="products"
                    ),
                ),
            ],
            options={
                "verbose_name": "scheduled maintenance",
                "verbose_name_plural": "scheduled maintenances",
                "ordering": ["starts_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="MaintenanceUpdate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("status", models.CharField(choices=STATUSES, max_length=12)),
                ("body", models.TextField()),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="maintenance_updates",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "maintenance",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="updates",
                        to="comms.maintenance",
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.AddIndex(
            model_name="maintenance",
            index=models.Index(fields=["status", "starts_at"], name="sched_maint_due_start"),
        ),
        migrations.AddIndex(
            model_name="maintenance",
            index=models.Index(fields=["status", "ends_at"], name="sched_maint_due_end"),
        ),
        migrations.AddConstraint(
            model_name="maintenance",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status__in", ["scheduled", "in_progress", "completed", "cancelled"])
                ),
                name="scheduled_maintenance_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="maintenance",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                name="scheduled_maintenance_ends_after_start",
            ),
        ),
    ]
