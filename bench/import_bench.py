"""Import throughput: seclo against a plain-pandas loader, side by side in one run.

Usage:
    python bench/import_bench.py                 # canonical NDJSON and Parquet, syslog (a few million rows)
    python bench/import_bench.py --rows 10000000 # bigger
    python bench/import_bench.py --huge          # also 100M generated auth events: generate + import, peak RSS
    python bench/import_bench.py --only ndjson   # just one input (ndjson, parquet or syslog)
    python bench/import_bench.py --no-pandas     # time seclo only

The pandas loader is what a team would write without seclo: read the file with pandas, check the columns it
needs, and append the frame to the same DuckDB table. It does no duplicate detection and keeps no rejects, so
it does less work than seclo; the ratio is the honest price or gain of seclo's guarantees.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from seclo.generate import generate_organisation
from seclo.importers import ImportOptions, get_importer, import_path
from seclo.store import open_store

FIXTURE = Path(__file__).parents[1] / "tests" / "fixtures" / "logs" / "linux-syslog-2k.log"
SYSLOG_PATTERN = (
    r"^(?P<mon>\w{3}) +(?P<day>\d+) (?P<clock>\d\d:\d\d:\d\d) (?P<host>\S+) (?P<prog>[^:\[]+)(?:\[\d+\])?: "
    r"(?P<msg>.*)$"
)


def _cpu_seconds() -> float:
    """CPU time of this process so far, all threads, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(label: str, rows: int, func: Callable[[], object]) -> float:
    start, cpu = time.perf_counter(), _cpu_seconds()
    func()
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    print(
        f"  {label:<28} {rows:>12,} rows {seconds:8.2f} s {rows / seconds:>14,.0f} rows/s  (CPU {cpu:.2f} s)"
    )
    return seconds


def _pandas_events(db: Path, frame_reader: Callable[[], pd.DataFrame]) -> None:
    frame = frame_reader()
    frame = frame[["time", "user", "outcome", "mfa", "src_ip", "service", "host", "source"]]
    frame = frame.assign(time=pd.to_datetime(frame["time"], utc=True, format="ISO8601").dt.tz_localize(None))
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS auth_events AS SELECT * FROM frame LIMIT 0").fetchall()
        conn.execute("INSERT INTO auth_events SELECT * FROM frame").fetchall()


def _pandas_syslog(db: Path, path: Path) -> None:
    lines = pd.read_csv(path, sep="\x01", header=None, names=["raw"], quoting=3, encoding_errors="replace")
    parts = lines["raw"].str.extract(SYSLOG_PATTERN)
    failure = parts["msg"].str.contains("authentication failure", regex=False, na=False)
    success = parts["msg"].str.contains("session opened for user", regex=False, na=False)
    keep = parts[failure | success].assign(outcome=lambda f: failure.map({True: "failure", False: "success"}))
    keep = keep.assign(
        time=pd.to_datetime(
            "2005 " + keep["mon"] + " " + keep["day"] + " " + keep["clock"], format="%Y %b %d %H:%M:%S"
        ),
        user=keep["msg"].str.extract(r"user=(\S+)|for user (\S+)").bfill(axis=1)[0],
        src_ip=keep["msg"].str.extract(r"rhost=(\S+)")[0],
    )[["time", "user", "outcome", "src_ip", "host"]]
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS auth_events AS SELECT * FROM keep LIMIT 0").fetchall()
        conn.execute("INSERT INTO auth_events SELECT * FROM keep").fetchall()


def _seclo(db: Path, kind: str, path: Path, options: ImportOptions | None = None) -> None:
    with open_store(db) as store:
        result = import_path(store, get_importer(kind), path, options)
    assert result.rows_rejected == 0 or kind == "syslog", result


def _seclo_all(db: Path, kind: str, paths: list[Path]) -> None:
    for path in paths:
        _seclo(db, kind, path)


def _compare(name: str, rows: int, seclo: Callable[[], object], pandas: Callable[[], object] | None) -> None:
    print(f"{name}:")
    s = _timed("seclo", rows, seclo)
    if pandas is None:
        return
    p = _timed("pandas loader", rows, pandas)
    print(f"  ratio: seclo is {p / s:.1f}x the speed of the pandas loader")


