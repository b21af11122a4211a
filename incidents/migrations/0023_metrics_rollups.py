# Each incident's metrics figures (issue 15), filled from the incidents already recorded.
import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models


def backfill(apps, schema_editor):
    from incidents.support.figures import rebuild

    rebuild(apps.get_model("incidents", "Incident"), apps.get_model("incidents", "IncidentFigures"))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0022_timeline_rendering")]

    operations = [
        migrations.CreateModel(
            name="IncidentFigures",
            fields=[
                (
                    "incident",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="figures",
                        serialize=False,
                        to="incidents.incident",
                    ),
                ),
                ("month", models.DateField()),
                ("severity", models.PositiveSmallIntegerField()),
                ("started", models.BooleanField()),
                ("ttd_us", models.BigIntegerField(null=True)),
                ("ttr_us", models.BigIntegerField(null=True)),
                (
                    "service",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="incidents.service",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="incidentfigures",
            index=models.Index(fields=["month", "severity"], name="incident_figures_month"),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                django.db.models.functions.comparison.Coalesce("impact_started_at", "created_at"),
                condition=models.Q(("restricted", True)),
                name="incident_restricted_period",
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(
                    ("impact_started_at__isnull", True),
                    ("detected_at__isnull", True),
                    models.Q(
                        ("impact_ended_at__isnull", True), ("status__in", ("resolved", "reviewed"))
                    ),
                    _connector="OR",
                ),
                fields=["number"],
                name="incident_missing_times",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
