# The metrics change log names the incident a change moved: a process that keeps the
# month patches it with that incident's figures instead of reading the month again. Rows
# logged before name none, and their months are read again as before.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0026_label_history_checked_by_the_case"),
    ]

    operations = [
        migrations.AddField(
            model_name="figureschange",
            name="figures",
            field=models.ForeignKey(
                db_column="incident_id",
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="incidents.incidentfigures",
                verbose_name="incident",
            ),
        ),
    ]
