"""`seclo slo status` on 100M auth events: seclo against a plain-pandas evaluation, side by side in one run.

Usage:
    python bench/slo_bench.py --workspace /tmp/ws100m          # reuse a generated + imported workspace
    python bench/slo_bench.py --events 1000000 --pandas-events 1000000   # small, pandas on the full data

Eight SecLOs (90-day rolling windows, 5-minute slices) are written as OpenSLO files into a separate bench
workspace folder (WORKSPACE/bench-slo) whose seclo.yaml points at the existing store, so the workspace's own
slos/ stay as they are. `seclo slo status --format json` runs as a child process: its wall time and peak RSS
(from wait4, the child's own rusage) are seclo's figures.

The pandas side is what a team would write without seclo: read the needed columns out of the store with a
plain SELECT, then floor to 5-minute slices, groupby, forward-fill snapshots and sum, following the
definitions in docs/sli-catalog.md and docs/slo-status.md. 100M rows of strings do not fit in pandas within
reason, so unless --pandas-events is at least --events, pandas runs on a smaller organisation generated with
the same seed (seclo runs on it too, so the agreement check is exact) and its event-driven time is
extrapolated linearly to the full size; the inventory part (which does not grow with events) is not scaled.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from seclo.demo import import_generated
from seclo.generate import generate_organisation
from seclo.slo.burn_rate import BURN_RATE_WINDOWS
from seclo.slo.status import SNAPSHOT_LOOKBACK
from seclo.workspace import Workspace

STEP = timedelta(minutes=5)
FREQ = "5min"
SEED = 3
TOLERANCE = 1e-9
NOT_COUNTED = ("false_positive", "accepted")
PERSONAL = ("human", "admin")
ALLOWED_PORTS = ("443/tcp", "80/tcp")
BRUTE_FORCE_THRESHOLD = 10
STALE_DAYS = 90
DETECT_TARGET = timedelta(hours=1)
_LONGEST_BURN_WINDOW = max(window for _, window in BURN_RATE_WINDOWS)


@dataclass(frozen=True, slots=True)
class BenchSlo:
    """One objective of the bench set."""

    name: str
    indicator: str
    params: str
    budgeting: str
    target: float
    time_slice_target: float | None = None


SLOS = (
    BenchSlo("login-success", "login_success", "{}", "Occurrences", 0.99),
    BenchSlo("login-success-slices", "login_success", "{}", "Timeslices", 0.95, 0.9),
    BenchSlo(
        "brute-force-pressure",
        "brute_force_pressure",
        f"{{threshold: {BRUTE_FORCE_THRESHOLD}}}",
        "Occurrences",
        0.99,
    ),
    BenchSlo("mfa-coverage", "mfa_coverage", "{}", "Occurrences", 0.98),
    BenchSlo("orphaned-accounts", "orphaned_accounts", f"{{stale_days: {STALE_DAYS}}}", "Occurrences", 0.99),
    BenchSlo("unexpected-public-ports", "unexpected_public_ports", "{}", "Occurrences", 0.99),
    BenchSlo("patch-latency", "patch_latency", "{}", "Occurrences", 0.95),
    BenchSlo("time-to-detect", "time_to_detect", "{target: 1h, kind: security}", "Occurrences", 0.9),
)
TARGETS = {slo.name: slo for slo in SLOS}


@dataclass(frozen=True, slots=True)
class Figures:
    """What both sides report per SLO: attainment and the fraction of the error budget left (NaN: no data)."""

    attainment: float
    remaining: float


@dataclass(frozen=True, slots=True)
class SecloRun:
    """One `seclo slo status` child process."""

    figures: dict[str, Figures]
    seconds: float
    peak_mb: float


@dataclass(frozen=True, slots=True)
class PandasRun:
    """The pandas evaluation, its time split into the part that grows with events and the part that does not."""

    figures: dict[str, Figures]
    event_seconds: float
    inventory_seconds: float


def _slo_yaml(slo: BenchSlo, days: int) -> str:
    objective = f"    - displayName: {slo.name}\n      target: {slo.target}\n"
    if slo.time_slice_target is not None:
        objective += f"      timeSliceTarget: {slo.time_slice_target}\n      timeSliceWindow: 5m\n"
    return f"""apiVersion: openslo/v1
kind: SLO
metadata:
  name: {slo.name}
