"""The suite's guard: a lock outside the code's own transaction fails the test."""

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from incidents.models import Incident

pytestmark = pytest.mark.django_db


def test_a_lock_outside_the_codes_own_atomic_fails_the_test():
    with pytest.raises(TransactionManagementError, match="outside the code's own"):
        list(Incident.objects.select_for_update())


def test_a_lock_inside_the_codes_own_atomic_passes():
    with transaction.atomic():
        assert list(Incident.objects.select_for_update()) == []
