"""Linux syslog authentication events: the real 2005 sample, modern OpenSSH lines, years, zones and fuzzing."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_checks import check_survives, reconciles

from seclo.errors import InputError
from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
from seclo.store import Store, open_store

SAMPLE = Path(__file__).parents[1] / "fixtures" / "logs" / "linux-syslog-2k.log"
SAMPLE_LINES = SAMPLE.read_bytes().splitlines(keepends=True)

MODERN = """\
2024-03-01T10:00:00.123456+00:00 web1 sshd[1234]: Invalid user admin from 203.0.113.5 port 50000
2024-03-01T10:00:00.223456+00:00 web1 sshd[1234]: pam_unix(sshd:auth): check pass; user unknown
2024-03-01T10:00:00.323456+00:00 web1 sshd[1234]: pam_unix(sshd:auth): authentication failure; logname= uid=0 \
euid=0 tty=ssh ruser= rhost=203.0.113.5
2024-03-01T10:00:02.123456+00:00 web1 sshd[1234]: Failed password for invalid user admin from 203.0.113.5 port \
50000 ssh2
2024-03-01T10:00:02.223456+00:00 web1 sshd[1234]: Connection closed by invalid user admin 203.0.113.5 port 50000 \
[preauth]
2024-03-01T10:01:00.000000+00:00 web1 sshd[1240]: Invalid user oracle from 203.0.113.9 port 50100
2024-03-01T10:05:00.000000+00:00 web1 sshd[1300]: Accepted publickey for alice from 198.51.100.7 port 40000 ssh2: \
ED25519 SHA256:abc
2024-03-01T10:05:00.100000+00:00 web1 sshd[1300]: pam_unix(sshd:session): session opened for user alice(uid=1000) \
by (uid=0)
2024-03-01T10:10:00.000000+00:00 web1 CRON[1400]: pam_unix(cron:session): session opened for user root(uid=0) by \
(uid=0)
2024-03-01T10:15:00.000000+00:00 web1 su[1500]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 \
euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root
2024-03-01T10:15:02.000000+00:00 web1 su[1500]: FAILED SU (to root) alice on pts/0
2024-03-01T10:16:00.000000+02:00 web1 sshd-session[1600]: Failed publickey for bob from 2001:db8::1 port 22 ssh2
<38>1 2024-03-01T10:18:00.003Z web2 sshd 1800 - - Accepted keyboard-interactive/pam for carol from 192.0.2.1 \
port 2222 ssh2
<38>Mar  1 10:19:00 web3 sshd[1900]: Failed none for invalid user  from 192.0.2.2 port 22 ssh2
"""


def _import(store: Store, path: Path, **options: object) -> ImportResult:
    return import_path(store, get_importer("syslog"), path, ImportOptions(**options))  # type: ignore[arg-type]


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store.conn.execute(sql).fetchall()


def _write(tmp_path: Path, text: str, name: str = "auth.log") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_real_sample_loads_every_pam_failure_and_session(store: Store) -> None:
    """The 2005 sample loads one failure per "authentication failure" line and one success per session opened."""
    text = SAMPLE.read_text(encoding="utf-8").splitlines()
    failures = sum("authentication failure" in line for line in text)
    sessions = sum("session opened" in line for line in text)
    result = _import(store, SAMPLE, year=2005)
    counts = {
        str(k): v for k, v in _rows(store, "SELECT outcome, count(*) FROM auth_events GROUP BY outcome")
    }
    assert counts == {"failure": failures, "success": sessions}
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (len(text), failures + sessions, 0)
    assert result.rows_skipped == len(text) - failures - sessions
    assert reconciles(result)


def test_real_sample_fields_come_from_the_line(store: Store) -> None:
    """User, rhost (a host name here), program, host and time are read from the pam_unix lines as written."""
    _import(store, SAMPLE, year=2005)
    first_root = _rows(
        store,
        """SELECT time, user, src_ip, service, host, mfa, source FROM auth_events
        WHERE user = 'root' ORDER BY time LIMIT 1""",
    )
    assert first_root == [
        (
            datetime(2005, 6, 15, 2, 4, 59),
            "root",
            "220-135-151-1.hinet-ip.hinet.net",
            "sshd",
            "combo",
            None,
            "syslog",
        )
    ]
    su = _rows(store, "SELECT DISTINCT user, outcome FROM auth_events WHERE service = 'su' ORDER BY user")
    assert su == [("cyrus", "success"), ("news", "success")]
    # "authentication failure" without "user=": the account is unknown (NULL), not an empty name.
    no_user = _rows(
        store, "SELECT count(*) > 0 FROM auth_events WHERE user IS NULL AND src_ip = '218.188.2.4'"
    )
    assert no_user == [(True,)]
    assert _rows(store, "SELECT count(*) FROM auth_events WHERE user = ''") == [(0,)]


def test_other_programs_are_skipped_with_a_reason(store: Store) -> None:
    """Kernel, ftpd and "session closed" lines are counted as skipped, not lost and not errors."""
    _import(store, SAMPLE, year=2005)
    reasons = _rows(store, "SELECT DISTINCT category, reason FROM rejected")
    assert reasons == [("skipped", "not an authentication event")]
    last_line_is_kernel = _rows(
        store, "SELECT raw FROM rejected WHERE 2000 BETWEEN line AND line + lines - 1"
    )
    assert last_line_is_kernel == [(None,)]  # recorded, but a kernel line's text is not worth keeping


def test_skipped_lines_are_recorded_as_runs_naming_each_line_once(store: Store) -> None:
    """Runs of skipped lines (first line and count), expanded, name exactly the sample's other lines, each once."""
    text = SAMPLE.read_text(encoding="utf-8").splitlines()
    others = [
        n
        for n, line in enumerate(text, 1)
        if not ("authentication failure" in line or "session opened" in line)
    ]
    _import(store, SAMPLE, year=2005)
    expanded = _rows(
        store, "SELECT unnest(generate_series(line, line + lines - 1)) AS n FROM rejected ORDER BY n"
    )
    assert [n for (n,) in expanded] == others
    rows = _rows(store, "SELECT count(*) FROM rejected")[0][0]
    assert isinstance(rows, int)
    assert rows < len(others) // 2  # far fewer rows than lines: kernel, ftpd... lines come in runs


