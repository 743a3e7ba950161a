"""Every importer, through the command line, on any input: exit 2 with one line naming the problem, or counts
that reconcile with each bad line rejected at its true line. Never a traceback, never a hang."""

from __future__ import annotations

import io
import json
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seclo.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures"
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace for the module's examples; each import is checked on its own batch."""
    ws = tmp_path_factory.mktemp("ws")
    assert _seclo(["init", str(ws)])[0] == 0
    return ws


def _seclo(argv: list[str]) -> tuple[int, str, str]:
    """Run the command line as a user does (seclo.cli.main, with its error mapping): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def _check_import(ws: Path, kind: str, path: Path, bad_lines: list[int] | None = None) -> None:
    """Import `path`: exit 2 with one error line naming the file (and at most a tip), or exit 0 with counts that
    reconcile; when `bad_lines` is given, exactly those lines are the invalid rejects."""
    code, out, err = _seclo(["import", kind, str(path), "--year", "2005", "--format", "json", "-w", str(ws)])
    assert "Traceback" not in err
    if code == 2:
        lines = err.splitlines()
        assert lines[0].startswith(f"error: {path}"), err
        assert "accounted for" not in err, err  # the pipeline's own reconciliation failing is a bug
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Tip: ")), err
        return
    assert code == 0, err
    [result] = json.loads(out)
    if result["already_imported"]:
        return
    parts = ("rows_loaded", "rows_duplicate", "rows_skipped", "rows_rejected")
    assert result["rows_read"] == sum(result[p] for p in parts), result
    if bad_lines is not None:
        sql = (
            f"SELECT line FROM rejected WHERE batch_id = {result['batch_id']} AND category = 'invalid' "
            "ORDER BY line"
        )
        code, out, err = _seclo(["query", sql, "--format", "json", "-w", str(ws)])
        assert code == 0, err
        assert [row["line"] for row in json.loads(out)] == bad_lines


# ---- any bytes, every importer ----

KINDS = [
    ("events", "x.csv"),
    ("events", "x.ndjson"),
    ("events", "x.parquet"),
    ("syslog", "x.log"),
    ("ocsf", "x.ndjson"),
    ("ecs", "x.ndjson"),
    ("nmap", "x.xml"),
    ("cyclonedx", "x.json"),
    ("osv", "x.json"),
    ("osv", "x.yaml"),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), data=st.binary(min_size=1, max_size=300), padding=st.integers(0, 3))
def test_any_bytes_exit_2_or_reconcile(
    workspace: Path, kind: tuple[str, str], data: bytes, padding: int
) -> None:
    """Random bytes (sometimes after NUL padding) given to any importer end in one error line or reconciled
    counts."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / kind[1]
        path.write_bytes(b"\0" * 100 * padding + data)
        _check_import(workspace, kind[0], path)


DOCUMENTS = [
    ("nmap", FIXTURES / "nmap" / "2_hosts_version.xml"),
    ("nmap", FIXTURES / "nmap" / "fullscan.xml"),
    ("cyclonedx", FIXTURES / "sbom" / "cern-lhc-vdm-editor.cdx.json"),
    ("osv", next((FIXTURES / "osv" / "pypi").rglob("*.yaml"))),
]


@PROPERTY
@given(
    document=st.sampled_from(DOCUMENTS),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.sampled_from(["delete", "insert", "replace"]), st.binary(max_size=3))
    ),
)
def test_mutated_documents_exit_2_or_reconcile(
    workspace: Path, document: tuple[str, Path], edits: list[tuple[float, str, bytes]]
) -> None:
    """A real scan, SBOM or advisory with bytes deleted, inserted or replaced ends in one error line or
    reconciled counts."""
    kind, source = document
    data = bytearray(source.read_bytes())
    for at, op, piece in edits:
        index = int(at * len(data))
        if op == "delete":
            del data[index : index + max(1, len(piece))]
        elif op == "insert":
            data[index:index] = piece
        else:
            data[index : index + len(piece)] = piece
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / source.name
        path.write_bytes(bytes(data) or b"x")
        _check_import(workspace, kind, path)