spec:
  service: bench
  indicator:
    metadata:
      name: {slo.name}
    spec:
      ratioMetric:
        rawType: success
        raw:
          metricSource:
            type: seclo
            spec:
              indicator: {slo.indicator}
              params: {slo.params}
  timeWindow:
    - duration: {days}d
      isRolling: true
  budgetingMethod: {slo.budgeting}
  objectives:
{objective}"""


def write_bench_workspace(folder: Path, store: Path, days: int) -> Path:
    """A workspace at `folder` holding the bench SLOs, its seclo.yaml pointing at `store` (used read-only)."""
    slos = folder / "slos"
    slos.mkdir(parents=True, exist_ok=True)
    for old in slos.glob("*.yaml"):
        old.unlink()
    (folder / "seclo.yaml").write_text(
        f"apiVersion: seclo/v1\nkind: Workspace\nstore:\n  path: {store.resolve()}\n", encoding="utf-8"
    )
    for slo in SLOS:
        (slos / f"{slo.name}.yaml").write_text(_slo_yaml(slo, days), encoding="utf-8")
    return folder


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def run_seclo(workspace: Path, at: datetime) -> SecloRun:
    """Run `seclo slo status --format json` as a child process; wall time, peak RSS and the figures."""
    argv = [sys.executable, "-m", "seclo", "slo", "status", "--format", "json"]
    argv += ["--at", at.isoformat() + "Z", "--workspace", str(workspace)]
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE)  # noqa: S603 - our own CLI
    assert child.stdout is not None
    output = child.stdout.read()
    # wait4 gives this child's own rusage, so earlier children (generate, import) do not leak into the peak.
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: an objective is breached or alerting, which is a result, not a failure
        raise RuntimeError(f"seclo slo status exited with {code}")
    document = json.loads(output)
    figures = {
        entry["name"]: Figures(
            _nan(entry["attainment"]),
            _nan(entry["budget"]["remaining_fraction"] if entry["budget"] else None),
        )
        for entry in document["slos"]
    }
    return SecloRun(figures, seconds, usage.ru_maxrss / 1024)


# ---- the pandas implementation ---------------------------------------------------------------------------


def _figures(weight: float, bad: float, target: float, scale: float) -> Figures:
    """Attainment and budget left from the summed weight and bad amount (docs/slo-status.md)."""
    attainment = 1.0 - bad / weight if weight > 0 else math.nan
    allowed, consumed = (1.0 - target) * weight * scale, bad * scale
    return Figures(attainment, 1.0 - consumed / allowed if allowed > 0 else math.nan)


def _in_period(slices: pd.DataFrame, start: datetime, at: datetime) -> pd.DataFrame:
    """Complete slices of the period: starting at or after its start and ending by `at`."""
    begins = slices.index.to_series()
    return slices[(begins >= start) & (begins + STEP <= at)]


def _events_slo(slo: BenchSlo, slices: pd.DataFrame, start: datetime, at: datetime) -> Figures:
    """Evaluate per-slice good/total counts of events under the SLO's budgeting method."""
    inside = _in_period(slices, start, at)
    if slo.budgeting == "Occurrences":
        return _figures(
            float(inside["total"].sum()), float((inside["total"] - inside["good"]).sum()), slo.target, 1.0
        )
    has_data = inside[inside["total"] > 0]
    assert slo.time_slice_target is not None
    bad = (has_data["good"] / has_data["total"] < slo.time_slice_target).sum()
    return _figures(float(len(has_data)), float(bad), slo.target, STEP / timedelta(minutes=1))


def _per_slice(times: pd.Series, good: pd.Series) -> pd.DataFrame:
    """good and total per 5-minute slice of events at `times`."""
    frame = pd.DataFrame({"slice_start": times.dt.floor(FREQ), "good": good.astype(bool)})
    return frame.groupby("slice_start").agg(good=("good", "sum"), total=("good", "size"))


def _snapshot_slo(
    slo: BenchSlo, per_snapshot: pd.DataFrame, first: datetime, start: datetime, at: datetime
) -> Figures:
    """Carry each snapshot's counts forward over the 5-minute slices and sum the item-slices of the period."""
    snaps = per_snapshot[(per_snapshot["snapshot_time"] >= first) & (per_snapshot["snapshot_time"] < at)]
    snaps = snaps.sort_values("snapshot_time")
    snaps = snaps.assign(slice_start=snaps["snapshot_time"].dt.floor(FREQ)).groupby("slice_start").last()
    grid = pd.date_range(first, at, freq=FREQ, inclusive="left")
    held = snaps[["good", "total"]].astype(float).reindex(grid)
    held.loc[~(held["total"] > 0), :] = np.nan  # an empty snapshot is no snapshot: the previous one holds
    held = held.ffill().fillna(0.0)
    inside = _in_period(held, start, at)
    return _figures(
        float(inside["total"].sum()),
        float((inside["total"] - inside["good"]).sum()),
        slo.target,
        STEP / timedelta(minutes=1),
    )