def test_year_comes_from_the_file_time_and_rolls_back_for_later_months(store: Store, tmp_path: Path) -> None:
    """Without --year, a December line in a file written in January is dated the year before, and a note says so."""
    path = _write(
        tmp_path,
        "Dec 31 23:59:59 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\n"
        "Jan  2 00:00:01 h sshd[2]: Accepted password for root from 192.0.2.1 port 22 ssh2\n",
    )
    written = datetime(2024, 1, 5, 12, 0).timestamp()
    os.utime(path, (written, written))
    result = _import(store, path)
    years = _rows(store, "SELECT year(time) FROM auth_events ORDER BY time")
    assert years == [(2023,), (2024,)]
    assert len(result.notes) == 1
    assert "assumed 2024" in result.notes[0]
    assert "2023 for lines dated after January" in result.notes[0]
    assert "--year" in result.notes[0]


def test_year_option_sets_the_year_and_needs_no_note(store: Store, tmp_path: Path) -> None:
    """--year dates every line in that year; Feb 29 is valid only in a leap year."""
    path = _write(
        tmp_path,
        "Feb 29 10:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\n"
        "Dec 31 10:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\n",
    )
    leap = _import(store, path, year=2024)
    assert (leap.rows_loaded, leap.notes) == (2, ())
    assert _rows(store, "SELECT DISTINCT year(time) FROM auth_events") == [(2024,)]
    with open_store(None) as other:
        plain = import_path(other, get_importer("syslog"), path, ImportOptions(year=2023))
        rejected = _rows(other, "SELECT line, field, category, reason FROM rejected")
    assert plain.rows_loaded == 1
    assert rejected == [(1, "time", "invalid", "not a valid date and time: Feb 29 10:00:00 (year 2023)")]


def test_times_are_local_to_the_time_zone_and_stored_in_utc(store: Store, tmp_path: Path) -> None:
    """A syslog time without an offset is read in the given zone; an ISO time with an offset keeps its offset."""
    path = _write(
        tmp_path,
        "Jul  1 12:00:00 h sshd[1]: Failed password for a from 192.0.2.1 port 22 ssh2\n"
        "2024-07-01T12:00:00 h sshd[1]: Failed password for b from 192.0.2.1 port 22 ssh2\n"
        "2024-07-01T12:00:00-04:00 h sshd[1]: Failed password for c from 192.0.2.1 port 22 ssh2\n",
    )
    _import(store, path, year=2024, timezone="Europe/Paris")
    rows = _rows(store, "SELECT user, strftime(time, '%Y-%m-%d %H:%M') FROM auth_events ORDER BY user")
    assert rows == [("a", "2024-07-01 10:00"), ("b", "2024-07-01 10:00"), ("c", "2024-07-01 16:00")]


def test_unknown_time_zone_is_refused(store: Store, tmp_path: Path) -> None:
    """A misspelt zone is an input error naming it, and nothing is loaded."""
    path = _write(tmp_path, "Jul  1 12:00:00 h sshd[1]: Failed password for a from 192.0.2.1 port 22 ssh2\n")
    with pytest.raises(InputError, match="Europe/Pariss"):
        _import(store, path, timezone="Europe/Pariss")
    assert _rows(store, "SELECT count(*) FROM auth_events") == [(0,)]


