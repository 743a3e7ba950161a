"""Authentication events from Linux syslog files (auth.log, secure, messages), parsed set-based in DuckDB.

Lines are RFC 3164 ("Jun 14 15:16:01 host sshd[42]: ...", optionally with a "<PRI>" prefix), rsyslog's
high-precision form ("2024-03-01T10:00:00.123+00:00 host sshd[42]: ...") or RFC 5424 ("<38>1 2024-03-01T10:00:00Z
host sshd 42 - - ..."). Loaded (service is the program without "(pam_unix)"; "sshd-session", which OpenSSH 9.8+
logs from, is "sshd"):

- sshd "Failed <method> for [invalid user ]U from IP port N", "Invalid user U from IP": failure;
- sshd "Accepted <method> for U from IP port N": success (mfa stays NULL: one line never proves a second factor);
- pam_unix "authentication failure; ... rhost=H [user=U]": failure (rhost may be a host name, kept as given);
- pam_unix "session opened for user U by ...": success (except cron, atd and systemd user sessions, which are not
  logins);
- su "FAILED SU (to U) ..." / "FAILED su for U by ...": failure.

Every other syslog line is a "skipped" reject ("not an authentication event"), so counts reconcile; lines that hold
none of the phrases above are recorded without their text (a kernel or cron line is noise in the store; its line
number finds it), one rejected row per run of consecutive such lines (`line` and `lines`). A line that is not
syslog, has an impossible date (Feb 30) or is not UTF-8 is an "invalid" reject, with its text.

Double counting. A modern system logs one failed password twice: pam_unix "authentication failure" and sshd's own
"Failed password" (likewise su's "FAILED SU", and pam_unix "session opened" after sshd's "Accepted"). The program's
own line is the better record (it has the address and the method), so when the file holds such lines for a host
and program, that program's pam_unix lines of the same kind on that host are skipped ("counted once from sshd's
own line"). Old systems that log only pam_unix (the 2005 sample in tests/fixtures) keep every pam_unix line. An
sshd "Invalid user" line is likewise skipped when the same sshd process (host and pid) also logged a "Failed ..."
line, which records the same attempt. rsyslog "message repeated N times" summaries are skipped: the repeats they
stand for cannot be recovered, and a note says how many such lines there were.

Time. RFC 3164 lines carry no year and no zone. ImportOptions.year sets the year; without it the year the file was
last modified is assumed, one year less for lines whose month is after the month of modification (December lines
in a file written in January), and a note says so. Times without an offset are local to ImportOptions.timezone
(UTC by default) and are stored in UTC.

Speed: everything is set-based SQL. Capturing regular expressions are the cost, so the header is matched by a
strict pattern for the two formats rsyslog writes (a looser one only runs on lines that fail it), as each chunk of
the file is read; a few `contains` tests pick the lines that can be authentication events, and only those keep
their text and get the tag and message expressions. A pam_unix user and rhost are each one short capture after a
literal (" user=", as cheap as strpos plus substr and no copy of the message's tail); sshd words are cut with strpos
and substr, never split_part (which DuckDB turns into splitting the whole message into a list). The parsed events
keep no copy of the message. Skipped lines are written as runs, not one by one. (Measured with DuckDB 2.0.1: for
the header, the one capturing regexp costs less than a test plus substr and strpos, and strptime less than
make_timestamp over cut-out fields.)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa

from seclo.importers.interface import Importer, Staged, Staging
from seclo.importers.lines import MAX_RAW_CHARS, stage_lines
from seclo.importers.timestamps import check_timezone, local_to_utc_sql, text_time_sql
from seclo.importers.typed import create_rejects, stage_typed
from seclo.store.schema import table
from seclo.store.sql import run, scalar, sql_literal

__all__ = ["SyslogImporter"]

# The two headers rsyslog writes by default, matched exactly (cheap): "Mmm dd hh:mm:ss host " and
# "2024-03-01T10:00:00.123456+00:00 host ".
_FAST = (
    r"^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) "
    r"(\S+) "
)
# Everything else that is still syslog: a <PRI> prefix, the RFC 5424 version, looser spacing, no zone.
_LOOSE = (
    r"^((?:<\d{1,3}>)?(1 )?([A-Z][a-z]{2} +\d{1,2} \d{1,2}:\d\d:\d\d"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) +(\S+) +)"
)
_STAMP_PREFIX = r"^(?:<\d{1,3}>)?(?:1 )?(?:[A-Z][a-z]{2} +\d{1,2} \d|\d{4}-\d{2}-\d{2}[T ]\d)"
_BSD_FORMAT = "'%Y %b %d %H:%M:%S'"
# The tag: "prog[pid]: " (RFC 3164) or "APP PROCID MSGID STRUCTURED-DATA " (RFC 5424).
_TAG = r"^(([^\s\[\]:]+)(?:\[(\d+)\])?: ?)"
_TAG_5424 = r"^((\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+) ?(?:\x{FEFF})?)"
_TAG_NAMES = "['tag', 'prog', 'pid']"
# A line can only be an authentication event if it holds one of these; the others skip the message parsing.
# (`contains` looks for the needle's first byte: needles starting with a space, which is everywhere, are slow.)
_CANDIDATE = """((contains(_text, 'pam_unix')
        AND (contains(_text, 'authentication failure;') OR contains(_text, 'session opened for user ')))
    OR (contains(_text, 'sshd') AND (contains(_text, 'Failed ') OR contains(_text, 'Accepted ')
        OR contains(_text, 'Invalid user ') OR contains(_text, 'Illegal user ')))
    OR contains(_text, 'FAILED '))"""

# The shape each kind of message must have. These only test (a DFA, fast); the fields are then cut out with
# string functions, because capturing groups around ".*" cost RE2 ten times more.
_SHAPES = {
    "sshd_failed": r"^Failed \S+ for .* from \S+ port \d+",
    "sshd_accepted": r"^Accepted \S+ for .* from \S+ port \d+",
    "sshd_invalid": r"^(?:Invalid|Illegal) user .* from \S+",
    "su_failed": r"^FAILED (?:SU|su) (?:\(to |for )[^)\s]",
}
_FAILURES = ("sshd_failed", "sshd_invalid", "pam_failure", "su_failed")
_NOT_LOGINS = "('cron', 'CRON', 'crond', 'atd', 'systemd', 'systemd-user')"


def _year_rule(staging: Staging) -> tuple[str, str | None]:
    """SQL for the year of an RFC 3164 line (given `base`, its time in the leap year 2000) and the note to give."""
    if staging.options.year is not None:
        return str(int(staging.options.year)), None
    mtime = staging.path.stat().st_mtime
    year, month, day, name = staging.conn.execute(
        "SELECT year(t), month(t), strftime(t, '%Y-%m-%d'), monthname(t) FROM (SELECT timezone(?, to_timestamp(?)) t)",
        [staging.options.timezone, mtime],
    ).fetchall()[0]
    note = (
        f"{staging.path.name}: syslog lines carry no year; assumed {year}, the year the file was last modified "
        f"({day}), and {year - 1} for lines dated after {name}; --year sets the year. Times were read as "
        f"{staging.options.timezone} (--timezone)."
    )
    return f"CASE WHEN month(base) > {month} THEN {year - 1} ELSE {year} END", note


def _time_sql(year: str, tz: str) -> str:
    """SQL for a line's UTC time from its `stamp` (RFC 3164 or ISO 8601), NULL when it is not a real time."""
    naive_bsd = f"try(make_timestamp({year}, month(base), day(base), hour(base), minute(base), second(base)))"
    if year.isdigit():
        naive_bsd = f"try_strptime('{year} ' || stamp, {_BSD_FORMAT})"
    return f"CASE WHEN bsd THEN {local_to_utc_sql(naive_bsd, tz)} ELSE {text_time_sql('stamp', tz)} END"


