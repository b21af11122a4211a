"""The built-in Unknown service and the groups people are put in, with their permissions.

No users are created here: demo logins come only from ``manage.py load_demo``.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["incidents.view_incident", "incidents.view_timelineentry", "incidents.add_incident"]
CATALOGUE_READ = ["incidents.view_team", "incidents.view_service", "incidents.view_product"]
SUPPORT = [*VIEW, *CATALOGUE_READ, "incidents.label_case"]
RESPONDER = [*SUPPORT, "incidents.add_timelineentry", "incidents.take_role"]
INCIDENT_MANAGER = [
    *RESPONDER,
    "incidents.change_incident",
    "incidents.claim_incident",
    "incidents.assign_role",
    "incidents.publish_communication",
]
ADMIN = [
    *SUPPORT,
    *(
        f"{app}.{action}_{model}"
        for app, model in [
            ("incidents", "team"),
            ("incidents", "service"),
            ("incidents", "product"),
            ("auth", "user"),
        ]
        for action in ("add", "change", "delete", "view")
    ),
    "auth.view_group",
    "authtoken.add_token",
    "authtoken.change_token",
    "authtoken.delete_token",
    "authtoken.view_token",
]
GROUPS = {
    "support": SUPPORT,
    "responder": RESPONDER,
    "incident manager": INCIDENT_MANAGER,
    "admin": ADMIN,
    "security": [*VIEW, "incidents.view_restricted_incident"],
}


def create_unknown_service(apps, schema_editor):
    Service = apps.get_model("incidents", "Service")
    Service.objects.get_or_create(slug="unknown", defaults={"name": "Unknown"})


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [
        migrations.RunPython(create_unknown_service, migrations.RunPython.noop),
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