def test_openssh_lines_load_user_address_and_outcome(store: Store, tmp_path: Path) -> None:
    """Modern sshd, su and RFC 5424 lines give one event per attempt, with user, address, service and host."""
    result = _import(store, _write(tmp_path, MODERN), year=2024)
    rows = _rows(
        store,
        """SELECT strftime(time, '%H:%M:%S'), user, outcome, src_ip, service, host FROM auth_events
        ORDER BY time, user""",
    )
    assert rows == [
        ("08:16:00", "bob", "failure", "2001:db8::1", "sshd", "web1"),
        ("10:00:02", "admin", "failure", "203.0.113.5", "sshd", "web1"),
        ("10:01:00", "oracle", "failure", "203.0.113.9", "sshd", "web1"),
        ("10:05:00", "alice", "success", "198.51.100.7", "sshd", "web1"),
        ("10:15:02", "root", "failure", None, "su", "web1"),
        ("10:18:00", "carol", "success", "192.0.2.1", "sshd", "web2"),
        ("10:19:00", None, "failure", "192.0.2.2", "sshd", "web3"),
    ]
    assert reconciles(result)
    assert _rows(store, "SELECT count(*) FROM auth_events WHERE mfa IS NOT NULL") == [(0,)]


def test_pam_lines_are_not_double_counted_when_the_program_logs_itself(store: Store, tmp_path: Path) -> None:
    """pam_unix and "Invalid user" lines that repeat an sshd or su result line are skipped, saying why."""
    _import(store, _write(tmp_path, MODERN), year=2024)
    skipped = _rows(store, "SELECT line, reason FROM rejected WHERE reason LIKE 'the same%' ORDER BY line")
    assert [line for line, _ in skipped] == [1, 3, 8, 10]
    assert "logged by this sshd process" in str(skipped[0][1])
    assert "logged by sshd itself" in str(skipped[1][1])
    assert "logged by su itself" in str(skipped[3][1])
    cron = _rows(store, "SELECT reason FROM rejected WHERE line = 9")
    assert cron == [("not an authentication event",)]


def test_repeated_message_summaries_are_skipped_with_a_note(store: Store, tmp_path: Path) -> None:
    """An rsyslog "message repeated" summary of a failure is not loaded, and the user is told events are missing."""
    path = _write(
        tmp_path,
        "Mar  1 10:00:00 h sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2\n"
        "Mar  1 10:00:09 h sshd[7]: message repeated 5 times: [ Failed password for root from 192.0.2.1 port 22 "
        "ssh2]\n",
    )
    result = _import(store, path, year=2024)
    assert (result.rows_loaded, result.rows_skipped) == (1, 1)
    assert any("message repeated" in note for note in result.notes)


def test_lines_that_are_not_syslog_are_invalid_with_field_and_reason(store: Store, tmp_path: Path) -> None:
    """Garbage, an impossible date, a header with nothing after it and non-UTF-8 bytes are invalid rejects."""
    path = tmp_path / "auth.log"
    path.write_bytes(
        b"Mar  1 10:00:00 h sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2\n"
        b"hello world\n"
        b"Feb 30 10:00:00 h sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2\n"
        b"Mar  1 10:00:00 lonelyhost\n"
        b"Mar  1 10:00:00 h sshd[7]: Failed password for r\xf6ot from 192.0.2.1 port 22 ssh2\n"
    )
    result = _import(store, path, year=2024)
    assert (result.rows_loaded, result.rows_rejected) == (1, 4)
    rejected = _rows(
        store, "SELECT line, field, category, reason, raw IS NOT NULL FROM rejected ORDER BY line"
    )
    assert [(r[0], r[1], r[2], r[4]) for r in rejected] == [
        (2, "time", "invalid", True),
        (3, "time", "invalid", True),
        (4, "host", "invalid", True),
        (5, None, "invalid", True),
    ]
    assert "does not start with a timestamp" in str(rejected[0][3])
    assert "Feb 30" in str(rejected[1][3])
    assert "UTF-8" in str(rejected[3][3])
    with open_store(None) as other, pytest.raises(InputError, match="4 invalid rows"):
        import_path(other, get_importer("syslog"), path, ImportOptions(year=2024, strict=True))


def test_reimporting_a_file_adds_nothing(store: Store) -> None:
    """Importing the same syslog file twice leaves the store as after the first import."""
    first = _import(store, SAMPLE, year=2005)
    again = _import(store, SAMPLE, year=2005)
    assert again.already_imported
    assert _rows(store, "SELECT count(*) FROM auth_events") == [(first.rows_loaded,)]


