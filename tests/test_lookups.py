"""``__in_array`` (config/lookups.py) selects exactly what ``__in`` selects."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Product

pytestmark = pytest.mark.django_db

SLUGS = [f"p{n}" for n in range(12)]


@pytest.fixture
def products(db):
    return [Product.objects.create(slug=slug, name=f"Product {slug}") for slug in SLUGS]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    slugs=st.lists(st.sampled_from([*SLUGS, "none", "o'reilly", "ü", ""]), max_size=20),
    pks=st.lists(st.one_of(st.none(), st.integers(-5, 10**6)), max_size=20),
)
def test_in_array_selects_what_in_selects(products, slugs, pks):
    pks = [*pks, *(product.pk for product in products[::3])]
    for lookup, values in (("slug", slugs), ("pk", pks)):
        expected = set(Product.objects.filter(**{f"{lookup}__in": values}))
        assert set(Product.objects.filter(**{f"{lookup}__in_array": values})) == expected


def test_on_postgresql_a_thousand_values_are_one_parameter(products):
    refs = [f"p{n}" for n in range(1000)]
    with CaptureQueriesContext(connection) as queries:
        found = Product.objects.filter(slug__in_array=refs).count()
    assert found == len(SLUGS)
    sql = queries[0]["sql"]
    if connection.vendor == "postgresql":
        # One array parameter, shown as its literal.
        assert "= ANY('{p0,p1," in sql
        assert sql.count("p999") == 1
    else:
        assert " IN (" in sql