def _headers(staging: Staging) -> tuple[str, int, str | None]:
    """Read the file, splitting every line's header (time, host) from its message as it is read.

    Returns the table, the number of lines read and the note on the year. The table keeps a line's text only where
    it is needed later: invalid lines (for the rejects) and lines that may be authentication events (to parse), so
    the text of the other lines is never copied into the store. `problem` and `field` say why a line is invalid.
    """
    year, note = _year_rule(staging)
    # The line's time in the leap year 2000, to find its month, when the year depends on it.
    base = "NULL" if year.isdigit() else f"try_strptime('2000 ' || stamp, {_BSD_FORMAT})"
    stamp_prefix = sql_literal(_STAMP_PREFIX)
    headers, read = stage_lines(
        staging,
        query=f"""
        SELECT _line, problem, host, time, rest_at, rfc5424, bsd, problem IS NULL AND gate AS candidate,
            CASE WHEN problem IS NOT NULL OR gate THEN _text END AS _text,
            CASE WHEN problem IS NULL THEN NULL WHEN NOT _utf8 THEN NULL
                WHEN host = '' AND regexp_matches(_text, {stamp_prefix}) THEN 'host' ELSE 'time' END AS field
        FROM (
            SELECT *, CASE WHEN NOT _utf8 THEN _problem
                WHEN host = '' AND regexp_matches(_text, {stamp_prefix})
                    THEN 'not a syslog line: no host and message after the timestamp'
                WHEN host = '' THEN 'not a syslog line: it does not start with a timestamp '
                    || '("Mmm dd hh:mm:ss" or ISO 8601)'
                WHEN time IS NULL THEN 'not a valid date and time: '
                    || CASE WHEN bsd THEN stamp || ' (year ' || ({year}) || ')' ELSE stamp END
                END AS problem, {_CANDIDATE} AS gate
            FROM (
                SELECT *, {_time_sql(year, staging.options.timezone)} AS time
                FROM (
                    SELECT *, {base} AS base
                    FROM (
                        SELECT _line, _text, _utf8, _problem,
                            CASE WHEN f.host <> '' THEN f.stamp ELSE g.stamp END AS stamp,
                            CASE WHEN f.host <> '' THEN f.host ELSE g.host END AS host,
                            CASE WHEN f.host <> '' THEN length(f.stamp) + length(f.host) + 3
                                ELSE length(g.head) + 1 END AS rest_at,
                            f.host = '' AND g.version <> '' AS rfc5424,
                            ascii(CASE WHEN f.host <> '' THEN f.stamp ELSE g.stamp END) > 64 AS bsd
                        FROM (
                            SELECT *, CASE WHEN f.host = '' THEN regexp_extract(_text, {sql_literal(_LOOSE)},
                                ['head', 'version', 'stamp', 'host']) END AS g
                            FROM (
                                SELECT *, regexp_extract(_text, {sql_literal(_FAST)}, ['stamp', 'host']) AS f
                                FROM {{lines}}
                            )
                        )
                    )
                )
            )
        )""",
    )
    bsd = scalar(staging.conn, f"SELECT count(*) > 0 FROM {headers} WHERE bsd AND problem IS NULL")
    return headers, read, note if bsd else None