def test_a_longer_copy_of_a_log_adds_only_the_new_lines(store: Store, tmp_path: Path) -> None:
    """A rotated log holding the first file's lines plus new ones adds only the new events."""
    head = b"".join(SAMPLE_LINES[:1000])
    first = tmp_path / "auth.log.1"
    first.write_bytes(head)
    second = tmp_path / "auth.log"
    second.write_bytes(head + b"".join(SAMPLE_LINES[1000:]))
    one = _import(store, first, year=2005)
    two = _import(store, second, year=2005)
    assert two.rows_duplicate == one.rows_loaded
    assert one.rows_loaded + two.rows_loaded == _rows(store, "SELECT count(*) FROM auth_events")[0][0]
    with open_store(None) as whole:
        everything = import_path(whole, get_importer("syslog"), SAMPLE, ImportOptions(year=2005))
    assert one.rows_loaded + two.rows_loaded == everything.rows_loaded


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=400))
def test_random_bytes_never_crash(fuzz_store: Store, tmp_path: Path, data: bytes) -> None:
    """Random bytes given as syslog are rejected with a reason or refused as a file, never a crash."""
    path = tmp_path / "fuzz.log"
    path.write_bytes(data)
    check_survives(fuzz_store, "syslog", path, ImportOptions(year=2005))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(0, len(SAMPLE_LINES) - 1),
    count=st.integers(1, 12),
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 2000), st.integers(1, 255)),
        max_size=8,
    ),
)
def test_mutated_real_lines_never_crash(
    fuzz_store: Store, tmp_path: Path, start: int, count: int, edits: list[tuple[str, int, int]]
) -> None:
    """Real syslog lines with bytes flipped, inserted or deleted are loaded or rejected with a reason."""
    data = bytearray(b"".join(SAMPLE_LINES[start : start + count]))
    for op, position, value in edits:
        at = position % (len(data) + 1)
        if op == "insert":
            data.insert(at, value)
        elif at < len(data):
            if op == "flip":
                data[at] ^= value
            else:
                del data[at]
    path = tmp_path / "fuzz.log"
    path.write_bytes(bytes(data))
    check_survives(fuzz_store, "syslog", path, ImportOptions(year=2005))


NUL_PADDING_CASES = {
    "padding early (first 64 KiB)": (2, b"\0" * 700),
    "padding late (after 64 KiB)": (2000, b"\0" * 700),
    "padding before a line": (2, b"\0" * 50 + b"\n"),
    "padding at the end": (3, b"\0" * 4096 + b"\n"),
}


@pytest.mark.parametrize(("at", "padding"), NUL_PADDING_CASES.values(), ids=NUL_PADDING_CASES.keys())
def test_nul_padding_is_dropped_wherever_it_falls(
    store: Store, tmp_path: Path, at: int, padding: bytes
) -> None:
    """Runs of NUL bytes left by a crash, before line 3 or after line 2,000, are dropped: every line loads.

    A run in the first 64 KiB refused the whole file as binary; one later was loaded into `user`.
    """
    line = SAMPLE_LINES[3]  # a pam_unix authentication failure for root
    path = tmp_path / "auth.log"
    path.write_bytes(line * at + padding.rstrip(b"\n") + line * 2)
    result = import_path(store, get_importer("syslog"), path, ImportOptions(year=2005))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (at + 2, at + 2, 0)
    assert store.conn.execute("SELECT DISTINCT user FROM auth_events").fetchall() == [("root",)]


@pytest.mark.parametrize("before", [1, 2000], ids=["early", "late"])
def test_a_nul_inside_a_line_rejects_that_line_wherever_it_falls(
    store: Store, tmp_path: Path, before: int
) -> None:
    """A NUL inside a line's text rejects that line at its true number, never loads it into a column."""
    line = SAMPLE_LINES[3]
    path = tmp_path / "auth.log"
    path.write_bytes(line * before + line.replace(b"user=root", b"user=ro\0ot") + line)
    result = import_path(store, get_importer("syslog"), path, ImportOptions(year=2005))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (before + 2, before + 1, 1)
    rejected = store.conn.execute("SELECT line, reason, contains(raw, '\\x00') FROM rejected").fetchall()
    assert rejected == [(before + 1, "holds a NUL byte inside its text (binary data, not padding)", True)]
    assert store.conn.execute("SELECT count(*) FROM auth_events WHERE contains(user, chr(0))").fetchall() == [
        (0,)
    ]


def test_a_utf16_log_without_a_byte_order_mark_is_refused_as_binary(store: Store, tmp_path: Path) -> None:
    """A log in UTF-16 without a BOM (a NUL after every ASCII letter) is still refused as a binary file."""
    path = tmp_path / "auth.log"
    path.write_bytes(SAMPLE_LINES[3].decode().encode("utf-16-le") * 3)
    with pytest.raises(InputError, match="looks like a binary file"):
        import_path(store, get_importer("syslog"), path, ImportOptions(year=2005))
