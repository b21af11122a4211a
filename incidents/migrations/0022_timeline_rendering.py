"""Name the shape of the old system entries whose facts were already stored in full,
so they too are shown in each reader's language (``incidents.entry_texts``).

Only status changes, severity changes and claims qualify; a row is marked only when
its stored text is exactly what its shape writes in English from those facts, so a
row that does not fit keeps showing its text. Other old entries show their text."""

import re

from django.db import migrations

# The English labels as the entries were written (Status.label).
STATUS_LABELS = {"new": "New", "fixing": "Fixing", "resolved": "Resolved", "reviewed": "Reviewed"}
SEVERITY = re.compile(r"Severity (\d) → (\d)\.(?: (?P<reason>.+))?", re.DOTALL)


def _shaped(kind, text, data):
    """The row's new data, or None when the row does not fit a shape exactly."""
    if kind == "status" and {"from", "to"} <= set(data):
        old, new = STATUS_LABELS.get(data["from"]), STATUS_LABELS.get(data["to"])
        if old and new and text == f"Status {old} → {new}.":
            return {**data, "text_id": "incident.status"}
    elif kind == "severity" and {"from", "to"} <= set(data):
        match = SEVERITY.fullmatch(text)
        if match and (int(match[1]), int(match[2])) == (data["from"], data["to"]):
            return {**data, "text_id": "incident.severity", "reason": match["reason"] or ""}
    elif kind == "assignee" and data.get("to") and text == f"{data['to']} claimed the incident.":
        return {**data, "text_id": "incident.claimed", "who": data["to"]}
    return None


def name_shapes(apps, schema_editor):
    TimelineEntry = apps.get_model("incidents", "TimelineEntry")
    rows = (
        TimelineEntry.objects.filter(kind__in=("status", "severity", "assignee"))
        .exclude(data__has_key="text_id")
        .only("kind", "text", "data")
    )
    batch = []
    for entry in rows.iterator(chunk_size=2000):
        data = _shaped(entry.kind, entry.text, entry.data or {})
        if data is not None:
            entry.data = data
            batch.append(entry)
        if len(batch) >= 1000:
            TimelineEntry.objects.bulk_update(batch, ["data"])
            batch = []
    TimelineEntry.objects.bulk_update(batch, ["data"])


class Migration(migrations.Migration):
    dependencies = [("incidents", "0021_translatable_field_names")]

    operations = [migrations.RunPython(name_shapes, migrations.RunPython.noop, elidable=True)]
