"""Every participant belongs to a rotation version, once and in one place in it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oncall", "0007_rotation_data")]

    operations = [
        migrations.AlterModelOptions(
            name="participant", options={"ordering": ["rotation", "position"]}
        ),
        migrations.AlterField(
            model_name="participant",
            name="rotation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="members",
                to="oncall.rotation",
            ),
        ),
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.UniqueConstraint(
                fields=("rotation", "user"), name="participant_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.UniqueConstraint(
                fields=("rotation", "position"), name="participant_position"
            ),
        ),
    ]
