# The metrics figures' change log: the versions (the whole page's and each month's) that
# the cached metrics pages and month figures are kept under. Each month already stored
# starts with one change, so its figures have a version before anything changes.
from django.db import migrations, models


def start(apps, schema_editor):
    figures = apps.get_model("incidents", "IncidentFigures")
    change = apps.get_model("incidents", "FiguresChange")
    months = figures.objects.order_by("month").values_list("month", flat=True).distinct()
    change.objects.bulk_create([change(month=month) for month in months])


class Migration(migrations.Migration):
    dependencies = [("incidents", "0024_translatable_field_names")]

    operations = [
        migrations.CreateModel(
            name="FiguresChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("month", models.DateField(null=True, verbose_name="month")),
                ("changes", models.PositiveBigIntegerField(default=1, verbose_name="changes")),
            ],
            options={
                "verbose_name": "metrics change",
                "verbose_name_plural": "metrics changes",
            },
        ),
        migrations.RunPython(start, migrations.RunPython.noop),
    ]
