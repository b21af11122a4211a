"""Owners of cleanup tasks given before involvement existed become involved, so they
see their task's restricted incident as owners of new tasks do. Re-runnable."""

from django.db import migrations


def involve_owners(apps, schema_editor):
    CleanupTask = apps.get_model("incidents", "CleanupTask")
    Involvement = apps.get_model("incidents", "Involvement")
    pairs = (
        CleanupTask.objects.filter(owner__isnull=False)
        .values_list("incident_id", "owner_id")
        .distinct()
        .iterator(chunk_size=2000)
    )
    batch = []
    for incident_id, owner_id in pairs:
        batch.append(
            Involvement(incident_id=incident_id, person_id=owner_id, reason="owns a cleanup task")
        )
        if len(batch) == 1000:
            Involvement.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Involvement.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0017_case_reference_upper")]

    operations = [migrations.RunPython(involve_owners, migrations.RunPython.noop)]
