"""Canonical CSV, NDJSON and Parquet import into each table."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seclo.errors import InputError
from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
from seclo.store import Store

EVENTS_CSV = """time,user,outcome,mfa,src_ip,service
2024-03-01T10:00:00Z,alice,success,true,10.0.0.1,vpn
2024-03-01T10:00:05+02:00,bob,FAILURE,false,203.0.113.9,vpn
2024-03-01 10:01:00,carol,success,yes,,sso
"""


def _import(store: Store, kind: str, path: Path) -> ImportResult:
    return import_path(store, get_importer(kind), path)


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store.conn.execute(sql).fetchall()


def test_csv_events_are_typed_and_in_utc(store: Store, tmp_path: Path) -> None:
    """Offsets are converted to UTC, enumerations are normalised and booleans parsed."""
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV)
    result = _import(store, "events", path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    rows = _rows(
        store, "SELECT user, outcome, mfa, strftime(time, '%H:%M:%S') FROM auth_events ORDER BY time"
    )
    assert rows == [
        ("bob", "failure", False, "08:00:05"),
        ("alice", "success", True, "10:00:00"),
        ("carol", "success", True, "10:01:00"),
    ]


def test_bad_rows_are_rejected_with_line_field_and_reason(store: Store, tmp_path: Path) -> None:
    """Each invalid row is kept in `rejected` with its physical line, the field at fault and why."""
    path = tmp_path / "events.csv"
    path.write_text(
        "time,user,outcome\n"
        "2024-03-01T10:00:00Z,alice,success\n"
        "yesterday,bob,success\n"
        "2024-03-01T10:00:00Z,carol,maybe\n"
        "2024-03-01T10:00:00Z,dave,success,surplus\n"
        ",erin,failure\n"
        "2024-03-01T10:00:09Z,frank,failure\n"
    )
    result = _import(store, "events", path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 2, 4)
    rejected = _rows(store, "SELECT line, field, reason FROM rejected ORDER BY line")
    assert [(r[0], r[1]) for r in rejected] == [(3, "time"), (4, "outcome"), (5, None), (6, "time")]
    assert "not a valid TIMESTAMP: yesterday" in str(rejected[0][2])
    assert "must be one of success, failure" in str(rejected[1][2])
    assert rejected[2][2] == "expected 3 fields, got 4"
    assert "missing" in str(rejected[3][2])
    raw = _rows(store, "SELECT raw FROM rejected WHERE line = 4")
    assert raw == [("2024-03-01T10:00:00Z,carol,maybe",)]


def test_ndjson_findings_upsert_by_id(store: Store, tmp_path: Path) -> None:
    """Importing a later export of the same finding closes it instead of adding a second row."""
    first = tmp_path / "f1.ndjson"
    open_finding = {
        "finding_id": "F-1",
        "asset_id": "web-1",
        "vuln_id": "CVE-2024-0001",
        "severity": "critical",
        "opened_at": "2024-03-01T00:00:00Z",
        "status": "open",
    }
    first.write_text(json.dumps(open_finding) + "\n")
    second = tmp_path / "f2.ndjson"
    closed = open_finding | {"status": "closed", "closed_at": "2024-03-04T00:00:00Z"}
    other = open_finding | {"finding_id": "F-2"}
    second.write_text(json.dumps(closed) + "\n" + json.dumps(other) + "\n")
    _import(store, "findings", first)
    result = _import(store, "findings", second)
    assert (result.rows_loaded, result.rows_duplicate) == (2, 0)
    assert _rows(store, "SELECT finding_id, status FROM findings ORDER BY 1") == [
        ("F-1", "closed"),
        ("F-2", "open"),
    ]


def test_unchanged_entity_rows_count_as_duplicates(store: Store, tmp_path: Path) -> None:
    """Re-exporting unchanged incidents adds nothing and says so."""
    rows = [
        {"incident_id": f"I-{i}", "kind": "outage", "occurred_at": "2024-01-01T00:00:00Z", "loss": 10.5}
        for i in range(3)
    ]
    a, b = tmp_path / "a.ndjson", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in rows))
    b.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    _import(store, "incidents", a)
    result = _import(store, "incidents", b)
    assert (result.rows_loaded, result.rows_duplicate) == (0, 3)
    assert _rows(store, "SELECT count(*), sum(loss) FROM incidents") == [(3, 31.5)]


def test_parquet_deployments_with_commits(store: Store, tmp_path: Path) -> None:
    """Parquet files load with their nested commit lists intact."""
    commit = pa.struct([("sha", pa.string()), ("committed_at", pa.timestamp("us"))])
    table = pa.table(
        {
            "deploy_id": ["d1", "d2"],
            "service": ["api", "api"],
            "env": ["production", "production"],
            "finished_at": pa.array([1_700_000_000_000_000, 1_700_100_000_000_000], pa.timestamp("us")),
            "result": ["success", "failure"],
            "team": ["core", "core"],
            "commits": pa.array(
                [[{"sha": "abc", "committed_at": 1_699_990_000_000_000}], []], pa.list_(commit)
            ),
        }
    )
    path = tmp_path / "deployments.parquet"
    pq.write_table(table, path)
    result = _import(store, "deployments", path)
    assert result.rows_loaded == 2
    assert _rows(store, "SELECT deploy_id, len(commits), commits[1].sha FROM deployments ORDER BY 1") == [
        ("d1", 1, "abc"),
        ("d2", 0, None),
    ]


def test_csv_commits_column_is_json(store: Store, tmp_path: Path) -> None:
    """In CSV the commits column holds a JSON array, and a malformed one is rejected with its field."""
    path = tmp_path / "deployments.csv"
    path.write_text(
        "deploy_id,service,finished_at,result,commits\n"
        'd1,api,2024-01-02T00:00:00Z,success,"[{""sha"":""a1"",""committed_at"":""2024-01-01T00:00:00Z""}]"\n'
        'd2,api,2024-01-03T00:00:00Z,success,"[{""sha"":"\n'
    )
    result = _import(store, "deployments", path)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert _rows(store, "SELECT field FROM rejected") == [("commits",)]
    assert _rows(store, "SELECT strftime(commits[1].committed_at, '%Y-%m-%d') FROM deployments") == [
        ("2024-01-01",)
    ]


@pytest.mark.parametrize(
    "kind", ["accounts", "assets", "ports", "findings", "incidents", "deployments", "events"]
)
def test_every_canonical_kind_rejects_unknown_columns(store: Store, tmp_path: Path, kind: str) -> None:
    """A CSV with a column the table does not have is refused as a whole, naming the column."""
    path = tmp_path / f"{kind}.csv"
    path.write_text("sourceip\n1.2.3.4\n")
    with pytest.raises(InputError, match="unknown column 'sourceip'"):
        _import(store, kind, path)


def test_missing_required_column_is_named(store: Store, tmp_path: Path) -> None:
    """A file without a required column says which one."""
    path = tmp_path / "ports.csv"
    path.write_text("snapshot_time,asset_id,port,state\n2024-01-01,a,22,open\n")
    with pytest.raises(InputError, match="no column 'protocol'"):
        _import(store, "ports", path)


def test_unknown_extension_is_refused(store: Store, tmp_path: Path) -> None:
    """A canonical file whose format cannot be told from its name gets a clear error."""
    path = tmp_path / "events.txt"
    path.write_text("x\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        _import(store, "events", path)


def test_corrupt_parquet_is_one_line_error(store: Store, tmp_path: Path) -> None:
    """A file named .parquet that is not Parquet is refused with the file's name."""
    path = tmp_path / "events.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 100)
    with pytest.raises(InputError, match=r"events\.parquet: not a readable Parquet file"):
        _import(store, "events", path)