def _skipped_runs(staging: Staging, headers: str) -> str:
    """A table of the runs (line, lines) of consecutive lines that are skipped without their text."""
    found = staging.conn.execute(
        f"SELECT _line FROM {headers} WHERE NOT candidate AND problem IS NULL"
    ).fetchnumpy()["_line"]
    numbers = np.asarray(found, dtype=np.int64)
    # The scan keeps the lines' order (it is only checked here), so no window function has to sort them; a run
    # ends where the next skipped line is not the next line.
    if (np.diff(numbers) < 0).any():
        numbers = np.sort(numbers)
    ends = np.flatnonzero(np.diff(numbers) != 1)
    starts = np.concatenate(([0], ends + 1)) if numbers.size else ends
    lengths = np.diff(np.concatenate((starts, [numbers.size])))
    runs = staging.temp_name("syslog_skipped_runs")
    staging.conn.register("_seclo_runs", pa.table({"line": numbers[starts], "lines": lengths}))
    run(staging.conn, f"CREATE TEMP TABLE {runs} AS SELECT * FROM _seclo_runs")
    staging.conn.unregister("_seclo_runs")
    return runs


def _reject_others(staging: Staging, headers: str, rejects: str) -> str:
    """A view of every rejected line: invalid ones, runs of skipped lines that hold no authentication phrase (one
    row per run of consecutive lines, without text), and the `rejects` table."""
    runs = _skipped_runs(staging, headers)
    view = staging.temp_name("syslog_rejects")
    run(
        staging.conn,
        f"""CREATE TEMP VIEW {view} AS
        SELECT _line AS line, field, problem AS reason, left(_text, {MAX_RAW_CHARS}) AS raw, 'invalid' AS category,
            1 AS lines
        FROM {headers} WHERE problem IS NOT NULL
        UNION ALL SELECT line, NULL, 'not an authentication event', NULL, 'skipped', lines FROM {runs}
        UNION ALL SELECT * FROM {rejects}""",
    )
    return view


