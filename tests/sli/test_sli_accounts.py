"""mfa_coverage and orphaned_accounts over hand-built accounts snapshots."""

from __future__ import annotations

from datetime import datetime

from sli_helpers import HOURS3, at, counts

from seclo.store import Store
from seclo.store.sql import run

Row = tuple[datetime, str, str, bool | None, bool | None, bool | None, datetime | None]


def add_accounts(store: Store, rows: list[Row]) -> None:
    """Insert (snapshot_time, account_id, type, owner_active, mfa_enabled, disabled, last_login) rows."""
    for row in rows:
        run(
            store.conn,
            "INSERT INTO accounts (snapshot_time, account_id, type, owner_active, mfa_enabled, disabled,"
            " last_login) VALUES (?, ?, ?, ?, ?, ?, ?)",
            list(row),
        )


def test_mfa_coverage_counts_enabled_people_with_mfa_at_the_latest_snapshot(store: Store) -> None:
    """Enabled human and admin accounts count; the latest snapshot of a slice wins; others slices are 0/0."""
    early, late, next_slice = at(0.2), at(0.8), at(2)
    add_accounts(
        store,
        [
            (early, "a", "human", True, False, False, None),
            (late, "a", "human", True, True, False, None),
            (late, "b", "admin", True, False, None, None),
            (late, "c", "human", True, True, True, None),
            (late, "d", "service", True, False, False, None),
            (next_slice, "a", "human", True, True, False, None),
        ],
    )
    assert counts(store, "mfa_coverage", HOURS3) == ([1, 0, 1], [2, 0, 1])
    assert counts(store, "mfa_coverage", HOURS3, types=None) == ([1, 0, 1], [3, 0, 1])


def test_orphaned_accounts_flags_departed_owners_and_stale_logins(store: Store) -> None:
    """An account whose owner left, or with no login within stale_days (or none at all), is not good."""
    snap = at(1.5)
    add_accounts(
        store,
        [
            (snap, "fresh", "human", True, True, False, at(days=-10)),
            (snap, "left", "human", False, True, False, at(days=-1)),
            (snap, "stale", "service", None, False, False, at(days=-31)),
            (snap, "never", "shared", True, False, False, None),
            (snap, "edge", "human", True, False, False, at(1.5, days=-30)),
            (snap, "off", "human", False, False, True, None),
        ],
    )
    assert counts(store, "orphaned_accounts", HOURS3, stale_days=30) == ([0, 2, 0], [0, 5, 0])
