"""What the parsers make of the tools' payloads, apart from storing and applying them."""

from oncall.integrations.formats import MAX_DEDUP_KEY, alertmanager
from tests.oncall.integrations import examples


def test_long_alertmanager_group_keys_stay_apart_and_fit():
    """Group keys grow with every label grouped by: two that differ only past the column's
    limit are two groups, each always given the same key."""
    common = '{}/{severity=~"critical|error"}:{' + ", ".join(
        f'label{number}="value-{number}"' for number in range(30)
    )
    first, second = common + ', zone="eu-1"}', common + ', zone="us-1"}'
    assert len(first) > MAX_DEDUP_KEY

    keys = [
        alertmanager.parse(examples.alertmanager(group_key=group_key))[0].dedup_key
        for group_key in (first, second, first)
    ]

    assert keys[0] != keys[1]
    assert keys[0] == keys[2]
    assert all(len(key) <= MAX_DEDUP_KEY for key in keys)
    assert keys[0].startswith(common[:100])


def test_short_alertmanager_group_keys_are_kept_as_sent():
    group_key = '{}:{alertname="HighErrorRate"}'
    event = alertmanager.parse(examples.alertmanager(group_key=group_key))[0]
    assert event.dedup_key == group_key
