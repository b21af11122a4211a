# Alert storms: per integration a threshold of new alert groups in a window (on at 20 in
# 5 minutes for new and existing integrations), and the storms it folded.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("oncall", "0015_paging_texts"),
    ]

    operations = [
        migrations.AddField(
            model_name="integration",
            name="storm_threshold",
            field=models.PositiveIntegerField(
                default=20,
                help_text="More new alert groups than this within the window fold into one "
                "alert storm incident, which pages once. 0 turns folding off.",
                verbose_name="storm threshold",
            ),
        ),
        migrations.AddField(
            model_name="integration",
            name="storm_window",
            field=models.PositiveSmallIntegerField(
                default=5,
                help_text="The window the threshold counts new alert groups in.",
                verbose_name="storm window (minutes)",
            ),
        ),
        migrations.AddConstraint(
            model_name="integration",
            constraint=models.CheckConstraint(
                condition=models.Q(("storm_window__gte", 1), ("storm_window__lte", 1440)),
                name="integration_storm_window_valid",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("pending", "Received, not processed yet"),
                    ("created", "Opened an incident"),
                    ("folded", "Folded into an alert storm"),
                    ("deduplicated", "Added to an open group"),
                    ("acknowledged", "Acknowledged"),
                    ("resolved", "Resolved its group"),
                    ("ignored", "Ignored"),
                    ("maintenance", "Received during maintenance"),
                    ("rejected", "Rejected"),
                    ("change", "Recorded a change"),
                    ("failed", "Could not be processed"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="AlertStorm",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("group_count", models.PositiveIntegerField(default=0)),
                ("last_group_at", models.DateTimeField()),
                ("threshold", models.PositiveIntegerField()),
                ("window", models.PositiveSmallIntegerField()),
                (
                    "incident",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alert_storm",
                        to="incidents.incident",
                    ),
                ),
                (
                    "integration",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="storms",
                        to="oncall.integration",
                    ),
                ),
            ],
            options={"ordering": ["-started_at", "-id"]},
        ),
        migrations.AddConstraint(
            model_name="alertstorm",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at__isnull", True)),
                fields=("integration",),
                name="alertstorm_one_open_per_integration",
            ),
        ),
        migrations.AddIndex(
            model_name="alertgroup",
            index=models.Index(fields=["integration", "-first_seen_at"], name="alertgroup_newest"),
        ),
    ]