def _messages(staging: Staging, headers: str) -> str:
    """Parse the tag and message of lines that may be authentication events and classify them."""
    kinds = f"""CASE
        WHEN service = 'sshd' AND starts_with(msg, 'Failed ') THEN 'sshd_failed'
        WHEN service = 'sshd' AND starts_with(msg, 'Accepted ') THEN 'sshd_accepted'
        WHEN service = 'sshd' AND (starts_with(msg, 'Invalid user ') OR starts_with(msg, 'Illegal user '))
            THEN 'sshd_invalid'
        WHEN pam AND contains(msg, 'authentication failure;') THEN 'pam_failure'
        WHEN pam AND contains(msg, 'session opened for user ') AND service NOT IN {_NOT_LOGINS} THEN 'pam_session'
        WHEN starts_with(msg, 'FAILED SU ') OR starts_with(msg, 'FAILED su for ') THEN 'su_failed'
        END"""
    shapes = " ".join(
        f"WHEN '{kind}' THEN regexp_matches(msg, {sql_literal(regex)})" for kind, regex in _SHAPES.items()
    )
    outcome = " ".join(f"WHEN '{k}' THEN 'failure'" for k in _FAILURES)
    events = staging.temp_name("syslog_events")
    run(
        staging.conn,
        f"""CREATE TEMP TABLE {events} AS
        SELECT * EXCLUDE (msg, parts), CASE kind {outcome} ELSE 'success' END AS outcome,
            starts_with(msg, 'message repeated ') AS repeated,
            nullif(CASE WHEN parts IS NOT NULL THEN array_to_string(parts[:-2], ' from ')
                WHEN kind = 'pam_failure' THEN regexp_extract(msg, ' user=([^ ]*)', 1)
                WHEN kind = 'pam_session' THEN regexp_extract(msg, 'session opened for user ([^ (]*)', 1)
                WHEN kind = 'su_failed' THEN regexp_extract(msg, '^FAILED (?:SU|su) (?:\\(to |for )([^)\\s]+)', 1)
            END, '') AS user,
            nullif(CASE WHEN parts IS NOT NULL THEN split_part(parts[-1], ' ', 1)
                WHEN kind = 'pam_failure' THEN regexp_extract(msg, ' rhost=([^ ]*)', 1)
            END, '') AS ip
        FROM (SELECT *,
            CASE WHEN kind IN ('sshd_failed', 'sshd_accepted') THEN string_split(regexp_replace(
                    substr(msg, strpos(msg, ' for ') + 5), '^(?:invalid|illegal) user ', ''), ' from ')
                WHEN kind = 'sshd_invalid' THEN string_split(substr(msg, 14), ' from ') END AS parts,
            coalesce(CASE kind {shapes} ELSE kind IN ('pam_failure', 'pam_session') END, false) AS matched
        FROM (SELECT *, {kinds} AS kind
        FROM (SELECT *, CASE WHEN ends_with(prog, '(pam_unix)') THEN left(prog, -10)
                WHEN prog = 'sshd-session' THEN 'sshd' ELSE nullif(nullif(prog, ''), '-') END AS service,
            ends_with(prog, '(pam_unix)') OR starts_with(msg, 'pam_unix(') AS pam
        FROM (SELECT _line, _text, time, host, t.prog AS prog, nullif(t.pid, '-') AS pid,
            substr(rest, length(t.tag) + 1) AS msg
        FROM (SELECT *, CASE WHEN rfc5424 THEN regexp_extract(rest, {sql_literal(_TAG_5424)}, {_TAG_NAMES})
                ELSE regexp_extract(rest, {sql_literal(_TAG)}, {_TAG_NAMES}) END AS t
        FROM (SELECT *, ltrim(substr(_text, rest_at)) AS rest FROM {headers} WHERE candidate))))))""",
    )
    return events


