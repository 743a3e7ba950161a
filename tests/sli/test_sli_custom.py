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


def test_sql_ratio_counts_good_and_total_rows_per_slice(store: Store) -> None:
    """Two queries of event rows: good per slice is the good rows, total the total rows, in the window."""
    add_three_logins(store)
    good = "SELECT time FROM auth_events WHERE outcome = 'success'"
    total = "SELECT time FROM auth_events"
    assert counts(store, "sql_ratio", HOURS3, good=good, total=total) == ([1, 0, 0], [1, 1, 0])


def test_sql_ratio_bad_query_and_value_counts(store: Store) -> None:
    """A bad query turns into good = total - bad; a value column is summed as the row's count."""
    add_three_logins(store)
    bad = "SELECT time FROM auth_events WHERE outcome = 'failure'"
    total = "SELECT time_bucket(INTERVAL 1 HOUR, time) AS slice_start, count(*) * 10 AS value FROM auth_events GROUP BY 1"
    # 10 events an hour by the total query's count; the one failure at 01:00 leaves 9 good there.
    assert counts(store, "sql_ratio", HOURS3, bad=bad, total=total) == ([10, 9, 0], [10, 10, 0])


def test_sql_ratio_keeps_good_within_total(store: Store) -> None:
    """Queries that disagree (more good than total) are cut to the total, never a ratio above 1."""
    add_three_logins(store)
    good = "SELECT time FROM auth_events"
    total = "SELECT time FROM auth_events WHERE outcome = 'success'"
    assert counts(store, "sql_ratio", HOURS3, good=good, total=total) == ([1, 0, 0], [1, 0, 0])


def test_sql_ratio_needs_exactly_one_of_good_and_bad(store: Store) -> None:
    """Both good and bad, or neither, is a parameter error."""
    with pytest.raises(ConfigError, match="expected a good or a bad query"):
        counts(store, "sql_ratio", HOURS3, total="SELECT time FROM auth_events")


def test_sql_ratio_names_the_query_without_a_time_column(store: Store) -> None:
    """A total query without a time column is an error naming that query."""
    with pytest.raises(ConfigError, match=r"SLI total query must return columns slice_start or time"):
        counts(store, "sql_ratio", HOURS3, good="SELECT time FROM auth_events", total="SELECT 1 AS n")


def test_sql_threshold_counts_rows_meeting_the_threshold(store: Store) -> None:
    """Each row is an event; good when value op threshold; NULL values are bad."""
    run(
        store.conn,
        "CREATE TABLE latencies AS SELECT * FROM (VALUES (TIMESTAMP '2024-01-01 00:10', 0.5),"
        " (TIMESTAMP '2024-01-01 00:20', 3.0), (TIMESTAMP '2024-01-01 01:10', NULL),"
        " (TIMESTAMP '2024-01-01 02:10', 2.0)) AS t(time, value)",
    )
    query = "SELECT time, value FROM latencies"
    assert counts(store, "sql_threshold", HOURS3, query=query, op="lt", value=2) == ([1, 0, 0], [2, 1, 1])
    assert counts(store, "sql_threshold", HOURS3, query=query, op="lte", value=2) == ([1, 0, 1], [2, 1, 1])


def test_sql_threshold_needs_a_value_column(store: Store) -> None:
    """A threshold query without a value column is an error saying so."""
    with pytest.raises(ConfigError, match=r"missing value"):
        counts(store, "sql_threshold", HOURS3, query="SELECT time FROM auth_events", op="lt", value=1)
