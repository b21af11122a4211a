"""Today's rotations become each roster's first version, effective from its first
hand-off (start date at hand-off time, local), with its participants in order.
Safe to run twice (the test suite re-runs data migrations after a flush)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db import migrations


def first_versions(apps, schema_editor):
    Roster = apps.get_model("oncall", "Roster")
    Rotation = apps.get_model("oncall", "Rotation")
    Participant = apps.get_model("oncall", "Participant")
    # Idempotent: a roster that has versions already keeps them.
    for roster in Roster.objects.filter(rotations__isnull=True):
        local = datetime.combine(roster.start_date, roster.handoff_time)
        start = local.replace(tzinfo=ZoneInfo(roster.time_zone), fold=0).astimezone(UTC)
        rotation = Rotation.objects.create(
            roster=roster,
            effective_from=start,
            start_date=roster.start_date,
            handoff_time=roster.handoff_time,
            shift_length=roster.shift_length,
            shift_unit=roster.shift_unit,
            time_zone=roster.time_zone,
        )
        Participant.objects.filter(roster=roster).update(rotation=rotation)


def back_to_one_rotation(apps, schema_editor):
    """Keep each roster's newest version's participants, as before versions."""
    Rotation = apps.get_model("oncall", "Rotation")
    Participant = apps.get_model("oncall", "Participant")
    newest = {}
    for rotation in Rotation.objects.order_by("roster_id", "effective_from"):
        newest[rotation.roster_id] = rotation.pk
    Participant.objects.exclude(rotation_id__in=newest.values()).delete()


class Migration(migrations.Migration):
    dependencies = [("oncall", "0006_rotation")]

    operations = [migrations.RunPython(first_versions, back_to_one_rotation)]
