"""The store summary's headlines on hand-built rows: staggered scans and the status of findings."""

from __future__ import annotations

from seclo.store import Store
from seclo.store.sql import run
from seclo.summary import summarise


def _headline(store: Store, name: str) -> tuple[str, str]:
    found = {h.name: (h.value, h.detail) for h in summarise(store).headlines}
    return found[name]


def test_public_ports_count_each_asset_at_its_own_latest_scan(store: Store) -> None:
    """web-1 was scanned on Monday, web-2 on Tuesday: both count, each with its latest scan only; an asset last
    scanned more than 90 days before the newest scan is gone, and internal assets never count."""
    assets = [
        ("2026-11-02", "web-1", "public"),
        ("2026-11-30", "web-1", "public"),
        ("2026-12-01", "web-2", "public"),
        ("2026-12-01", "db-1", "internal"),
        ("2026-06-01", "old-1", "public"),
    ]
    for at, asset, exposure in assets:
        run(
            store.conn,
            "INSERT INTO assets (snapshot_time, asset_id, exposure) VALUES (?, ?, ?)",
            [at, asset, exposure],
        )
    ports = [
        ("2026-11-02", "web-1", 22, "open"),  # closed since: not counted
        ("2026-11-30", "web-1", 443, "open"),
        ("2026-11-30", "web-1", 8080, "filtered"),
        ("2026-12-01", "web-2", 443, "open"),
        ("2026-12-01", "web-2", 80, "open"),
        ("2026-12-01", "db-1", 5432, "open"),
        ("2026-06-01", "old-1", 21, "open"),
    ]
    for at, asset, port, state in ports:
        run(
            store.conn,
            "INSERT INTO ports (snapshot_time, asset_id, port, protocol, state) VALUES (?, ?, ?, 'tcp', ?)",
            [at, asset, port, state],
        )
    assert _headline(store, "open ports on public assets") == (
        "3",
        "on 2 public assets, each at its latest scan",
    )


def test_open_findings_include_reopened_and_leave_out_false_positives(store: Store) -> None:
    """A reopened finding is open whatever closed_at says; false positives and accepted risks are not open work."""
    findings = [
        ("f1", "critical", None, "open"),
        ("f2", "high", "2026-11-01", "reopened"),
        ("f3", "high", "2026-11-01", "closed"),
        ("f4", "low", None, "false_positive"),
        ("f5", "low", None, "accepted"),
    ]
    for finding_id, severity, closed, status in findings:
        run(
            store.conn,
            "INSERT INTO findings (finding_id, asset_id, vuln_id, severity, opened_at, closed_at, status) "
            "VALUES (?, 'a', 'CVE-1', ?, '2026-10-01', ?, ?)",
            [finding_id, severity, closed, status],
        )
    assert _headline(store, "open findings") == ("2", "critical 1, high 1")
