"""The background refresh: fresh bytes after a refresh, the previous figures while the store is locked."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from seclo.server.inbox import AlertInbox
from seclo.server.refresher import Refresher
from seclo.store import open_store
from seclo.workspace import Workspace

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: login}
spec:
  service: identity
  indicator:
    metadata: {name: login}
    spec:
      ratioMetric:
        rawType: success
        raw: {metricSource: {type: seclo, spec: {indicator: login_success}}}
  budgetingMethod: Occurrences
  objectives: [{target: 0.9}]
"""

HOLD_LOCK = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.readline()
"""


def test_a_locked_store_keeps_the_last_figures_and_counts_the_error(tmp_path: Path) -> None:
    """While another process holds the store, scrapes still get the last figures and the error is counted."""
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "login.yaml").write_text(SLO)
    path = tmp_path / ".seclo" / "store.duckdb"
    with open_store(path) as store:
        store.conn.execute(
            "INSERT INTO auth_events (time, outcome) SELECT now()::TIMESTAMP - INTERVAL 1 MINUTE, 'success' "
            "FROM range(7)"
        ).fetchall()
    refresher = Refresher(Workspace.open(tmp_path), timedelta(seconds=60))
    try:
        _check_refreshes(refresher, path)
    finally:
        refresher.stop()


def _check_refreshes(refresher: Refresher, path: Path) -> None:
    assert b"seclo_sli_events_total" not in refresher.exposition.plain  # health only before a refresh
    assert refresher.refresh()
    line = b'seclo_sli_events_total{objective="0",service="identity",slo="login"} 7.0'
    assert line in refresher.exposition.plain
    assert gzip.decompress(refresher.exposition.gzipped) == refresher.exposition.plain
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        assert not refresher.refresh()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert refresher.refresh_errors == 1
    assert line in refresher.exposition.plain
    assert b"seclo_exporter_refresh_errors_total 1.0" in refresher.exposition.plain


def _workspace_with_slo(tmp_path: Path) -> Workspace:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "login.yaml").write_text(SLO)
    open_store(tmp_path / ".seclo" / "store.duckdb").close()
    return Workspace.open(tmp_path)


def test_a_killed_worker_process_is_replaced_at_the_next_refresh(tmp_path: Path) -> None:
    """SIGKILL of the refresh worker costs one counted failure; the next refresh starts a new worker."""
    refresher = Refresher(_workspace_with_slo(tmp_path), timedelta(seconds=60))
    try:
        assert refresher.refresh()
        pool = refresher._pool
        assert pool is not None
        (worker,) = pool._processes.values()  # the executor has no public process table
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(timeout=30)
        assert not refresher.refresh()
        assert refresher.refresh()
        assert refresher._pool is not pool
    finally:
        refresher.stop()
    assert refresher.refresh_errors == 1
    assert b"seclo_exporter_refresh_errors_total 1.0" in refresher.exposition.plain


def test_the_thread_survives_a_failing_step_after_each_refresh(tmp_path: Path) -> None:
    """A playbook evaluation that raises is counted as a refresh error each time; refreshing goes on."""
    refresher = Refresher(_workspace_with_slo(tmp_path), timedelta(milliseconds=200))
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise RuntimeError("cannot schedule new futures after shutdown")

    refresher.on_refresh = failing
    refresher.start()
    try:
        end = time.monotonic() + 60
        while len(calls) < 3 and time.monotonic() < end:
            time.sleep(0.05)
        assert len(calls) >= 3
        assert refresher._thread is not None
        assert refresher._thread.is_alive()
    finally:
        refresher.stop()
    assert refresher.refresh_errors >= 2


def test_a_merge_that_waits_for_a_locked_store_is_counted_and_done_later(tmp_path: Path) -> None:
    """While another process holds the store, the inbox merge fails and is counted; once freed, it merges."""
    workspace = _workspace_with_slo(tmp_path)
    inbox = AlertInbox(tmp_path / ".seclo" / "inbox")
    payload = {
        "version": "4",
        "groupKey": "g",
        "status": "firing",
        "receiver": "seclo",
        "alerts": [
            {"status": "firing", "labels": {}, "startsAt": "2026-11-23T08:00:00Z", "fingerprint": "f"}
        ],
    }
    inbox.accept(payload, datetime(2026, 11, 23, 10, tzinfo=UTC))
    refresher = Refresher(workspace, timedelta(seconds=60), inbox)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(workspace.store_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        assert not refresher.merge_inbox()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert b"seclo_inbox_merge_errors_total 1.0" in refresher.exposition.plain
    assert refresher.merge_inbox()
    assert not inbox.pending()
    assert refresher.merge_errors == 1
