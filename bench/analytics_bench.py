"""`seclo analyze` persistence, SLA and DORA over 10M findings and 1M deployments, against plain pandas.

Usage:
    python bench/analytics_bench.py                               # 10M findings, 1M deployments
    python bench/analytics_bench.py --findings 100000 --deployments 10000

The data is synthetic and built inside an in-memory store with SQL (lognormal times to fix per severity,
weekly-scanned assets, deployments with commits, outages), so the bench measures the analyses, not an
import. seclo's figures are the library calls (analyze_persistence, analyze_sla, analyze_dora) after the
modules are imported. The pandas side is what a team would write without seclo: read the rows out of the
store into DataFrames, compute durations per row, fit lifelines on one row per finding, count SLA outcomes
with boolean masks, link incidents with merge_asof. Both report the same numbers, and the script checks that
they agree. Wall and CPU time (process_time, all threads) are printed for each side, because the machine is
shared.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np
import pandas as pd

from seclo.analytics.dora import analyze_dora
from seclo.analytics.interface import Window
from seclo.analytics.persistence import analyze_persistence
from seclo.analytics.sla import analyze_sla
from seclo.store import Store, open_store
from seclo.store.sql import run

AT = datetime(2026, 11, 23)
SINCE = AT - timedelta(days=730)
SLA = {"critical": 7, "high": 30, "medium": 90, "low": 120}
T = TypeVar("T")


def build(store: Store, findings: int, deployments: int) -> None:
    """Synthetic findings, assets, deployments and incidents, written by DuckDB itself."""
    run(
        store.conn,
        f"""INSERT INTO assets (snapshot_time, asset_id, team, criticality)
SELECT TIMESTAMP '{SINCE}' + to_days(7 * w), 'asset-' || a, 'team-' || (a % 8),
       ['critical', 'high', 'medium', 'low'][1 + a % 4]
FROM range(20000) AS r(a), range(105) AS s(w)""",
    )
    run(
        store.conn,
        f"""INSERT INTO findings (finding_id, asset_id, vuln_id, severity, opened_at, closed_at, status)
SELECT 'f' || i, 'asset-' || (hash(i) % 20000), 'CVE-1', sev, opened,
       CASE WHEN closed <= TIMESTAMP '{AT}' THEN closed END,
       CASE WHEN closed <= TIMESTAMP '{AT}' THEN 'closed' ELSE 'open' END
FROM (
  SELECT i, sev, opened,
         opened + to_microseconds(CAST(86400e6 * med * exp(sig * sqrt(-2 * ln(random())) * cos(2 * pi() * random())) AS BIGINT)) AS closed
  FROM (
    SELECT i, ['critical', 'high', 'medium', 'low'][1 + i % 4] AS sev,
           [5.0, 20.0, 60.0, 100.0][1 + i % 4] AS med, [0.8, 0.9, 1.0, 1.1][1 + i % 4] AS sig,
           TIMESTAMP '{SINCE}' + to_microseconds(CAST(random() * 730 * 86400e6 AS BIGINT)) AS opened
    FROM range({findings}) AS r(i)))""",
    )
    run(
        store.conn,
        f"""INSERT INTO deployments (deploy_id, service, env, finished_at, result, team, commits)
SELECT 'd' || i, 'svc-' || (i % 50), CASE WHEN i % 5 = 0 THEN 'staging' ELSE 'production' END, t,
       CASE WHEN random() < 0.08 THEN 'failure' ELSE 'success' END, 'team-' || (i % 8),
       [{{'sha': 's', 'committed_at': t - to_microseconds(CAST(3600e6 * 20 * exp(random()) AS BIGINT))}}]
FROM (SELECT i, TIMESTAMP '{SINCE}' + to_microseconds(CAST(random() * 730 * 86400e6 AS BIGINT)) AS t
      FROM range({deployments}) AS r(i))""",
    )
    run(
        store.conn,
        f"""INSERT INTO incidents (incident_id, kind, service, occurred_at, detected_at, resolved_at)
