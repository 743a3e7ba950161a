"""Helpers for analytics tests: hand-built findings, assets, incidents and deployments, and a generated store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from seclo.demo import import_generated
from seclo.generate import generate_organisation
from seclo.store import Store
from seclo.store.sql import run
from seclo.workspace import Workspace, init_workspace

T0 = datetime(2024, 1, 1)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
END = datetime(2024, 6, 1)


def day(days: float) -> datetime:
    """A time `days` after 2024-01-01 00:00."""
    return T0 + timedelta(days=days)


def add_finding(
    store: Store,
    finding_id: str,
    opened: float,
    closed: float | None,
    *,
    severity: str = "high",
    status: str | None = None,
    asset: str = "a1",
) -> None:
    """Insert one finding opened and closed `opened` and `closed` days after T0 (closed None: still open)."""
    run(
        store.conn,
        "INSERT INTO findings (finding_id, asset_id, vuln_id, severity, opened_at, closed_at, status)"
        " VALUES (?, ?, 'CVE-2024-0001', ?, ?, ?, ?)",
        [
            finding_id,
            asset,
            severity,
            day(opened),
            None if closed is None else day(closed),
            status or ("open" if closed is None else "closed"),
        ],
    )


def add_asset(store: Store, asset: str, team: str, criticality: str, scans: list[float]) -> None:
    """Insert one snapshot row per scan (days after T0) of `asset`."""
    for scan in scans:
        run(
            store.conn,
            "INSERT INTO assets (snapshot_time, asset_id, team, criticality) VALUES (?, ?, ?, ?)",
            [day(scan), asset, team, criticality],
        )


def add_deployment(
    store: Store,
    deploy_id: str,
    finished: datetime,
    *,
    service: str = "api",
    team: str = "web",
    env: str = "production",
    result: str = "success",
    commits: tuple[datetime, ...] = (),
) -> None:
    """Insert one deployment with its commits' times."""
    run(
        store.conn,
        "INSERT INTO deployments (deploy_id, service, env, finished_at, result, team, commits)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            deploy_id,
            service,
            env,
            finished,
            result,
            team,
            [{"sha": f"{i:040x}", "committed_at": c} for i, c in enumerate(commits)],
        ],
    )


def add_incident(
    store: Store,
    incident_id: str,
    occurred: datetime,
    *,
    kind: str = "outage",
    service: str = "api",
    detected: datetime | None = None,
    acknowledged: datetime | None = None,
    resolved: datetime | None = None,
    deploy_id: str | None = None,
) -> None:
    """Insert one incident."""
    run(
        store.conn,
        "INSERT INTO incidents (incident_id, kind, service, occurred_at, detected_at, acknowledged_at,"
        " resolved_at, deploy_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [incident_id, kind, service, occurred, detected, acknowledged, resolved, deploy_id],
    )


def generated_workspace(root: Path, days: int = 90, seed: int = 5) -> Workspace:
    """A workspace holding a generated organisation ending at END."""
    init_workspace(root)
    ws = Workspace.open(root)
    folder = root / "data"
    generate_organisation(folder, days=days, seed=seed, auth_events=1000, end=END)
    import_generated(ws, folder)
    return ws
