"""Users' SQL (seclo query, sql SLIs, store_query probes) reads the store's tables and nothing else."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from seclo.cli import main
from seclo.errors import ConfigError
from seclo.experiments.context import RunContext
from seclo.experiments.registry import get_probe
from seclo.slo.status import evaluate_workspace
from seclo.store import Store, open_store
from seclo.workspace import Workspace, init_workspace

EVENTS = "time,user,outcome,src_ip\n2024-03-01T10:00:00Z,alice,success,10.0.0.1\n"
AT = "2024-03-02T00:00:00Z"


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _attacks(tmp_path: Path) -> dict[str, str]:
    """The statements of issue 13, each one that reached files, the network or the settings on main."""
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n")
    duckdb.connect(str(tmp_path / "other.duckdb")).close()
    return {
        "copy to a file": f"COPY auth_events TO '{tmp_path / 'stolen.csv'}'",
        "read_text": "SELECT * FROM read_text('/etc/hostname')",
        "read_text in a subquery": "SELECT (SELECT content FROM read_text('/etc/hostname')) AS h",
        "read_csv": f"SELECT * FROM read_csv('{secret}')",
        "a file as a table": "SELECT * FROM '/etc/passwd'",
        "a file joined": f"SELECT * FROM auth_events, '{secret}'",
        "glob": "SELECT * FROM glob('/etc/*')",
        "install": "INSTALL httpfs",
        "load": "LOAD httpfs",
        "attach": f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
        "set": "SET enable_external_access = true",
        "pragma": "PRAGMA enable_profiling",
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace with one imported login."""
    ws = tmp_path / "ws"
    init_workspace(ws)
    data = tmp_path / "events.csv"
    data.write_text(EVENTS)
    assert _run(["import", "events", str(data), "-w", str(ws)]) == 0
    return ws


def test_seclo_query_refuses_every_attack_with_exit_2(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each statement reaching outside the store exits 2 with "query refused", and writes no file."""
    capsys.readouterr()
    for name, sql in _attacks(tmp_path).items():
        assert _run(["query", sql, "-w", str(workspace)]) == 2, name
        out, err = capsys.readouterr()
        assert "query refused" in err, (name, err)
        assert "hunter2" not in out
        assert "Traceback" not in err
    assert not (tmp_path / "stolen.csv").exists()


def test_seclo_query_still_reads_the_store(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ordinary queries, CTEs, series and the catalog of tables still work in the sandbox."""
    capsys.readouterr()
    sql = (
        'WITH users AS (SELECT DISTINCT "user" FROM auth_events) '
        'SELECT u."user", r.range FROM users u, range(2) r ORDER BY 2'
    )
    assert _run(["query", sql, "--format", "csv", "-w", str(workspace)]) == 0
    assert capsys.readouterr().out == '"user","range"\n"alice",0\n"alice",1\n'
    assert _run(["query", "SELECT count(*) FROM duckdb_tables()", "-w", str(workspace)]) == 0


def test_the_sandboxed_engine_refuses_the_attacks_by_itself(workspace: Path, tmp_path: Path) -> None:
    """Even SQL that skipped seclo's parse check is refused by DuckDB in a sandboxed store."""
    attacks = _attacks(tmp_path)
    with open_store(workspace / ".seclo" / "store.duckdb", sandboxed=True) as store:
        for name, sql in attacks.items():
            with pytest.raises(duckdb.Error):  # noqa: PT012 - the fail names the statement that ran
                store.conn.execute(sql).fetchall()
                pytest.fail(f"{name} ran")
        assert store.conn.execute("SELECT count(*) FROM auth_events").fetchall() == [(1,)]
    assert not (tmp_path / "stolen.csv").exists()


def test_two_sandboxes_of_one_process_share_the_locked_engine(workspace: Path) -> None:
    """A second sandboxed store opened while the first is open works (a probe polled during a query)."""
    path = workspace / ".seclo" / "store.duckdb"
    with open_store(path, sandboxed=True) as first, open_store(path, sandboxed=True) as second:
        assert first.conn.execute("SELECT count(*) FROM auth_events").fetchall() == [(1,)]
        assert second.conn.execute("SELECT count(*) FROM auth_events").fetchall() == [(1,)]
    with open_store(path) as writable:  # the lock did not outlive the sandboxes
        assert writable.conn.execute(
            "SELECT count(*) FROM read_csv(?)", [str(path.parent.parent / "seclo.yaml")]
        )


def _sql_slo(query: str) -> str:
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: sneaky}}
spec:
  service: identity
  indicator:
    metadata: {{name: sneaky}}
    spec:
      ratioMetric:
        good:
          metricSource:
            type: sql
            spec:
              query: >-
                {query}
        total:
          metricSource: {{type: sql, spec: {{query: "SELECT time FROM auth_events"}}}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.9}}]
