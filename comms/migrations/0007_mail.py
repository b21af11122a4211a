"""Per-mail headers on the outbox (a subscriber's List-Unsubscribe)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("comms", "0006_chat_formats")]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="headers",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
