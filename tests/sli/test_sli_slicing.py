"""The integer slice numbers event SLIs group by name the same slices as time_bucket."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from seclo.sli.slicing import bucket, in_window, slice_number, slice_start
from seclo.store import open_store


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    offsets=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=20),
    step_seconds=st.sampled_from([1, 7, 60, 300, 420, 3600, 86400]),
)
def test_slice_numbers_name_the_time_bucket_slices(
    start: datetime, offsets: list[int], step_seconds: int
) -> None:
    """For times in the window, also before 1970 and after an unaligned start, the slice is time_bucket's."""
    step = timedelta(seconds=step_seconds)
    times = [start + timedelta(microseconds=offset) for offset in offsets]
    end = max(times) + timedelta(microseconds=1)
    sql = f"""SELECT t, {slice_start(slice_number("t"))} AS by_number, {bucket("t")} AS by_bucket
FROM unnest($times) AS u(t)
WHERE {in_window("t")}"""
    with open_store(None) as store:
        rows = store.conn.execute(sql, {"times": times, "start": start, "end": end, "step": step}).fetchall()
    assert len(rows) == len(times)
    assert all(by_number == by_bucket for _, by_number, by_bucket in rows)