def test_zone_less_times_follow_the_import_time_zone(store: Store, tmp_path: Path) -> None:
    """A canonical time without an offset is local to --timezone; one with an offset keeps it."""
    path = tmp_path / "events.csv"
    path.write_text("time,user,outcome\n2024-07-01 12:00:00,a,success\n2024-07-01T12:00:00Z,b,success\n")
    import_path(store, get_importer("events"), path, ImportOptions(timezone="Europe/Berlin"))
    rows = _rows(store, "SELECT user, strftime(time, '%H:%M') FROM auth_events ORDER BY user")
    assert rows == [("a", "10:00"), ("b", "12:00")]


def test_empty_text_is_null_and_infinity_is_not_a_time(store: Store, tmp_path: Path) -> None:
    """An empty user name is stored as NULL, and 'infinity' is refused as a time rather than loaded."""
    path = tmp_path / "events.ndjson"
    path.write_text(
        '{"time":"2024-01-01T00:00:00Z","user":"","outcome":"success"}\n'
        '{"time":"infinity","user":"x","outcome":"success"}\n'
    )
    result = import_path(store, get_importer("events"), path)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert _rows(store, "SELECT user IS NULL FROM auth_events") == [(True,)]
    assert _rows(store, "SELECT field FROM rejected") == [("time",)]
