"""endpoints_without_vulnerabilities, known_exploited_open and patch_latency over hand-built findings."""

from __future__ import annotations

from datetime import datetime

from sli_helpers import DAY, HOURS3, T0, at, counts

from seclo.sli import Window
from seclo.store import Store
from seclo.store.sql import run

Finding = tuple[str, str, str, datetime, datetime | None, str, bool]


def add_findings(store: Store, rows: list[Finding]) -> None:
    """Insert (finding_id, asset_id, severity, opened_at, closed_at, status, known_exploited) findings."""
    for row in rows:
        run(
            store.conn,
            "INSERT INTO findings (finding_id, asset_id, vuln_id, severity, opened_at, closed_at, status,"
            " known_exploited) VALUES (?, ?, 'CVE-X', ?, ?, ?, ?, ?)",
            list(row),
        )


def add_asset_snapshots(store: Store) -> None:
    """Assets a1, a2, a3 in snapshots at 00:30 and 01:30, and a1 twice in the first."""
    for snap in (at(0.5), at(1.5)):
        for asset in ("a1", "a2", "a3"):
            run(store.conn, "INSERT INTO assets (snapshot_time, asset_id) VALUES (?, ?)", [snap, asset])
    run(store.conn, "INSERT INTO assets (snapshot_time, asset_id) VALUES (?, 'a1')", [at(0.5)])


FINDINGS: list[Finding] = [
    ("f1", "a1", "critical", at(-10), at(1), "closed", True),
    ("f2", "a2", "high", at(0.2), None, "open", False),
    ("f3", "a3", "critical", at(0), None, "false_positive", True),
    ("f4", "a3", "critical", at(1.5), None, "open", True),
]


def test_endpoints_without_vulnerabilities_counts_assets_with_no_open_finding_that_severe(
    store: Store,
) -> None:
    """An asset is bad while a finding of min_severity or worse is open on it at the snapshot time."""
    add_asset_snapshots(store)
    add_findings(store, FINDINGS)
    assert counts(store, "endpoints_without_vulnerabilities", HOURS3) == ([2, 2, 0], [3, 3, 0])
    high = counts(store, "endpoints_without_vulnerabilities", HOURS3, min_severity="high")
    assert high == ([1, 1, 0], [3, 3, 0])


def test_known_exploited_open_counts_assets_without_an_open_kev(store: Store) -> None:
    """Only open known exploited findings make an asset bad; false positives never do."""
    add_asset_snapshots(store)
    add_findings(store, FINDINGS)
    assert counts(store, "known_exploited_open", HOURS3) == ([2, 2, 0], [3, 3, 0])


def test_a_reopened_finding_keeps_its_asset_bad_whatever_closed_at_says(store: Store) -> None:
    """A finding closed before the snapshots and then reopened is open again (REOPENED_RULE): its asset is bad in
    both SLIs, where the same finding merely closed leaves the asset good."""
    add_asset_snapshots(store)
    add_findings(store, [("r1", "a1", "critical", at(-10), at(0.1), "reopened", True)])
    assert counts(store, "endpoints_without_vulnerabilities", HOURS3) == ([2, 2, 0], [3, 3, 0])
    assert counts(store, "known_exploited_open", HOURS3) == ([2, 2, 0], [3, 3, 0])
    run(store.conn, "UPDATE findings SET status = 'closed'")
    assert counts(store, "endpoints_without_vulnerabilities", HOURS3) == ([3, 3, 0], [3, 3, 0])


PATCHES: list[Finding] = [
    ("p1", "a", "critical", at(days=-5), at(1, days=1), "closed", False),
    ("p2", "a", "critical", at(days=-6), None, "open", False),
    ("p3", "a", "high", at(days=-40), at(days=0.5), "closed", False),
    ("p4", "a", "low", at(days=-100), None, "open", False),
    ("p5", "a", "medium", at(days=-89.5), at(days=2), "closed", False),
    ("p6", "a", "critical", at(days=-7), at(days=0), "closed", False),
    ("p7", "a", "none", at(days=-300), None, "open", False),
    ("p8", "a", "critical", at(days=-6), None, "accepted", False),
]


def test_patch_latency_counts_each_finding_at_its_close_or_sla_deadline(store: Store) -> None:
    """A fix by the deadline is good when it closes; a miss is bad at the deadline; findings within SLA wait."""
    add_findings(store, PATCHES)
    days3 = Window(T0, T0 + 3 * DAY, DAY)
    assert counts(store, "patch_latency", days3) == ([1, 1, 0], [2, 2, 0])
    assert counts(store, "patch_latency", days3, severities=["critical"]) == ([1, 1, 0], [1, 2, 0])
    assert counts(store, "patch_latency", days3, sla_days={"critical": 1}) == ([0, 0, 0], [1, 0, 0])
