"""Admins manage distribution lists, chat webhooks, outgoing webhooks and subscribers."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ["distributionlist", "chatwebhook", "webhook", "subscriber"]
PERMS = [f"{action}_{model}" for model in MODELS for action in ("add", "change", "delete", "view")]
READ = ["view_outboundemail", "view_chatmessage", "view_webhookdelivery"]


def grant(apps, schema_editor):
    comms = apps.get_app_config("comms")
    comms.models_module = True
    create_permissions(comms, apps=apps, verbosity=0)
    comms.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin = Group.objects.filter(name="admin").first()
    if admin is not None:
        admin.permissions.add(
            *Permission.objects.filter(content_type__app_label="comms", codename__in=PERMS + READ)
        )


class Migration(migrations.Migration):
    dependencies = [("comms", "0001_initial")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
