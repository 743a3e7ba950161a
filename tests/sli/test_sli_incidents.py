"""time_to_detect, time_to_acknowledge and time_to_resolve over hand-built incidents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sli_helpers import HOURS3, at, counts

from seclo.errors import ConfigError
from seclo.sli import parse_duration
from seclo.store import Store
from seclo.store.sql import run


def add_incidents(store: Store) -> None:
    """Three security incidents and one outage, times in hours after 2024-01-01."""
    rows = [
        ("i1", "security", at(0), at(0.25), at(0.5), at(2)),
        ("i2", "security", at(0), at(1.5), None, None),
        ("i3", "security", at(0.5), None, None, None),
        ("o1", "outage", at(0), at(0.1), at(0.2), at(0.3)),
    ]
    for row in rows:
        run(
            store.conn,
            "INSERT INTO incidents (incident_id, kind, occurred_at, detected_at, acknowledged_at, resolved_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            list(row),
        )


def test_time_to_detect_counts_each_incident_at_detection_or_deadline(store: Store) -> None:
    """Detected within target is good at detection; undetected by the deadline is bad at the deadline."""
    add_incidents(store)
    assert counts(store, "time_to_detect", HOURS3, target="1h") == ([1, 0, 0], [1, 2, 0])
    assert counts(store, "time_to_detect", HOURS3, target="1h", kind="outage") == ([1, 0, 0], [1, 0, 0])


def test_time_to_acknowledge_and_resolve_start_from_detection(store: Store) -> None:
    """Acknowledgement and resolution delays run from detection; undetected incidents are not counted."""
    add_incidents(store)
    assert counts(store, "time_to_acknowledge", HOURS3, target="30m") == ([1, 0, 0], [1, 0, 1])
    assert counts(store, "time_to_resolve", HOURS3, target="90m") == ([0, 0, 0], [0, 1, 0])
    from_occurrence = counts(store, "time_to_resolve", HOURS3, target="2h", measured_from="occurred_at")
    assert from_occurrence == ([0, 0, 1], [0, 0, 3])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("4h", timedelta(hours=4)), ("1d12h", timedelta(hours=36))],
)
def test_durations_parse_prometheus_style(text: str, expected: timedelta) -> None:
    """Targets are written as Prometheus durations with units in descending order."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1 h", "h", "30", "0m", "1h1d", "-1h", "1.5h"])
def test_a_malformed_target_is_a_config_error(store: Store, text: str) -> None:
    """A target that is not a positive duration is rejected when the parameters are read."""
    with pytest.raises(ConfigError, match="target"):
        counts(store, "time_to_detect", HOURS3, target=text)
