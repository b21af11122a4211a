"""Case references in one form, upper-cased (``support.actions.normalize_reference``):
sd-10231 and SD-10231 are one case, as issue keys are. Every lookup stays a plain
equality on the unique ``reference`` index, on PostgreSQL and SQLite alike.

References that differed only in case name one desk ticket typed two ways: they are
merged into one case. The one kept is the labelled one (the latest labelled if both
are), else the latest updated; it takes the others' label history, and blank details
are filled from them, and a follow-up sent under either spelling counts. Not reversible in content (the old spelling is not kept); going
back leaves the references upper-cased, which the old code reads as before."""

from collections import defaultdict

from django.db import migrations

DETAILS = ("customer_name", "organisation", "contact_email", "subject")


def normalize(reference):
    return reference.strip().upper()


def _chunks(values, size=500):
    # SQLite caps the variables of one statement; a big desk has more cases than that.
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _rank(case):
    labelled = case.label_id is not None
    when = (case.labelled_at or case.updated_at) if labelled else case.updated_at
    return (labelled, when, -case.pk)


def upper_case_references(apps, schema_editor):
    SupportCase = apps.get_model("incidents", "SupportCase")
    LabelChange = apps.get_model("incidents", "LabelChange")
    rows = SupportCase.objects.values_list("pk", "reference").iterator(chunk_size=2000)
    to_change = {pk: normalize(ref) for pk, ref in rows if normalize(ref) != ref}
    if not to_change:
        return
    # Every case already holding or about to take each normal form, changed or not.
    wanted = sorted(set(to_change.values()))
    groups = defaultdict(list)
    for chunk in _chunks(wanted):
        for case in SupportCase.objects.filter(reference__in=chunk):
            groups[case.reference].append(case)
    for chunk in _chunks(sorted(to_change)):
        for case in SupportCase.objects.filter(pk__in=chunk):
            groups[to_change[case.pk]].append(case)
    for reference, cases in groups.items():
        keep = max(cases, key=_rank)
        others = [case for case in cases if case.pk != keep.pk]
        for case in others:
            for name in DETAILS:
                if not getattr(keep, name) and getattr(case, name):
                    setattr(keep, name, getattr(case, name))
            keep.opened_at = min(keep.opened_at, case.opened_at)
            # A customer followed up under either spelling is never mailed again.
            if case.followed_up_at and (
                keep.followed_up_at is None or case.followed_up_at < keep.followed_up_at
            ):
                keep.followed_up_at = case.followed_up_at
        if others:
            LabelChange.objects.filter(case__in=others).update(case=keep)
            SupportCase.objects.filter(pk__in=[case.pk for case in others]).delete()
        keep.reference = reference
        keep.save()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0016_involvement")]

    operations = [
        migrations.RunPython(upper_case_references, migrations.RunPython.noop, elidable=True),
    ]
