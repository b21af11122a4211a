from django.core.management import call_command

from oncall import actions
from oncall.models import ContactMethod, EscalationPolicy, Roster


def test_demo_rosters_load_twice_and_someone_is_on_call(db, settings):
    settings.DEMO_DATA = True
    call_command("load_demo")
    call_command("load_demo_oncall")
    call_command("load_demo_oncall")
    assert Roster.objects.count() == 5
    assert EscalationPolicy.objects.count() == 4
    assert ContactMethod.objects.filter(kind="email").exists()
    for roster in Roster.objects.all():
        assert actions.on_call_now(roster) is not None, roster.slug
