"""Teams Workflows (Adaptive Card) joins the chat formats; "teams" keeps meaning a
connector's MessageCard, so destinations set up before keep working as they were.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("comms", "0005_status_page")]

    operations = [
        migrations.AlterField(
            model_name="chatwebhook",
            name="format",
            field=models.CharField(
                choices=[
                    ("slack", "Slack (Block Kit)"),
                    ("teams", "Microsoft Teams connector (MessageCard)"),
                    ("teams_workflows", "Microsoft Teams Workflows (Adaptive Card)"),
                ],
                default="slack",
                max_length=20,
            ),
        ),
    ]
