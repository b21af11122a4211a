"""Who may see and do what: the permissions each group gets, and restricted incidents."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from incidents import access
from incidents.actions import assign_incident, claim_incident
from tests.factories import UserFactory, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def people(support, responder, manager, other_manager, admin_user, security, outsider, superuser):
    return {
        "support": support,
        "responder": responder,
        "manager": manager,
        "other_manager": other_manager,
        "admin_user": admin_user,
        "security": security,
        "outsider": outsider,
        "superuser": superuser,
    }


@pytest.fixture
def incident(support):
    return make_incident(by=support)


@pytest.fixture
def restricted(support, manager):
    """A security incident logged by support and claimed by the manager."""
    incident = make_incident(by=support, restricted=True, summary="Leaked API keys")
    return claim_incident(incident, by=manager)


# What each group may do -----------------------------------------------------------------

# person -> (create, edit, manage, add entry)
ABILITIES = {
    "support": (True, False, False, False),
    "responder": (True, False, False, True),
    "manager": (True, True, True, True),
    "admin_user": (True, False, False, False),
    "security": (True, False, False, False),
    "outsider": (False, False, False, False),
    "superuser": (True, True, True, True),
}


@pytest.mark.parametrize(("person", "abilities"), ABILITIES.items())
def test_each_group_may_do_what_its_role_needs(person, abilities, people, incident):
    user = people[person]

    assert (
        access.can_create(user),
        access.can_edit(user, incident),
        access.can_manage(user, incident),
        access.can_add_entry(user, incident),
    ) == abilities


def test_anonymous_visitor_may_do_nothing(incident):
    visitor = AnonymousUser()

    assert not access.can_create(visitor)
    assert not access.can_edit(visitor, incident)
    assert not access.can_manage(visitor, incident)
    assert not access.can_add_entry(visitor, incident)


@pytest.mark.parametrize(
    "person", ["support", "responder", "manager", "admin_user", "security", "superuser"]
)
def test_every_group_sees_open_incidents(person, people, incident):
    assert list(access.visible_incidents(people[person])) == [incident]


def test_outsider_may_not_list_incidents(outsider, incident):
    with pytest.raises(PermissionDenied):
        access.visible_incidents(outsider)


def test_anonymous_visitor_may_not_list_incidents(incident):
    with pytest.raises(PermissionDenied):
        access.visible_incidents(AnonymousUser())


def test_outsider_is_refused_an_incident_by_key(outsider, incident):
    with pytest.raises(PermissionDenied):
        access.access_incident(outsider, incident.key)


def test_require_raises_permission_denied_with_the_message():
    access.require(True, "fine")

    with pytest.raises(PermissionDenied, match="Only incident managers"):
        access.require(False, "Only incident managers may claim.")


# Restricted incidents -------------------------------------------------------------------


@pytest.mark.parametrize("person", ["support", "manager", "security", "superuser"])
def test_restricted_incident_is_visible_to_those_involved(person, people, restricted):
    user = people[person]

    assert restricted in access.visible_incidents(user)
    assert access.access_incident(user, restricted.key) == restricted


@pytest.mark.parametrize("person", ["responder", "other_manager", "admin_user"])
def test_restricted_incident_is_hidden_from_everyone_else(person, people, restricted, incident):
    user = people[person]

    assert list(access.visible_incidents(user)) == [incident]
    with pytest.raises(Http404):
        access.access_incident(user, restricted.key)


def test_restricted_incident_is_hidden_from_a_colleague_of_its_creator(support, restricted):
    colleague = UserFactory(username="kenji", group="support")

    with pytest.raises(Http404):
        access.access_incident(colleague, restricted.key)


def test_restricted_incident_is_visible_to_the_manager_it_is_handed_to(
    restricted, manager, other_manager
):
    assign_incident(restricted, assignee=other_manager, by=manager)

    assert access.access_incident(other_manager, restricted.key) == restricted


def test_hidden_and_missing_incidents_look_the_same(responder, restricted):
    with pytest.raises(Http404) as hidden:
        access.access_incident(responder, restricted.key)
    with pytest.raises(Http404) as missing:
        access.access_incident(responder, "HOT-999")

    assert str(hidden.value) == f"No incident {restricted.key}."
    assert str(missing.value) == "No incident HOT-999."


@pytest.mark.parametrize("person", ["support", "security", "superuser"])
def test_unknown_key_is_not_found(person, people, incident):
    with pytest.raises(Http404):
        access.access_incident(people[person], "HOT-999")


@pytest.mark.parametrize("typed", ["HOT-1", "hot-1", "  Hot-1 "])
def test_key_is_matched_ignoring_case_and_surrounding_spaces(typed, support, incident):
    assert incident.key == "HOT-1"

    assert access.access_incident(support, typed) == incident


def test_normalize_key_upper_cases_and_strips():
    assert access.normalize_key("  hot-12 ") == "HOT-12"


def test_key_with_a_lower_case_prefix_is_matched_too(settings, support):
    settings.INCIDENT_KEY_PREFIX = "ops"
    incident = make_incident(by=support)

    assert access.access_incident(support, incident.key) == incident
    assert access.access_incident(support, incident.key.upper()) == incident
