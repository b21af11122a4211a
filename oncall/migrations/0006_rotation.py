"""Rotation versions: a roster's rotation keeps its history as rows effective from an
instant. Participants move into a version (filled by 0007, required by 0008)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import oncall.models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("oncall", "0005_deliveryattempt_gave_up"),
    ]

    operations = [
        migrations.CreateModel(
            name="Rotation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("effective_from", models.DateTimeField()),
                ("start_date", models.DateField()),
                ("handoff_time", models.TimeField()),
                ("shift_length", models.PositiveSmallIntegerField()),
                (
                    "shift_unit",
                    models.CharField(
                        choices=[("hours", "hours"), ("days", "days"), ("weeks", "weeks")],
                        max_length=5,
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(max_length=64, validators=[oncall.models.validate_time_zone]),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "roster",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rotations",
                        to="oncall.roster",
                    ),
                ),
            ],
            options={
                "ordering": ["roster", "effective_from"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("roster", "effective_from"), name="rotation_effective_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("shift_length__gte", 1)), name="rotation_shift_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("shift_unit__in", ["hours", "days", "weeks"])),
                        name="rotation_shift_unit_valid",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="participant",
            name="rotation",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="members",
                to="oncall.rotation",
            ),
        ),
        migrations.RemoveConstraint(model_name="participant", name="participant_once"),
        migrations.RemoveConstraint(model_name="participant", name="participant_position"),
    ]
