"""The playbook latency benchmark runs end to end on a small load and reports figures that add up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "bench" / "playbook_bench.py"


def test_bench_starts_every_first_step_and_records_every_run() -> None:
    """20 webhooks/s for 1 s: both designs start 20 first steps, record 20 runs and keep the chain intact."""
    done = subprocess.run(
        [sys.executable, str(BENCH), "--rate", "20", "--seconds", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    rows = {
        cells[0]: dict(zip(header, cells, strict=True))
        for cells in ([cell.strip() for cell in line.strip("|").split("|")] for line in table[1:])
    }
    assert set(rows) == {"seclo", "naive"}
    for row in rows.values():
        assert (
            row["webhooks"] == row["received"] == row["first steps started"] == row["runs recorded"] == "20"
        )
        assert row["audit records"] == "100"  # decision, run_start, step_start, step_end, run_end per run
        assert row["chain"] == "intact"
        p50, p95, p99, most = (float(row[k]) for k in ("p50 ms", "p95 ms", "p99 ms", "max ms"))
        assert 0 <= p50 <= p95 <= p99 <= most
        assert float(row["receiver CPU s"]) > 0
