"""On-call admin in the portal: archived rosters, step kinds (a person, a roster, the
whole team, the IMOC), and the plan an escalation started with."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oncall", "0010_involve_paged_people")]

    operations = [
        migrations.RemoveConstraint(
            model_name="escalationstep",
            name="step_roster_xor_user",
        ),
        migrations.AddField(
            model_name="escalation",
            name="plan",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="escalationstep",
            name="kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("roster", "Notify the roster's on-call"),
                    ("user", "Notify a person"),
                    ("team", "Notify the whole team"),
                    ("imoc", "Notify the IMOC"),
                ],
                default="",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="roster",
            name="archived_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name="escalationstep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("kind__in", ["", "roster"]),
                        ("roster__isnull", False),
                        ("user__isnull", True),
                    ),
                    models.Q(
                        ("kind__in", ["", "user"]),
                        ("roster__isnull", True),
                        ("user__isnull", False),
                    ),
                    models.Q(
                        ("kind__in", ["team", "imoc"]),
                        ("roster__isnull", True),
                        ("user__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="step_target_matches_kind",
            ),
        ),
    ]
