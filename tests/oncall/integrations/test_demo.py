"""The demo integration of ``make run``."""

from django.core.management import call_command

from incidents.models import Incident
from oncall.integrations.models import Alert, AlertGroup, Integration


def test_demo_integration_loads_twice_with_its_payloads(db, settings, client_for, capsys):
    settings.DEMO_DATA = True
    call_command("load_demo")
    call_command("load_demo_oncall")
    call_command("load_demo_integrations")
    call_command("load_demo_integrations")
    [integration] = Integration.objects.all()
    outcomes = Alert.objects.filter(integration=integration).order_by("id")
    assert list(outcomes.values_list("outcome", flat=True)) == [
        "created",
        "deduplicated",
        "resolved",
        "rejected",
    ]
    group = AlertGroup.objects.get()
    assert (group.state, group.alert_count) == ("resolved", 3)
    incident = Incident.objects.get(alert_groups=group)
    assert incident.impact_ended_at is not None
    printed = capsys.readouterr().out
    assert "Demo integration: Payments API: Prometheus (demo) with 4 received payloads." in printed
    assert "already loaded" in printed
    admin = integration.created_by
    page = client_for(admin).get(f"/oncall/integrations/{integration.pk}/")
    assert page.status_code == 200
    assert len(page.context["payloads"]) == 3
    assert len(page.context["rejected"]) == 1
