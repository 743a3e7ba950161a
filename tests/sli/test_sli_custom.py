"""The `sql` indicator: a user query over the store, bucketed and windowed by seclo."""

from __future__ import annotations

import pytest
from sli_helpers import HOURS3, at, counts

from seclo.errors import ConfigError
from seclo.store import Store
from seclo.store.sql import run


def add_three_logins(store: Store) -> None:
    """A VPN success at 00:30, a VPN failure at 01:00 and an SSO failure at 05:00 (outside the window)."""
    run(
        store.conn,
        "INSERT INTO auth_events (time, outcome, service) VALUES (?, 'success', 'vpn'), (?, 'failure', 'vpn'),"
        " (?, 'failure', 'sso')",
        [at(0.5), at(1), at(5)],
    )


def test_a_user_query_per_event_is_bucketed_and_windowed(store: Store) -> None:
    """Rows of (time, good, total) are summed per slice and rows outside the window are dropped."""
    add_three_logins(store)
    query = "SELECT time, (outcome = 'success')::INT AS good, 1 AS total FROM auth_events;"
    assert counts(store, "sql", HOURS3, query=query) == ([1, 0, 0], [1, 1, 0])


def test_a_user_query_may_return_slice_start_and_use_window_parameters(store: Store) -> None:
    """A pre-aggregated query returning slice_start may itself use $start and $end."""
    add_three_logins(store)
    query = (
        "SELECT time_bucket($step, time, TIMESTAMP '1970-01-01') AS slice_start, count(*) AS total,"
        " count(*) FILTER (WHERE outcome = 'failure') AS good FROM auth_events"
        " WHERE time >= $start AND time < $end GROUP BY ALL"
    )
    assert counts(store, "sql", HOURS3, query=query) == ([0, 1, 0], [1, 1, 0])


def test_missing_columns_are_named(store: Store) -> None:
    """A query without good, total or a time column is a configuration error naming what is missing."""
    with pytest.raises(ConfigError, match=r"missing total, slice_start or time"):
        counts(store, "sql", HOURS3, query="SELECT 1 AS good")


def test_a_query_that_does_not_run_is_a_config_error(store: Store) -> None:
    """An invalid query is reported as a configuration error with the engine's first line."""
    with pytest.raises(ConfigError, match="does not run"):
        counts(store, "sql", HOURS3, query="SELECT nope FROM nowhere")