# ---- line formats: files whose bad lines are known ----


@dataclass(frozen=True)
class LineFormat:
    """An importer reading one record per line, with lines it loads or skips and lines it must reject."""

    kind: str
    name: str
    good: list[bytes]
    bad: list[bytes]
    header: bytes = b""


SYSLOG = (FIXTURES / "logs" / "linux-syslog-2k.log").read_bytes().splitlines()[:40]
OCSF_OK = (
    b'{"class_uid":3002,"time":1709287200000,"status_id":%d,"user":{"name":"u"},"device":{"hostname":"h"}}'
)
ECS_OK = b'{"@timestamp":"2024-03-01T10:00:00Z","event":{"category":["authentication"],"outcome":"%s"}}'
NDJSON_OK = b'{"time":"2024-03-01T10:00:0%dZ","user":"u","outcome":"success"}'
GARBAGE = [b"garbage here", b"\xff\xfe not UTF-8", b"left \0 right"]

FORMATS = [
    LineFormat(
        "syslog",
        "auth.log",
        SYSLOG,
        [*GARBAGE, b"Feb 30 10:00:00 host sshd[1]: Accepted password for a from 10.0.0.1 port 22 ssh2"],
    ),
    LineFormat(
        "ocsf",
        "events.ndjson",
        [OCSF_OK % 1, OCSF_OK % 2, b'{"class_uid":1001,"time":1}'],
        [*GARBAGE, OCSF_OK % 7, b"[1]"],
    ),
    LineFormat(
        "ecs",
        "events.ndjson",
        [ECS_OK % b"success", ECS_OK % b"failure", b'{"event":{"category":"process"}}'],
        [*GARBAGE, ECS_OK % b"unknown"],
    ),
    LineFormat(
        "events",
        "events.ndjson",
        [NDJSON_OK % i for i in range(5)],
        [*GARBAGE, b'{"time":"never","outcome":"success"}', b"null", b"{}"],
    ),
    LineFormat(
        "events",
        "events.csv",
        [
            b"2024-03-01T10:00:00Z,u,success",
            b'2024-03-01T10:00:01Z,"a, ""b""",failure',
            b'2024-03-01,"x\ny",failure',
            b'2024-03-01,x",failure',
        ],
        [
            b"garbage here",
            b"\xff\xfe,not,UTF-8",
            b"2024-03-01,left \0 right,success",
            b"2024-03-01,b",
            b"a,b,c,d",
            b'never,a"b,success',
        ],
        header=b"time,user,outcome",
    ),
]


@PROPERTY
@given(
    fmt=st.sampled_from(FORMATS),
    picks=st.lists(
        st.tuples(st.booleans(), st.integers(0, 99), st.sampled_from([b"\n", b"\r\n"])), max_size=20
    ),
    padding=st.lists(
        st.sampled_from([b"", b"", b"\0" * 20, b"\0" * 700 + b"\n", b"\n"]), min_size=20, max_size=20
    ),
)
def test_bad_lines_are_rejected_at_their_true_line(
    workspace: Path, fmt: LineFormat, picks: list[tuple[bool, int, bytes]], padding: list[bytes]
) -> None:
    """A file of good and bad lines, with CRLF, blank lines and NUL padding between them, rejects exactly the bad
    lines, each at its own line number."""
    data = fmt.header + b"\n" if fmt.header else b""
    line = 2 if fmt.header else 1
    bad_lines = []
    for (bad, index, ending), pad in zip(picks, padding, strict=False):
        data += pad  # NULs before a line's text, a line of NULs alone, or a blank line
        line += pad.count(b"\n")
        pool = fmt.bad if bad else fmt.good
        text = pool[index % len(pool)]
        if bad:
            bad_lines.append(line)
        data += text + ending
        line += text.count(b"\n") + 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / fmt.name
        path.write_bytes(data or b"\n")
        _check_import(workspace, fmt.kind, path, bad_lines)
