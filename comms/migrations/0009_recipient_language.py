# Outgoing messages in the recipient's language: a list's, a chat destination's and a
# subscriber's own (empty: the portal's default).
from django.db import migrations, models

LANGUAGES = [("en", "English"), ("ko", "한국어")]


class Migration(migrations.Migration):
    dependencies = [("comms", "0008_team_destinations")]

    operations = [
        migrations.AddField(
            model_name="chatwebhook",
            name="language",
            field=models.CharField(
                blank=True,
                choices=LANGUAGES,
                help_text="The language of its messages. Empty: the portal's.",
                max_length=10,
                verbose_name="language",
            ),
        ),
        migrations.AddField(
            model_name="distributionlist",
            name="language",
            field=models.CharField(
                blank=True,
                choices=LANGUAGES,
                help_text="The language of its mail; its teams' members get theirs. "
                "Empty: the portal's.",
                max_length=10,
                verbose_name="language",
            ),
        ),
        migrations.AddField(
            model_name="subscriber",
            name="language",
            field=models.CharField(
                blank=True, choices=LANGUAGES, max_length=10, verbose_name="language"
            ),
        ),
    ]