def _duplicates(staging: Staging, events: str) -> tuple[str, str]:
    """SQL columns saying a pam_unix or "Invalid user" line is counted from another line, and the joins needed.

    Returns ("", "") when the file has no program-own result lines (old systems): nothing is a duplicate.
    """
    own = staging.temp_name("syslog_own")
    run(
        staging.conn,
        f"""CREATE TEMP TABLE {own} AS
        SELECT host, service, bool_or(kind <> 'sshd_accepted') AS own_failures,
            bool_or(kind = 'sshd_accepted') AS own_successes
        FROM {events} WHERE matched AND kind IN ('sshd_failed', 'sshd_accepted', 'su_failed') GROUP BY ALL""",
    )
    if not scalar(staging.conn, f"SELECT count(*) FROM {own}"):
        return "", ""
    failed = staging.temp_name("syslog_failed_processes")
    run(
        staging.conn,
        f"""CREATE TEMP TABLE {failed} AS
        SELECT DISTINCT host, coalesce(pid, '') AS pid FROM {events} WHERE matched AND kind = 'sshd_failed'""",
    )
    case = """CASE
        WHEN p.kind = 'pam_failure' AND o.own_failures
            THEN 'the same failure is logged by ' || p.service || ' itself; counted once from that line'
        WHEN p.kind = 'pam_session' AND o.own_successes
            THEN 'the same login is logged by ' || p.service || ' itself (\"Accepted\"); counted once from that line'
        WHEN p.kind = 'sshd_invalid' AND f.host IS NOT NULL
            THEN 'the same attempt is logged by this sshd process as \"Failed ...\"; counted once from that line'
        END"""
    joins = f"""LEFT JOIN {own} o ON o.host = p.host AND o.service = p.service
        LEFT JOIN {failed} f ON f.host = p.host AND f.pid = coalesce(p.pid, '') AND p.kind = 'sshd_invalid'"""
    return case, joins


class SyslogImporter(Importer):
    """Linux syslog authentication events (sshd, su, login and other pam_unix services)."""

    kind: ClassVar[str] = "syslog"
    summary: ClassVar[str] = "authentication events from Linux syslog (sshd, su, login, pam_unix)"
    targets: ClassVar[tuple[str, ...]] = ("auth_events",)

    def stage(self, staging: Staging) -> Staged:
        """Parse the file's lines into auth_events rows; every other line is a skipped or invalid reject."""
        conn = staging.conn
        check_timezone(conn, staging.options.timezone)
        headers, read, year_note = _headers(staging)
        if year_note:
            staging.note(year_note)
        rejects = create_rejects(staging)
        all_rejects = _reject_others(staging, headers, rejects)
        events = _messages(staging, headers)
        duplicate, joins = _duplicates(staging, events)
        repeated = int(scalar(conn, f"SELECT count(*) FROM {events} WHERE repeated"))
        if repeated:
            many = repeated > 1
            staging.note(
                f"{staging.path.name}: {repeated} authentication line{'s are' if many else ' is an'} rsyslog "
                f'"message repeated N times" summar{"ies" if many else "y"}; the repeats are not in the file and '
                "were not loaded (turn off $RepeatedMsgReduction to log every event)"
            )
        source = staging.temp_name("syslog_source")
        run(
            conn,
            f"CREATE TEMP VIEW {source} AS SELECT p.*, {duplicate or 'NULL'} AS duplicate_of FROM {events} p {joins}",
        )
        valid = stage_typed(
            staging,
            table("auth_events"),
            source,
            {
                "time": "time",
                "user": "user",
                "outcome": "outcome",
                "src_ip": "ip",
                "service": "service",
                "host": "host",
                "source": "'syslog'",
            },
            raw="_text",
            rejects=rejects,
            source_types={"time": "TIMESTAMP"},
            pre_reason="""CASE WHEN repeated
                    THEN 'an rsyslog "message repeated" summary; the repeats it stands for are not in the file'
                WHEN NOT matched THEN 'not an authentication event' ELSE duplicate_of END""",
            pre_category="'skipped'",
            # The parse is kept in `events`: typing it again for the merge costs less than copying it.
            materialize=False,
        )
        return Staged(read, {"auth_events": valid}, all_rejects)
