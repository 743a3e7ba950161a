"""Reading text timestamps: the cheap cast for plain ISO 8601 agrees with the zone-aware one."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seclo.importers.timestamps import general_time_sql, text_time_sql

_PART = st.integers(0, 99).map(lambda n: f"{n:02d}")
ISO_LIKE = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, zone: f"{y:04d}-{mo}-{d}{sep}{h}:{mi}{s}{frac}{zone}",
    st.integers(0, 9999),
    _PART,
    _PART,
    st.sampled_from(["T", " ", "t"]),
    _PART,
    _PART,
    st.sampled_from(["", ":00", ":59", ":60", ":61"]),
    st.sampled_from(["", ".5", ".123456", ".123456789", ".1234567891"]),
    st.sampled_from(["", "Z", "z", "+02:00", "-0530", " UTC", " Europe/Paris"]),
) | st.sampled_from(["2024-03-01", "2024-02-30", "infinity", "epoch", " 2024-03-01", "2024-03-01T10:00Z"])


@pytest.fixture(scope="module")
def conn() -> duckdb.DuckDBPyConnection:
    """A connection set to UTC, as the store's is."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'").fetchall()
    return connection


@settings(max_examples=150, deadline=None)
@given(text=ISO_LIKE, tz=st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns"]))
def test_plain_iso_shortcut_agrees_with_zone_aware_cast(
    conn: duckdb.DuckDBPyConnection, text: str, tz: str
) -> None:
    """Plain ISO 8601 text gives the same UTC time (or none) through the shortcut as through the general rule."""
    sql = f"SELECT {text_time_sql('x', tz)}, {general_time_sql('x', tz)} FROM (SELECT ?::VARCHAR AS x)"
    row = conn.execute(sql, [text]).fetchall()
    assert row[0][0] == row[0][1]
