"""Heartbeats (a ping expected every interval, its deadline in the database) and
maintenance windows (alerts recorded in groups marked with the window, no incident)."""

import datetime

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oncall", "0012_personal_on_call"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("pending", "Received, not processed yet"),
                    ("created", "Opened an incident"),
                    ("deduplicated", "Added to an open group"),
                    ("acknowledged", "Acknowledged"),
                    ("resolved", "Resolved its group"),
                    ("ignored", "Ignored"),
                    ("maintenance", "Received during maintenance"),
                    ("rejected", "Rejected"),
                    ("failed", "Could not be processed"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="Heartbeat",
            fields=[
                (
                    "integration",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="heartbeat",
                        serialize=False,
                        to="oncall.integration",
                    ),
                ),
                ("interval", models.DurationField(help_text="How often the job or monitor pings.")),
                (
                    "grace",
                    models.DurationField(
                        help_text="How late a ping may be before it counts as missed."
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting for the first ping"),
                            ("up", "Up"),
                            ("missed", "Missed"),
                        ],
                        default="waiting",
                        max_length=10,
                    ),
                ),
                ("last_ping_at", models.DateTimeField(blank=True, null=True)),
                ("next_expected_at", models.DateTimeField()),
                ("missed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("state", "missed"), _negated=True),
                        fields=["next_expected_at"],
                        name="heartbeat_due",
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("interval__gt", datetime.timedelta(0))),
                        name="heartbeat_interval_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("grace__gte", datetime.timedelta(0))),
                        name="heartbeat_grace_not_negative",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="MaintenanceWindow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("starts_at", models.DateTimeField()),
                ("ends_at", models.DateTimeField()),
                ("reason", models.CharField(max_length=300)),
                ("cancelled", models.BooleanField(default=False)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "ended_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "integration",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="maintenance_windows",
                        to="oncall.integration",
                    ),
                ),
                (
                    "service",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="maintenance_windows",
                        to="incidents.service",
                    ),
                ),
            ],
            options={
                "ordering": ["-starts_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="alertgroup",
            name="maintenance",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="alert_groups",
                to="oncall.maintenancewindow",
            ),
        ),
        migrations.AddIndex(
            model_name="maintenancewindow",
            index=models.Index(fields=["service", "ends_at"], name="maintenance_service_end"),
        ),
        migrations.AddIndex(
            model_name="maintenancewindow",
            index=models.Index(
                fields=["integration", "ends_at"], name="maintenance_integration_end"
            ),
        ),
        migrations.AddConstraint(
            model_name="maintenancewindow",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("integration__isnull", True), ("service__isnull", False)),
                    models.Q(("integration__isnull", False), ("service__isnull", True)),
                    _connector="OR",
                ),
                name="maintenance_service_xor_integration",
            ),
        ),
        migrations.AddConstraint(
            model_name="maintenancewindow",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                name="maintenance_ends_after_start",
            ),
        ),
    ]
