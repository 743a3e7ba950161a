"""Inventories: accounts in daily snapshots, hosts scanned at their own cadence, and the ports scans find open."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pytest

from seclo.generate.assets import Fleet, generate_fleet
from seclo.generate.people import Accounts, generate_accounts
from seclo.generate.period import Period
from seclo.generate.randomness import Streams

END = datetime(2025, 6, 4, 15, 30)
PERIOD = Period.ending(END, 90)


@pytest.fixture(scope="module")
def accounts() -> Accounts:
    """A quarter of daily account snapshots for 400 people."""
    return generate_accounts(Streams(2).rng("people"), PERIOD, 400)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    """A quarter of host and port scans for an organisation of 2,000 people."""
    streams = Streams(2)
    return generate_fleet(streams.rng("assets"), streams.rng("ports"), PERIOD, 2000)


def _last_snapshot(table: pa.Table) -> list[dict[str, object]]:
    rows = table.to_pylist()
    last = max(row["snapshot_time"] for row in rows)
    return [row for row in rows if row["snapshot_time"] == last]


def test_accounts_are_snapshotted_daily(accounts: Accounts) -> None:
    """There is one account snapshot a day, at 02:00 UTC, up to the end of the period."""
    times = sorted(set(accounts.table.column("snapshot_time").to_pylist()))
    assert len(times) == 90
    assert all(b - a == timedelta(days=1) for a, b in pairwise(times))
    assert times[-1] == datetime(2025, 6, 4, 2, 0)


def test_the_inventory_holds_every_kind_of_account(accounts: Accounts) -> None:
    """Besides people, there are admin, service and shared accounts."""
    kinds = Counter(row["type"] for row in _last_snapshot(accounts.table))
    assert kinds["human"] > 350
    assert kinds["admin"] > 3
    assert kinds["service"] > 3
    assert kinds["shared"] >= 1


def test_hygiene_problems_are_present_but_rare(accounts: Accounts) -> None:
    """Some accounts lack MFA, some belong to people who left and were never disabled, some sit unused."""
    rows = _last_snapshot(accounts.table)
    now = rows[0]["snapshot_time"]
    assert isinstance(now, datetime)
    without_mfa = [r for r in rows if not r["mfa_enabled"]]
    orphaned = [r for r in rows if not r["owner_active"] and not r["disabled"]]
    stale = [r for r in rows if not r["disabled"] and isinstance(r["last_login"], datetime)
             and now - r["last_login"] > timedelta(days=90)]  # fmt: skip
    assert 0 < len(without_mfa) < 0.25 * len(rows)
    assert 0 < len(orphaned) < 0.1 * len(rows)
    assert 0 < len(stale) < 0.1 * len(rows)


def test_mfa_coverage_improves_over_the_period(accounts: Accounts) -> None:
    """More accounts have MFA at the end of the period than at its start."""
    by_day: dict[datetime, list[bool]] = {}
    for time, mfa in zip(
        accounts.table.column("snapshot_time").to_pylist(),
        accounts.table.column("mfa_enabled").to_pylist(),
        strict=True,
    ):
        by_day.setdefault(time, []).append(mfa)
    days = sorted(by_day)
    assert np.mean(by_day[days[-1]]) > np.mean(by_day[days[0]])


def test_last_login_never_lies_in_the_future(accounts: Accounts) -> None:
    """An account's last login is never after the snapshot that reports it."""
    rows = accounts.table.to_pylist()
    assert all(r["last_login"] is None or r["last_login"] <= r["snapshot_time"] for r in rows)


def test_hosts_are_scanned_at_their_own_cadence_with_public_ones(fleet: Fleet) -> None:
    """Each host is scanned daily, weekly, monthly or quarterly, evenly; a minority face the internet, with all
    criticalities present."""
    rows = fleet.assets.to_pylist()
    scans: dict[str, list[datetime]] = {}
    latest: dict[str, dict[str, object]] = {}
    for row in rows:
        scans.setdefault(row["asset_id"], []).append(row["snapshot_time"])
        latest[row["asset_id"]] = row
    assert all(t.hour == 3 for times in scans.values() for t in times)
    every = dict(zip(fleet.asset_ids, fleet.scan_every_days.tolist(), strict=True))
    for asset, times in scans.items():
        assert all(b - a == timedelta(days=every[asset]) for a, b in pairwise(sorted(times)))
    cadences = Counter(every[asset] for asset in scans)
    assert set(cadences) == {1, 7, 30, 91}
    assert cadences.most_common(1)[0][0] == 7
    # Hosts there throughout (scanned before the period and in its last cycle) have three scans at least.
    start = END - timedelta(days=90)
    old = [
        asset
        for asset, times in scans.items()
        if min(times) < start and max(times) > END - timedelta(days=every[asset] + 1)
    ]
    assert old
    assert all(len(scans[asset]) >= 3 for asset in old)
    public = [row for row in latest.values() if row["exposure"] == "public"]
    assert 0.02 * len(latest) < len(public) < 0.2 * len(latest)
    assert all(every[str(row["asset_id"])] <= 7 for row in public)
    assert {row["criticality"] for row in latest.values()} == {"critical", "high", "medium", "low"}


def test_generation_is_deterministic_by_seed() -> None:
    """The same seed gives the same scans; another seed gives other cadences."""

    def draw(seed: int) -> Fleet:
        streams = Streams(seed)
        return generate_fleet(streams.rng("assets"), streams.rng("ports"), PERIOD, 400)

    first, again, other = draw(3), draw(3), draw(4)
    assert first.assets.equals(again.assets)
    assert first.ports.equals(again.ports)
    assert not np.array_equal(first.scan_every_days, other.scan_every_days)


def test_public_hosts_mostly_answer_on_web_and_ssh_ports(fleet: Fleet) -> None:
    """On public hosts the open ports are overwhelmingly 443, 80 and 22."""
    public = {
        (r["snapshot_time"], r["asset_id"]) for r in fleet.assets.to_pylist() if r["exposure"] == "public"
    }
    ports = Counter(
        r["port"] for r in fleet.ports.to_pylist() if (r["snapshot_time"], r["asset_id"]) in public
    )
    usual = ports[443] + ports[80] + ports[22]
    assert usual > 0.7 * sum(ports.values())


def test_unexpected_public_ports_come_and_go(fleet: Fleet) -> None:
    """Risky ports such as RDP or databases appear on public hosts for a scan or a few, then close again."""
    public = {
        (r["snapshot_time"], r["asset_id"]) for r in fleet.assets.to_pylist() if r["exposure"] == "public"
    }
    risky = {3389, 5432, 9200, 6379, 27017, 8080, 23}
    seen: dict[tuple[object, object], set[object]] = {}
    for r in fleet.ports.to_pylist():
        if r["port"] in risky and (r["snapshot_time"], r["asset_id"]) in public:
            seen.setdefault((r["asset_id"], r["port"]), set()).add(r["snapshot_time"])
    present = Counter(asset for _, asset in public)
    assert len(seen) >= 3
    assert all(len(times) < present[asset] for (asset, _), times in seen.items())
    assert np.median([len(times) for times in seen.values()]) <= 3