def run(rows: int, syslog_lines: int, work: Path, only: str | None = None, *, pandas: bool = True) -> None:
    """Build inputs of the given sizes in `work` and compare the loaders on each (or on `only` that one).

    Without `pandas`, only seclo is timed.
    """
    generated = work / "generated"
    generate_organisation(generated, days=30, seed=1, auth_events=rows)
    parquet = sorted(generated.glob("auth_events*.parquet"))
    with duckdb.connect() as conn:
        conn.execute(
            f"COPY (SELECT * FROM read_parquet({[str(p) for p in parquet]})) TO '{work / 'events.ndjson'}' (FORMAT json)"
        ).fetchall()
        count = int(
            conn.execute(f"SELECT count(*) FROM read_parquet({[str(p) for p in parquet]})").fetchall()[0][0]
        )
    ndjson = work / "events.ndjson"
    print(f"canonical input: {count:,} auth events ({ndjson.stat().st_size / 1e6:,.0f} MB NDJSON)")
    if only in {None, "ndjson"}:
        _compare(
            "canonical NDJSON",
            count,
            lambda: _seclo(work / "a.duckdb", "events", ndjson),
            (lambda: _pandas_events(work / "b.duckdb", lambda: pd.read_json(ndjson, lines=True, dtype=False)))
            if pandas
            else None,
        )
    if only in {None, "parquet"}:
        _compare(
            "canonical Parquet",
            count,
            lambda: _seclo_all(work / "c.duckdb", "events", parquet),
            (
                lambda: _pandas_events(
                    work / "d.duckdb", lambda: pd.concat(pd.read_parquet(p) for p in parquet)
                )
            )
            if pandas
            else None,
        )
    if only not in {None, "syslog"}:
        return
    log = work / "auth.log"
    block = FIXTURE.read_bytes()
    repeats = max(1, syslog_lines // block.count(b"\n"))
    with log.open("wb") as handle:
        for _ in range(repeats):
            handle.write(block)
    lines = repeats * block.count(b"\n")
    _compare(
        "syslog",
        lines,
        lambda: _seclo(work / "e.duckdb", "syslog", log, ImportOptions(year=2005)),
        (lambda: _pandas_syslog(work / "f.duckdb", log)) if pandas else None,
    )


def _child(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "seclo", *argv], check=True)  # noqa: S603 - our own CLI
    return time.perf_counter() - start


def huge(work: Path, events: int) -> None:
    """Generate and import `events` auth events in child processes and report wall time and peak RSS."""
    ws, gen = work / "huge", work / "huge" / "gen"
    seconds = _child(
        ["generate", "--days", "90", "--seed", "3", "--auth-events", str(events), "--out", str(gen)]
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  generate {events:>14,} events {seconds:8.1f} s {events / seconds:>12,.0f}/s  peak RSS {peak:,.0f} MB"
    )
    files = sorted(str(p) for p in gen.glob("auth_events*.parquet"))
    seconds = _child(["import", "events", *files, "--workspace", str(ws)])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  import   {events:>14,} events {seconds:8.1f} s {events / seconds:>12,.0f}/s  peak RSS (max of both) {peak:,.0f} MB"
    )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=3_000_000, help="canonical auth events")
    parser.add_argument("--syslog-lines", type=int, default=2_000_000)
    parser.add_argument("--huge", action="store_true", help="also 100M generated auth events")
    parser.add_argument("--huge-events", type=int, default=100_000_000)
    parser.add_argument("--only", choices=["ndjson", "parquet", "syslog"], help="run just this input")
    parser.add_argument(
        "--no-pandas", action="store_true", help="time seclo only, not the pandas loader (for iterating)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seclo-bench-"))
    try:
        run(args.rows, args.syslog_lines, work, args.only, pandas=not args.no_pandas)
        if args.huge:
            print("generate + import, each in its own process:")
            huge(work, args.huge_events)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