"""


SLI_ATTACKS = {
    "read_csv": "SELECT time FROM auth_events, read_csv('{secret}')",
    "a file as a table": "SELECT time FROM auth_events, '{secret}'",
    "read_text": "SELECT time FROM auth_events WHERE (SELECT content FROM read_text('/etc/hostname')) <> ''",
}


def test_a_sql_sli_reaching_outside_the_store_is_refused_by_slo_status(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`seclo slo status` exits 2 naming the SLO file when a sql SLI reads a file."""
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n")
    slo = workspace / "slos" / "sneaky.yaml"
    for name, query in SLI_ATTACKS.items():
        slo.write_text(_sql_slo(query.format(secret=secret)))
        capsys.readouterr()
        assert _run(["slo", "status", "--at", AT, "-w", str(workspace)]) == 2, name
        err = capsys.readouterr().err
        assert f"{slo}: SLO 'sneaky'" in err, (name, err)
        assert "refused" in err, (name, err)


def test_a_sql_sli_on_a_writable_store_is_refused_too(tmp_path: Path, store: Store) -> None:
    """The playbook engine evaluates SLOs on a store it holds for writing; file reads are refused there too."""
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n")
    init_workspace(tmp_path / "ws")
    slo = tmp_path / "ws" / "slos" / "sneaky.yaml"
    for name, query in SLI_ATTACKS.items():
        slo.write_text(_sql_slo(query.format(secret=secret)))
        with pytest.raises(ConfigError, match="refused") as caught:
            evaluate_workspace(Workspace.open(tmp_path / "ws"), store, at=datetime(2024, 3, 2))
        assert "sneaky.yaml" in str(caught.value), name


def test_a_store_query_probe_reaching_outside_the_store_fails_with_the_reason(
    workspace: Path, tmp_path: Path
) -> None:
    """A store_query probe with a statement reaching outside the store is a failed check saying why."""
    context = RunContext(workspace, workspace / ".seclo" / "store.duckdb", workspace / ".seclo" / "state")
    probe = get_probe("store_query")
    for name, sql in _attacks(tmp_path).items():
        seen = probe.check(probe.params.model_validate({"sql": sql, "expect": "no_rows"}), None, context)
        assert not seen.ok, name
        assert "query refused" in seen.detail, (name, seen.detail)
    fine = probe.check(probe.params.model_validate({"sql": "SELECT * FROM auth_events"}), None, context)
    assert fine.ok
    assert not (tmp_path / "stolen.csv").exists()


def test_serves_refresh_refuses_a_sql_sli_reaching_outside_the_store(workspace: Path, tmp_path: Path) -> None:
    """The refresh of `seclo serve` (its worker's read_and_render) counts a sql SLI reading a file as an error."""
    from seclo.server.refresher import read_and_render  # noqa: PLC0415 - the server's own module

    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n")
    (workspace / "slos" / "sneaky.yaml").write_text(_sql_slo(SLI_ATTACKS["read_csv"].format(secret=secret)))
    body, _ = read_and_render(Workspace.open(workspace), datetime(2024, 3, 2), {})
    assert b"seclo_exporter_objective_errors 1.0" in body
    assert b'slo="sneaky"' not in body
    assert b"hunter2" not in body


def test_read_only_statements_other_than_select_still_run(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SHOW TABLES, DESCRIBE, SUMMARIZE and EXPLAIN of a query still work; EXPLAIN of an attack does not."""
    for sql in (
        "SHOW TABLES",
        "DESCRIBE auth_events",
        "SUMMARIZE auth_events",
        "EXPLAIN SELECT * FROM auth_events",
    ):
        assert _run(["query", sql, "-w", str(workspace)]) == 0, sql
    capsys.readouterr()
    assert (
        _run(["query", "EXPLAIN ANALYZE SELECT * FROM read_text('/etc/hostname')", "-w", str(workspace)]) == 2
    )
    assert "query refused" in capsys.readouterr().err
