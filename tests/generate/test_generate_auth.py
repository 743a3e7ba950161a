"""Authentication events: exact counts in chunks, time order, rhythm, failures, MFA and attacks."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seclo.generate.auth import _sorted_times, write_auth_events
from seclo.generate.people import generate_accounts
from seclo.generate.period import US_PER_MINUTE, Period
from seclo.generate.randomness import Streams
from seclo.generate.scenario import plan_scenario
from seclo.progress import NullReporter
from seclo.store.schema import table

END = datetime(2025, 6, 4, 15, 30)  # a Wednesday afternoon
START = END - timedelta(days=14)


def _write(path: Path, events: int, chunk_rows: int, *, seed: int = 3, days: int = 14) -> int:
    period = Period.ending(END, days)
    streams = Streams(seed)
    accounts = generate_accounts(streams.rng("people"), period, 150)
    scenario = plan_scenario(streams.rng("scenario"), period)
    rng = streams.rng("auth")
    return write_auth_events(
        path, rng, period, accounts, scenario, events, NullReporter(), chunk_rows=chunk_rows
    )


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two weeks of events from a small organisation, written in many chunks; the SQL to read them."""
    path = tmp_path_factory.mktemp("auth") / "auth_events.parquet"
    _write(path, 200_000, chunk_rows=30_000)
    return f"read_parquet('{path}')"


def _rows(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as connection:
        return connection.execute(sql).fetchall()


def _one(sql: str) -> float:
    return float(_rows(sql)[0][0])


def test_chunked_generation_writes_exactly_the_requested_rows(tmp_path: Path) -> None:
    """However small the chunks, the file holds exactly the number of events asked for, in several row groups."""
    path = tmp_path / "auth.parquet"
    assert _write(path, 123_457, chunk_rows=10_000) == 123_457
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_rows == 123_457
    assert metadata.num_row_groups >= 12


def test_chunk_size_does_not_change_what_a_period_looks_like(tmp_path: Path) -> None:
    """Events are allocated to minutes before chunking, so per-minute volumes do not depend on the chunk size."""
    _write(tmp_path / "a.parquet", 50_000, chunk_rows=5_000)
    _write(tmp_path / "b.parquet", 50_000, chunk_rows=1 << 22)
    per_minute = (
        "SELECT date_trunc('minute', time) m, count(*) n FROM read_parquet('{}') GROUP BY 1 ORDER BY 1"
    )
    a = _rows(per_minute.format(tmp_path / "a.parquet"))
    b = _rows(per_minute.format(tmp_path / "b.parquet"))
    assert a == b


def test_no_events_gives_an_empty_file_with_the_schema(tmp_path: Path) -> None:
    """Zero events still write a readable file with every column."""
    path = tmp_path / "auth.parquet"
    assert _write(path, 0, chunk_rows=1000) == 0
    assert pq.read_table(path).num_rows == 0
    assert pq.read_schema(path).names == list(table("auth_events").column_names)


def test_events_are_in_time_order_within_the_period(events: str) -> None:
    """The file is ordered by time from its first row to its last, and stays inside the period."""
    times = pq.read_table(events.split("'")[1], columns=["time"]).column("time").to_numpy()
    assert np.all(np.diff(times.astype(np.int64)) >= 0)
    assert times[0] >= np.datetime64(START)
    assert times[-1] < np.datetime64(END)


def test_working_hours_are_busier_than_nights_and_weekends(events: str) -> None:
    """Logins follow the working day in Central European time and drop at night and at weekends."""
    by_hour = f"SELECT count(*) FROM {events} WHERE hour(time + INTERVAL 1 HOUR) {{}} AND isodow(time) <= 5"
    day, night = _one(by_hour.format("BETWEEN 9 AND 16")), _one(by_hour.format("< 5"))
    weekday = _one(f"SELECT count(*) / 10 FROM {events} WHERE isodow(time) <= 5")
    weekend = _one(f"SELECT count(*) / 4 FROM {events} WHERE isodow(time) > 5")
    assert day / 8 > 10 * night / 5
    assert weekday > 3 * weekend


def test_ordinary_logins_fail_a_few_percent_of_the_time(events: str) -> None:
    """From the organisation's own addresses, outside the final degradation, about 2 % of logins fail."""
    rate = _one(
        f"SELECT avg((outcome = 'failure')::INT) FROM {events} "
        f"WHERE src_ip LIKE '10.%' AND time < TIMESTAMP '{END}' - INTERVAL 5 HOUR"
    )
    assert 0.01 < rate < 0.04


def test_most_successful_logins_use_mfa(events: str) -> None:
    """Most successes carry a second factor, and no failure does."""
    assert _one(f"SELECT avg(mfa::INT) FROM {events} WHERE outcome = 'success'") > 0.7
    assert _one(f"SELECT count(*) FROM {events} WHERE outcome = 'failure' AND mfa") == 0


def test_brute_force_bursts_come_from_one_address(events: str) -> None:
    """Some external address fails hundreds of times within ten minutes, against at most three accounts."""
    (worst,) = _rows(
        f"""
        SELECT src_ip, count(*) AS failures, count(DISTINCT user) AS users
        FROM {events}
        WHERE outcome = 'failure' AND src_ip NOT LIKE '10.%'
        GROUP BY src_ip, time_bucket(INTERVAL 10 MINUTE, time)
        ORDER BY failures DESC LIMIT 1
        """
    )
    assert int(worst[1]) >= 200
    assert int(worst[2]) <= 3


def test_the_end_of_the_period_burns_a_99_percent_objective(events: str) -> None:
    """In the last two hours more than 14.4 % of logins fail: a page-level burn for a 99 % login objective."""
    last = _one(
        f"SELECT avg((outcome = 'failure')::INT) FROM {events} WHERE time >= TIMESTAMP '{END}' - INTERVAL 2 HOUR"
    )
    assert last > 0.144


def test_the_headline_attack_burns_budget_a_day_before_the_end(events: str) -> None:
    """Over a six-hour window about a day before the end, logins fail far more often than 1 % of the time."""
    worst = _one(
        f"""
        SELECT max(rate) FROM (
            SELECT avg((outcome = 'failure')::INT) AS rate FROM {events}
            WHERE time BETWEEN TIMESTAMP '{END}' - INTERVAL 40 HOUR AND TIMESTAMP '{END}' - INTERVAL 10 HOUR
            GROUP BY time_bucket(INTERVAL 6 HOUR, time)
        )
        """
    )
    assert worst > 0.1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=40), st.integers(0, 2**32))
def test_sorted_times_fill_each_minute_in_order(counts: list[int], seed: int) -> None:
    """Each minute gets exactly its count of events, all inside it, and the times never go backwards."""
    minutes = np.asarray(counts, dtype=np.int64)
    times = _sorted_times(np.random.default_rng(seed), minutes, 0)
    assert times.size == minutes.sum()
    assert np.all(np.diff(times) >= 0)
    assert np.array_equal(np.bincount(times // US_PER_MINUTE, minlength=minutes.size), minutes)
