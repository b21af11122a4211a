"""The built-in IMOC roster, and the admin group's right to edit every roster."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_PERMISSIONS = [
    f"{action}_{model}"
    for model in (
        "roster",
        "participant",
        "override",
        "escalationpolicy",
        "escalationstep",
        "teamadmin",
    )
    for action in ("add", "change", "delete", "view")
]


def create_imoc(apps, schema_editor):
    Roster = apps.get_model("oncall", "Roster")
    Roster.objects.get_or_create(
        slug="imoc",
        defaults={"name": "IMOC (incident managers on call)", "shift_unit": "weeks"},
    )


def grant_admins(apps, schema_editor):
    app_config = apps.get_app_config("oncall")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admins = Group.objects.filter(name="admin").first()
    if admins is None:
        return
    admins.permissions.add(
        *Permission.objects.filter(content_type__app_label="oncall", codename__in=ADMIN_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("oncall", "0001_initial"),
        ("incidents", "0002_unknown_service_and_groups"),
    ]

    operations = [
        migrations.RunPython(create_imoc, migrations.RunPython.noop),
        migrations.RunPython(grant_admins, migrations.RunPython.noop),
    ]