SELECT 'i' || i, 'outage', 'svc-' || (i % 50), t, t, t + INTERVAL 2 HOUR
FROM (SELECT i, TIMESTAMP '{SINCE}' + to_microseconds(CAST(random() * 730 * 86400e6 AS BIGINT)) AS t
      FROM range({deployments // 20}) AS r(i))""",
    )


Timing = dict[str, tuple[float, float]]  # analysis -> (wall, cpu) in seconds


def timed(timing: Timing, name: str, analysis: Callable[[], T]) -> T:
    """Run one analysis, recording its wall and CPU time under `name`."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = analysis()
    timing[name] = (time.perf_counter() - wall, time.process_time() - cpu)
    return result


def seclo_side(store: Store) -> tuple[dict[str, float], Timing]:
    timing: Timing = {}
    persistence = timed(timing, "persistence", lambda: analyze_persistence(store, AT))
    sla = timed(timing, "sla", lambda: analyze_sla(store, Window(AT - timedelta(days=90), AT)))
    dora = timed(timing, "dora", lambda: analyze_dora(store, Window(SINCE, AT)))
    numbers = {
        "half_life_all": persistence.overall().half_life,
        **{f"half_life_{c.group}": c.half_life for c in persistence.by("severity")},
        **{f"within_{s.severity}": float(s.within_sla) for s in sla.severities},
        **{f"past_{s.severity}": float(s.open_past_sla) for s in sla.severities},
        "deployments": float(dora.overall().deployments),
        "change_failures": float(dora.overall().change_failures),
        "lead_time_hours": dora.overall().lead_time_hours,
    }
    return numbers, timing


def pandas_side(store: Store) -> tuple[dict[str, float], float, float]:
    from lifelines import KaplanMeierFitter  # noqa: PLC0415

    wall, cpu = time.perf_counter(), time.process_time()
    f = store.conn.execute("SELECT severity, opened_at, closed_at, status FROM findings").df()
    closed = f["closed_at"].notna() & (f["closed_at"] <= AT)
    end = f["closed_at"].where(closed, AT)
    hours = np.ceil((end - f["opened_at"]).dt.total_seconds() / 3600)
    numbers: dict[str, float] = {}
    for name, mask in [("all", slice(None)), *((s, f["severity"] == s) for s in SLA)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kmf = KaplanMeierFitter().fit(hours[mask] / 24, event_observed=closed[mask])
        numbers[f"half_life_{name}"] = float(kmf.median_survival_time_)
    deadline = f["opened_at"] + pd.to_timedelta(f["severity"].map(SLA), unit="D")
    within = closed & (f["closed_at"] <= deadline)
    past = ~closed & (deadline < AT)
    for s in SLA:
        numbers[f"within_{s}"] = float((within & (f["severity"] == s)).sum())
        numbers[f"past_{s}"] = float((past & (f["severity"] == s)).sum())
    numbers["within_all"], numbers["past_all"] = float(within.sum()), float(past.sum())

    d = store.conn.execute(
        "SELECT deploy_id, service, env, finished_at, result, commits FROM deployments"
    ).df()
    d = d[(d["env"] == "production") & (d["finished_at"] >= SINCE) & (d["finished_at"] < AT)]
    inc = store.conn.execute("SELECT service, occurred_at FROM incidents WHERE kind = 'outage'").df()
    inc = inc[(inc["occurred_at"] >= SINCE) & (inc["occurred_at"] < AT)].sort_values("occurred_at")
    linked = pd.merge_asof(
        inc,
        d[["deploy_id", "service", "finished_at"]].sort_values("finished_at"),
        left_on="occurred_at",
        right_on="finished_at",
        by="service",
        direction="backward",
    )
    linked = linked[(linked["occurred_at"] - linked["finished_at"]) <= pd.Timedelta(hours=24)]
    failed = (d["result"] != "success") | d["deploy_id"].isin(linked["deploy_id"])
    numbers["deployments"], numbers["change_failures"] = float(len(d)), float(failed.sum())
    ok = d[d["result"] == "success"]
    commit_times = ok["commits"].map(lambda cs: [c["committed_at"] for c in cs]).explode()
    lead = (ok["finished_at"].loc[commit_times.index] - pd.to_datetime(commit_times)).dt.total_seconds()
    numbers["lead_time_hours"] = float(np.median(lead / 3600))
    return numbers, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=10_000_000)
    parser.add_argument("--deployments", type=int, default=1_000_000)
    args = parser.parse_args()
    with open_store(None, memory_limit="4GB") as store:
        started = time.perf_counter()
        build(store, args.findings, args.deployments)
        print(
            f"built {args.findings:,} findings, {args.deployments:,} deployments in {time.perf_counter() - started:.1f} s"
        )
        analyze_persistence(store, AT - timedelta(days=700))  # warm imports (lifelines, pandas) and caches
        ours, timing = seclo_side(store)
        wall, cpu = (sum(t[i] for t in timing.values()) for i in (0, 1))
        print(f"seclo  persistence + sla + dora: wall {wall:.2f} s, cpu {cpu:.2f} s")
        for name, (w, c) in timing.items():
            print(f"  {name:12} wall {w:6.2f} s, cpu {c:6.2f} s")
        theirs, pwall, pcpu = pandas_side(store)
        print(f"pandas persistence + sla + dora: wall {pwall:.2f} s, cpu {pcpu:.2f} s")
        print(f"pandas / seclo: wall {pwall / wall:.1f}x, cpu {pcpu / cpu:.1f}x")
        for key, value in ours.items():
            other = theirs.get(key)
            if other is None:
                continue
            agree = np.isclose(value, other, rtol=1e-9) or (np.isinf(value) and np.isinf(other))
            print(f"  {key:22} seclo {value:14.4f}  pandas {other:14.4f}  {'agree' if agree else 'DIFFER'}")
            assert agree, key
        print(f"goal <= 10 s wall for seclo: {'met' if wall <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
