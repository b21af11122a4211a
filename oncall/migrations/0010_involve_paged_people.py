"""People paged before involvement existed become involved in the incident they were
paged for, so they may open it when it is restricted, as people paged since. Re-runnable."""

from django.db import migrations


def involve_paged(apps, schema_editor):
    Page = apps.get_model("oncall", "Page")
    Involvement = apps.get_model("incidents", "Involvement")
    pairs = (
        Page.objects.filter(user__isnull=False)
        .values_list("incident_id", "user_id")
        .distinct()
        .iterator(chunk_size=2000)
    )
    batch = []
    for incident_id, user_id in pairs:
        batch.append(Involvement(incident_id=incident_id, person_id=user_id, reason="paged"))
        if len(batch) == 1000:
            Involvement.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Involvement.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("oncall", "0009_page_offered_until"),
        ("incidents", "0016_involvement"),
    ]

    operations = [migrations.RunPython(involve_paged, migrations.RunPython.noop)]
