import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import incidents.models.people


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0019_alert_sources"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Preferences",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        blank=True,
                        choices=[("en", "English"), ("ko", "한국어")],
                        help_text="Empty: as your browser asks.",
                        max_length=10,
                        verbose_name="language",
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(
                        blank=True,
                        help_text="Empty: your browser's time zone, else the portal's.",
                        max_length=64,
                        validators=[incidents.models.people.validate_time_zone],
                        verbose_name="time zone",
                    ),
                ),
                (
                    "person",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="preferences",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "preferences", "verbose_name_plural": "preferences"},
        ),
    ]
