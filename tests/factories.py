import factory
from django.contrib.auth.models import Group, User

from incidents import actions
from incidents.models import Incident, Involvement, Product, RoleAssignment, Service, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("pw")

    @factory.post_generation
    def group(self, create, name, **kwargs):
        if name:
            self.groups.add(Group.objects.get(name=name))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    email = factory.LazyAttribute(lambda team: f"{team.slug}@example.com")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    team = factory.SubFactory(TeamFactory)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")


def make_incident(*, by=None, products=(), **fields):
    """An incident made the way the product makes them: through the action."""
    fields.setdefault("summary", "Checkout is failing")
    fields.setdefault("description", "Customers cannot pay. Call me: 555-0100.")
    fields.setdefault("severity", 2)
    if "faulty_service" not in fields:
        fields["faulty_service"] = ServiceFactory()
    return actions.create_incident(
        by=by or UserFactory(group="support"), affected_products=products, **fields
    )


# The ways someone takes part in an incident, each of which lets them see it restricted.
INVOLVEMENTS = ("assignee", "creator", "role", "involved")


def involve(incident, person, how):
    """``person`` takes part in ``incident`` in one of the ``INVOLVEMENTS``."""
    if how == "assignee":
        Incident.objects.filter(pk=incident.pk).update(assignee=person)
    elif how == "creator":
        Incident.objects.filter(pk=incident.pk).update(created_by=person)
    elif how == "role":
        RoleAssignment.objects.create(incident=incident, person=person, role="comms_internal")
    elif how == "involved":
        Involvement.objects.create(incident=incident, person=person, reason="paged")
