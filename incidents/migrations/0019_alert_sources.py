"""Alert sources: PagerDuty change events are changes of kind "change", with their links,
images and custom details."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("incidents", "0018_involve_cleanup_owners")]

    operations = [
        migrations.RemoveConstraint(
            model_name="servicechange",
            name="service_change_kind_valid",
        ),
        migrations.AddField(
            model_name="servicechange",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="servicechange",
            name="kind",
            field=models.CharField(
                choices=[
                    ("deploy", "Deployment"),
                    ("config", "Configuration change"),
                    ("feature_flag", "Feature flag"),
                    ("change", "Change"),
                ],
                default="deploy",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="servicechange",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["deploy", "config", "feature_flag", "change"])),
                name="service_change_kind_valid",
            ),
        ),
    ]
