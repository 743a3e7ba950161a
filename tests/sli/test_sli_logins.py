"""login_success and brute_force_pressure over hand-built authentication events."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sli_helpers import HOUR, HOURS3, T0, at, counts

from seclo.sli import Window
from seclo.store import Store, open_store
from seclo.store.sql import run


def add_logins(store: Store, rows: list[tuple[datetime, str, str | None, str | None]]) -> None:
    """Insert (time, outcome, src_ip, service) authentication events."""
    for time, outcome, src_ip, service in rows:
        run(
            store.conn,
            "INSERT INTO auth_events (time, outcome, src_ip, service) VALUES (?, ?, ?, ?)",
            [time, outcome, src_ip, service],
        )


def test_login_success_counts_successes_per_slice(store: Store) -> None:
    """Each slice carries its successes as good and all its attempts as total; empty slices are 0/0."""
    add_logins(
        store,
        [
            (at(0.1), "success", "10.0.0.1", "sso"),
            (at(0.5), "failure", "10.0.0.1", "sso"),
            (at(0.9), "success", "10.0.0.2", "vpn"),
            (at(2.2), "failure", "10.0.0.3", "vpn"),
        ],
    )
    assert counts(store, "login_success", HOURS3) == ([2, 0, 0], [3, 0, 1])


def test_boundary_event_goes_to_later_slice_and_outside_events_are_ignored(store: Store) -> None:
    """An event exactly on a slice start belongs to that (later) slice; events before start or at end are dropped."""
    add_logins(
        store,
        [
            (at(1), "success", None, None),
            (at(-0.001), "success", None, None),
            (at(3), "success", None, None),
            (at(2.999), "failure", None, None),
        ],
    )
    assert counts(store, "login_success", HOURS3) == ([0, 1, 0], [0, 1, 1])


def test_login_success_filters_services_and_excluded_sources(store: Store) -> None:
    """Only the listed services count, and excluded source addresses are left out."""
    add_logins(
        store,
        [
            (at(0.1), "success", "10.0.0.1", "sso"),
            (at(0.2), "failure", "10.0.0.9", "sso"),
            (at(0.3), "failure", None, "sso"),
            (at(0.4), "failure", "10.0.0.1", "vpn"),
        ],
    )
    good, total = counts(store, "login_success", HOURS3, services=["sso"], exclude_sources=["10.0.0.9"])
    assert (good, total) == ([1, 0, 0], [2, 0, 0])


def test_brute_force_pressure_counts_sources_under_threshold(store: Store) -> None:
    """Sources with fewer failures than the threshold in a slice are good; every failing source is counted."""
    attacker = [(at(0.01 * i), "failure", "203.0.113.5", "sshd") for i in range(3)]
    add_logins(
        store,
        [
            *attacker,
            (at(0.5), "failure", "10.0.0.1", "sshd"),
            (at(0.6), "success", "10.0.0.2", "sshd"),
            (at(0.7), "failure", None, "sshd"),
            (at(1.5), "failure", "203.0.113.5", "sshd"),
        ],
    )
    assert counts(store, "brute_force_pressure", HOURS3, threshold=3) == ([1, 1, 0], [2, 1, 0])


@settings(max_examples=30, deadline=None)
@given(
    events=st.lists(st.tuples(st.integers(min_value=-600, max_value=4 * 3600), st.booleans()), max_size=40),
    step_minutes=st.sampled_from([5, 15, 60]),
)
def test_login_success_matches_a_plain_count(events: list[tuple[int, bool]], step_minutes: int) -> None:
    """Per-slice counts equal a plain Python count of the random events in each slice."""
    step = timedelta(minutes=step_minutes)
    window = Window(T0, T0 + 3 * HOUR, step)
    with open_store(None) as store:
        add_logins(
            store,
            [(T0 + timedelta(seconds=s), "success" if ok else "failure", None, None) for s, ok in events],
        )
        good, total = counts(store, "login_success", window)
    expected_good = [0.0] * window.slices
    expected_total = [0.0] * window.slices
    for seconds, ok in events:
        offset = timedelta(seconds=seconds)
        if timedelta(0) <= offset < 3 * HOUR:
            expected_total[offset // step] += 1
            expected_good[offset // step] += ok
    assert (good, total) == (expected_good, expected_total)