def _is(values: pd.Series, value: bool) -> pd.Series:
    """values == value, with unknown (NULL) as False."""
    return values.eq(value).fillna(False).astype(bool)


def _count(frame: pd.DataFrame, good: pd.Series) -> pd.DataFrame:
    """Per snapshot_time: distinct account_id that are good, and all of them."""
    total = frame.groupby("snapshot_time")["account_id"].nunique()
    passed = frame[good].groupby("snapshot_time")["account_id"].nunique()
    return pd.DataFrame({"good": passed.reindex(total.index, fill_value=0), "total": total}).reset_index()


def _delayed_events(began: pd.Series, ended: pd.Series, allowed: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Event time and in-time flag of items due `allowed` after `began` (closed or detected at `ended`)."""
    deadline = began + allowed
    in_time = (ended <= deadline).fillna(False).astype(bool)
    return ended.where(in_time, deadline), in_time


def _pandas_auth(store: Path, start: datetime, at: datetime, figures: dict[str, Figures]) -> None:
    """The three SLOs over auth events: the part that grows with the number of events."""
    with duckdb.connect(str(store), read_only=True) as conn:
        events = conn.execute("SELECT time, outcome, src_ip FROM auth_events").fetch_df()
    events = events[(events["time"] < at)]
    login = _per_slice(events["time"], events["outcome"].eq("success"))
    figures["login-success"] = _events_slo(TARGETS["login-success"], login, start, at)
    figures["login-success-slices"] = _events_slo(TARGETS["login-success-slices"], login, start, at)
    failures = events[events["outcome"].eq("failure") & events["src_ip"].notna()]
    per_source = (
        failures.assign(slice_start=failures["time"].dt.floor(FREQ))
        .groupby(["slice_start", "src_ip"])
        .size()
        .rename("failures")
        .reset_index()
    )
    per_source["below"] = per_source["failures"] < BRUTE_FORCE_THRESHOLD
    brute = per_source.groupby("slice_start").agg(good=("below", "sum"), total=("below", "size"))
    figures["brute-force-pressure"] = _events_slo(TARGETS["brute-force-pressure"], brute, start, at)


def _pandas_inventories(
    store: Path, start: datetime, at: datetime, sla_days: dict[str, int], figures: dict[str, Figures]
) -> None:
    """The five SLOs over inventories, findings and incidents: they do not grow with auth events."""
    with duckdb.connect(str(store), read_only=True) as conn:
        accounts = conn.execute("SELECT * FROM accounts").fetch_df()
        assets = conn.execute("SELECT * FROM assets").fetch_df()
        ports = conn.execute("SELECT * FROM ports").fetch_df()
        findings = conn.execute("SELECT * FROM findings").fetch_df()
        incidents = conn.execute("SELECT * FROM incidents").fetch_df()
    first = start - _LONGEST_BURN_WINDOW - SNAPSHOT_LOOKBACK
    first = datetime(1970, 1, 1) + (first - datetime(1970, 1, 1)) // STEP * STEP
    enabled = accounts[~_is(accounts["disabled"], True)]
    personal = enabled[enabled["type"].isin(PERSONAL)]
    mfa = _count(personal, _is(personal["mfa_enabled"], True))
    figures["mfa-coverage"] = _snapshot_slo(TARGETS["mfa-coverage"], mfa, first, start, at)
    recent = enabled["last_login"] >= enabled["snapshot_time"] - pd.Timedelta(days=STALE_DAYS)
    owned = _count(enabled, ~_is(enabled["owner_active"], False) & recent.fillna(False).astype(bool))
    figures["orphaned-accounts"] = _snapshot_slo(TARGETS["orphaned-accounts"], owned, first, start, at)

    open_ports = ports[ports["state"].eq("open")][["snapshot_time", "asset_id", "port", "protocol"]]
    open_ports = open_ports.drop_duplicates().sort_values("snapshot_time")
    exposure = assets[assets["snapshot_time"] < at].assign(public=assets["exposure"].eq("public"))
    exposure = exposure.groupby(["asset_id", "snapshot_time"])["public"].any().reset_index()
    joined = pd.merge_asof(
        open_ports, exposure.sort_values("snapshot_time"), on="snapshot_time", by="asset_id"
    )
    public = joined[_is(joined["public"], True)]
    expected = (public["port"].astype(str) + "/" + public["protocol"]).isin(ALLOWED_PORTS)
    ports_good = public.assign(good=expected).groupby("snapshot_time")["good"].agg(["sum", "size"])
    ports_good = ports_good.rename(columns={"sum": "good", "size": "total"}).reset_index()
    figures["unexpected-public-ports"] = _snapshot_slo(
        TARGETS["unexpected-public-ports"], ports_good, first, start, at
    )

    counted = findings[findings["status"].notna() & ~findings["status"].isin(NOT_COUNTED)]
    counted = counted[counted["severity"].isin(list(sla_days))]
    allowed = pd.to_timedelta(counted["severity"].map(sla_days).astype(float), unit="D")
    t, in_time = _delayed_events(counted["opened_at"], counted["closed_at"], allowed)
    patch = _per_slice(t, in_time)
    figures["patch-latency"] = _events_slo(TARGETS["patch-latency"], patch, start, at)

    security = incidents[incidents["kind"].eq("security") & incidents["occurred_at"].notna()]
    t, in_time = _delayed_events(
        security["occurred_at"],
        security["detected_at"],
        pd.Series(pd.Timedelta(DETECT_TARGET), security.index),
    )
    figures["time-to-detect"] = _events_slo(TARGETS["time-to-detect"], _per_slice(t, in_time), start, at)


def run_pandas(store: Path, at: datetime, days: int, sla_days: dict[str, int]) -> PandasRun:
    """Evaluate the bench SLOs with plain pandas over the store's tables."""
    start = at - timedelta(days=days)
    figures: dict[str, Figures] = {}
    clock = time.perf_counter()
    _pandas_auth(store, start, at, figures)
    event_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    _pandas_inventories(store, start, at, sla_days, figures)
    return PandasRun(figures, event_seconds, time.perf_counter() - clock)


# ---- comparing and driving ---------------------------------------------------------------------------------


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def compare(seclo: dict[str, Figures], pandas: dict[str, Figures]) -> list[str]:
    """Print both sides' figures per SLO; return the names of the SLOs on which they disagree."""
    print(f"  {'slo':<24} {'seclo attainment':>18} {'pandas':>18} {'seclo budget left':>18} {'pandas':>18}")
    differ: list[str] = []
    for slo in SLOS:
        s, p = seclo[slo.name], pandas[slo.name]
        ok = _same(s.attainment, p.attainment) and _same(s.remaining, p.remaining)
        print(
            f"  {slo.name:<24} {s.attainment:>18.12f} {p.attainment:>18.12f} "
            f"{s.remaining:>18.12f} {p.remaining:>18.12f}  {'agree' if ok else 'DIFFER'}"
        )
        if not ok:
            differ.append(slo.name)
    return differ


def evaluation_time(store: Path) -> datetime:
    """The end of the data: the 5-minute boundary after the last auth event."""
    with duckdb.connect(str(store), read_only=True) as conn:
        last = conn.execute("SELECT max(time) FROM auth_events").fetchall()[0][0]
    if last is None:
        raise RuntimeError(f"{store}: no auth events")
    assert isinstance(last, datetime)
    epoch = datetime(1970, 1, 1)
    return epoch + ((last - epoch) // STEP + 1) * STEP


def _event_count(store: Path) -> int:
    if not store.exists():
        return 0
    with duckdb.connect(str(store), read_only=True) as conn:
        tables = {row[0] for row in conn.execute("SHOW TABLES").fetchall()}
        if "auth_events" not in tables:
            return 0
        return int(conn.execute("SELECT count(*) FROM auth_events").fetchall()[0][0])


def ensure_organisation(root: Path, events: int, days: int, end: datetime | None = None) -> Path:
    """The store of a workspace at `root` holding `events` generated auth events (generated if missing)."""
    workspace = Workspace.open(root)
    found = _event_count(workspace.store_path)
    if found == events:
        return workspace.store_path
    if found:
        raise RuntimeError(f"{workspace.store_path} holds {found:,} auth events, not {events:,}")
    print(f"generating and importing {events:,} auth events into {root} ...", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    folder = root / "data" / "generated"
    generate_organisation(folder, days=days, seed=SEED, auth_events=events, end=end)
    import_generated(workspace, folder)
    return workspace.store_path


def check_agreement(
    root: Path, store: Path, days: int, at: datetime
) -> tuple[SecloRun, PandasRun, list[str]]:
    """Run both sides on one store and compare; the bench workspace is written at `root`."""
    bench = write_bench_workspace(root, store, days)
    sla = Workspace.open(bench).settings.sla_days.model_dump()
    seclo = run_seclo(bench, at)
    pandas = run_pandas(store, at, days, sla)
    return seclo, pandas, compare(seclo.figures, pandas.figures)


def run(workspace: Path, events: int, days: int, pandas_events: int, repeats: int) -> int:
    """Benchmark on the full organisation and check agreement; 1 when the two sides disagree."""
    store = ensure_organisation(workspace, events, days)
    at = evaluation_time(store)
    bench = write_bench_workspace(workspace / "bench-slo", store, days)
    print(f"store {store}: {events:,} auth events, evaluated at {at.isoformat()}Z, {len(SLOS)} SLOs")
    runs = [run_seclo(bench, at) for _ in range(repeats)]
    wall = statistics.median(r.seconds for r in runs)
    peak = max(r.peak_mb for r in runs)
    print(
        f"seclo slo status, full size: {', '.join(f'{r.seconds:.2f} s' for r in runs)} (median {wall:.2f} s)"
    )
    print(f"  peak RSS {peak:,.0f} MB")

    if pandas_events >= events:
        sub_store, sub_events = store, events
        print("pandas on the full data:")
    else:
        sub_root = workspace / f"bench-slo-subset-{pandas_events}"
        sub_store = ensure_organisation(sub_root, pandas_events, days, end=at)
        sub_events = pandas_events
        print(f"pandas on a {pandas_events:,}-event organisation (same seed, inventories alike), seclo too:")
    sub_at = at if sub_store == store else evaluation_time(sub_store)
    seclo_sub, pandas_run, differ = check_agreement(
        workspace / "bench-slo-check", sub_store, days, max(at, sub_at)
    )
    pandas_wall = pandas_run.event_seconds + pandas_run.inventory_seconds
    print(
        f"  at {sub_events:,} events: seclo {seclo_sub.seconds:.2f} s, pandas {pandas_wall:.2f} s "
        f"(events {pandas_run.event_seconds:.2f} s + inventories {pandas_run.inventory_seconds:.2f} s), "
        f"ratio {pandas_wall / seclo_sub.seconds:.1f}x"
    )
    if sub_events != events:
        scaled = pandas_run.event_seconds * events / sub_events + pandas_run.inventory_seconds
        print(
            f"  pandas at {events:,} events EXTRAPOLATED linearly from {sub_events:,}: "
            f"{scaled:.1f} s (event part x{events / sub_events:.0f}, inventory part as measured)"
        )
        pandas_full, label = scaled, "pandas (extrapolated)"
    else:
        pandas_full, label = pandas_wall, "pandas"
    print("summary:")
    print(f"  seclo wall {wall:.2f} s (goal <= 3 s), peak RSS {peak:,.0f} MB (goal <= 2048 MB)")
    print(f"  {label} wall {pandas_full:.1f} s")
    print(f"  ratio: seclo is {pandas_full / wall:.1f}x the speed of pandas (goal >= 20x)")
    print(
        f"  agreement: {'all ' + str(len(SLOS)) + ' SLOs agree' if not differ else 'DIFFER: ' + ', '.join(differ)}"
    )
    return 1 if differ else 0


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000_000, help="auth events of the organisation")
    parser.add_argument("--days", type=int, default=90, help="days generated and the SLO window")
    parser.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="a workspace holding exactly --events auth events (generated and imported when empty) "
        "[default: TMP/seclo-slo-bench-EVENTS]",
    )
    parser.add_argument(
        "--pandas-events", type=int, default=10_000_000, help="size pandas runs at (>= --events: full data)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="seclo runs at full size (median reported)")
    args = parser.parse_args()
    workspace: Path = args.workspace or Path(tempfile.gettempdir()) / f"seclo-slo-bench-{args.events}"
    sys.exit(run(workspace.resolve(), args.events, args.days, args.pandas_events, args.repeats))


if __name__ == "__main__":
    main()
