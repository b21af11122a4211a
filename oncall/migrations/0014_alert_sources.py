"""Alert sources: the tool's own start and end of an alert group and what it says about
it (labels, annotations, links, details); change events kept as received; routing keys
redacted from the payloads stored before keys were redacted on arrival."""

import re

from django.db import migrations, models

# A key is shown once: PagerDuty payloads stored earlier kept their routing_key.
ROUTING_KEY = re.compile(r'("routing_key"\s*:\s*")(?:[^"\\]|\\.)*(")')


def redact_routing_keys(apps, schema_editor):
    Alert = apps.get_model("oncall", "Alert")
    stored = Alert.objects.filter(payload__contains='"routing_key"').only("pk", "payload")
    for alert in stored.iterator(chunk_size=500):
        redacted = ROUTING_KEY.sub(r"\1[redacted]\2", alert.payload)
        if redacted != alert.payload:
            Alert.objects.filter(pk=alert.pk).update(payload=redacted)


class Migration(migrations.Migration):
    dependencies = [("oncall", "0013_heartbeats_maintenance")]

    operations = [
        migrations.AddField(
            model_name="alertgroup",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="alertgroup",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="alertgroup",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
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
                    ("change", "Recorded a change"),
                    ("failed", "Could not be processed"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(redact_routing_keys, migrations.RunPython.noop, elidable=True),
    ]
