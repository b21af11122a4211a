# Paging events keep their facts beside their English text, to be shown in each
# reader's language (oncall.event_texts). Older events have no facts: they show their text.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oncall", "0014_alert_sources")]

    operations = [
        migrations.AddField(
            model_name="pagingevent",
            name="data",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
