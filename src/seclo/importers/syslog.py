"""Authentication events from Linux syslog files (auth.log, secure, messages), parsed set-based in DuckDB.

Lines are RFC 3164 ("Jun 14 15:16:01 host sshd[42]: ...", optionally with a "<PRI>" prefix), rsyslog's
high-precision form ("2024-03-01T10:00:00.123+00:00 host sshd[42]: ...") or RFC 5424 ("<38>1 2024-03-01T10:00:00Z
host sshd 42 - - ..."). One regular expression splits every line into header fields; cheap prefix tests then pick
the few lines worth a message regex. Loaded (service is the program without "(pam_unix)"; "sshd-session", which
OpenSSH 9.8+ logs from, is "sshd"):

- sshd "Failed <method> for [invalid user ]U from IP port N", "Invalid user U from IP": failure;
- sshd "Accepted <method> for U from IP port N": success (mfa stays NULL: one line never proves a second factor);
- pam_unix "authentication failure; ... rhost=H [user=U]": failure (rhost may be a host name, kept as given);
- pam_unix "session opened for user U by ...": success (except cron, atd and systemd user sessions, which are not
  logins);
- su "FAILED SU (to U) ..." / "FAILED su for U by ...": failure.

Every other syslog line is a "skipped" reject ("not an authentication event"), so counts reconcile. A line that is
not syslog, has an impossible date (Feb 30) or is not UTF-8 is an "invalid" reject.

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
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import duckdb

from seclo.errors import InputError
from seclo.importers.interface import Importer, Staged, Staging
from seclo.importers.lines import stage_lines
from seclo.importers.typed import create_rejects, sql_literal, stage_typed
from seclo.store.schema import table
from seclo.store.sql import run, scalar

__all__ = ["SyslogImporter", "check_timezone", "local_to_utc_sql"]

_MONTHS = "['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']"

# <PRI>, the RFC 5424 version, then a BSD or an ISO 8601 timestamp, the host and the rest of the line.
_HEADER = (
    r"^(?:<\d{1,3}>)?(1 )?(?:([A-Z][a-z]{2}) +(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})"
    r"|(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})?) +(\S+) +(.*)$"
)
_HEADER_NAMES = "['rfc5424', 'mon', 'day', 'hh', 'mi', 'ss', 'iso', 'zone', 'host', 'rest']"
_STAMP_PREFIX = r"^(?:<\d{1,3}>)?(?:1 )?(?:[A-Z][a-z]{2} +\d{1,2} \d|\d{4}-\d{2}-\d{2}[T ]\d)"
# "prog[pid]: message" (RFC 3164) or "APP PROCID MSGID STRUCTURED-DATA MESSAGE" (RFC 5424).
_TAG = r"^([^\s\[\]:]+)(?:\[(\d+)\])?: ?(.*)$"
_TAG_5424 = r"^(\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)(?: (?:\x{FEFF})?(.*))?$"
_TAG_NAMES = "['prog', 'pid', 'msg']"

# One regex per kind of message; the first group is never empty when it matches. Field order varies with the
# message, and DuckDB unifies the structs by name.
_MESSAGES: dict[str, tuple[str, str]] = {
    "sshd_failed": (
        r"^(Failed) \S+ for (?:(?:invalid|illegal) user )?(.*) from (\S+) port \d+",
        "['ok', 'user', 'ip']",
    ),
    "sshd_accepted": (r"^(Accepted) \S+ for (.*) from (\S+) port \d+", "['ok', 'user', 'ip']"),
    "sshd_invalid": (r"^(Invalid|Illegal) user (.*) from (\S+?)(?: port \d+)?\s*$", "['ok', 'user', 'ip']"),
    "pam_failure": (r"(authentication failure);.* rhost=(\S*)(?: +user=(\S+))?", "['ok', 'ip', 'user']"),
    "pam_session": (r"(session opened) for user ([^\s(]+)()", "['ok', 'user', 'ip']"),
    "su_failed": (r"^(FAILED) (?:SU|su) (?:\(to |for )([^)\s]+)()", "['ok', 'user', 'ip']"),
}
_FAILURES = ("sshd_failed", "sshd_invalid", "pam_failure", "su_failed")
_NOT_LOGINS = "('cron', 'CRON', 'crond', 'atd', 'systemd', 'systemd-user')"


def check_timezone(conn: duckdb.DuckDBPyConnection, tz: str) -> None:
    """Refuse a time zone DuckDB does not know, before any line is read.

    Raises:
        InputError: the zone is unknown.
    """
    try:
        run(conn, "SELECT timezone(?, TIMESTAMP '2000-01-01')", [tz])
    except duckdb.Error:
        raise InputError(
            f"unknown time zone {tz!r}", tip="use an IANA name such as 'UTC' or 'Europe/Paris'"
        ) from None


def local_to_utc_sql(naive: str, tz: str) -> str:
    """SQL turning the naive TIMESTAMP `naive`, a wall-clock time in `tz`, into a naive UTC TIMESTAMP."""
    if tz == "UTC":
        return naive
    return f"try(CAST(timezone({sql_literal(tz)}, {naive}) AS TIMESTAMP))"


def _year_sql(staging: Staging) -> str:
    """SQL for the year of an RFC 3164 line (month in `month`), noting the assumption when there is one."""
    if staging.options.year is not None:
        return str(int(staging.options.year))
    mtime = staging.path.stat().st_mtime
    local = scalar(staging.conn, "SELECT timezone(?, to_timestamp(?))", [staging.options.timezone, mtime])
    assert isinstance(local, datetime)  # noqa: S101 - DuckDB returns a naive datetime for TIMESTAMP
    year, month = local.year, local.month
    staging.note(
        f"{staging.path.name}: syslog lines carry no year; assumed {year}, the year the file was last modified "
        f"({local:%Y-%m-%d}), and {year - 1} for lines dated after {local:%B}. --year sets the year."
    )
    return f"CASE WHEN month > {month} THEN {year - 1} ELSE {year} END"


def _parse(staging: Staging, lines: str) -> str:
    """Split every line into header, tag and message fields and classify the message; return the table."""
    tz = staging.options.timezone
    messages = " ".join(
        f"WHEN kind = '{kind}' THEN regexp_extract(msg, {sql_literal(regex)}, {names})"
        for kind, (regex, names) in _MESSAGES.items()
    )
    header = staging.temp_name("syslog_header")
    run(
        staging.conn,
        f"""CREATE TEMP TABLE {header} AS
        SELECT _line, _text, _utf8, h.*,
            CASE WHEN h.rfc5424 <> '' THEN regexp_extract(h.rest, {sql_literal(_TAG_5424)}, {_TAG_NAMES})
                ELSE regexp_extract(h.rest, {sql_literal(_TAG)}, {_TAG_NAMES}) END AS t,
            list_position({_MONTHS}, h.mon) AS month
        FROM (SELECT _line, _text, _utf8,
            regexp_extract(_text, {sql_literal(_HEADER)}, {_HEADER_NAMES}) AS h FROM {lines})""",
    )
    bsd = int(scalar(staging.conn, f"SELECT count(*) FROM {header} WHERE mon <> ''"))
    year = _year_sql(staging) if bsd else "NULL"
    naive_bsd = "try(make_timestamp(year, month, CAST(day AS BIGINT), CAST(hh AS BIGINT), CAST(mi AS BIGINT), "
    naive_bsd += "CAST(ss AS DOUBLE)))"
    parsed = staging.temp_name("syslog")
    run(
        staging.conn,
        f"""CREATE TEMP TABLE {parsed} AS
        SELECT *, CASE kind {" ".join(f"WHEN '{k}' THEN 'failure'" for k in _FAILURES)} ELSE 'success' END
                AS outcome,
            coalesce(m.ok <> '', false) AS matched
        FROM (
            SELECT *, CASE {messages} END AS m
            FROM (
                SELECT _line, _text, _utf8, host, rest, nullif(t.pid, '-') AS pid, t.msg AS msg,
                    CASE WHEN mon <> '' THEN {local_to_utc_sql(naive_bsd, tz)}
                        WHEN zone <> '' THEN try(CAST(try_cast(iso || zone AS TIMESTAMPTZ) AS TIMESTAMP))
                        WHEN iso <> '' THEN {local_to_utc_sql("try_cast(iso AS TIMESTAMP)", tz)}
                    END AS time,
                    CASE WHEN mon <> '' THEN mon || ' ' || day || ' ' || hh || ':' || mi || ':' || ss
                        || ' (year ' || year || ')' ELSE iso || zone END AS stamp,
                    CASE WHEN ends_with(t.prog, '(pam_unix)') THEN left(t.prog, -10)
                        WHEN t.prog = 'sshd-session' THEN 'sshd' ELSE nullif(nullif(t.prog, ''), '-') END AS service,
                    ends_with(t.prog, '(pam_unix)') OR starts_with(t.msg, 'pam_unix(') AS pam
                FROM (SELECT *, {year} AS year FROM {header})
            ),
            LATERAL (SELECT CASE
                WHEN service = 'sshd' AND starts_with(msg, 'Failed ') THEN 'sshd_failed'
                WHEN service = 'sshd' AND starts_with(msg, 'Accepted ') THEN 'sshd_accepted'
                WHEN service = 'sshd' AND (starts_with(msg, 'Invalid user ') OR starts_with(msg, 'Illegal user '))
                    THEN 'sshd_invalid'
                WHEN pam AND contains(msg, 'authentication failure;') THEN 'pam_failure'
                WHEN pam AND contains(msg, 'session opened for user ') AND service NOT IN {_NOT_LOGINS}
                    THEN 'pam_session'
                WHEN starts_with(msg, 'FAILED SU ') OR starts_with(msg, 'FAILED su for ') THEN 'su_failed'
            END AS kind)
        )""",
    )
    return parsed


def _duplicates(staging: Staging, parsed: str) -> tuple[str, str]:
    """SQL columns saying a pam_unix or "Invalid user" line is counted from another line, and the joins needed.

    Returns ("", "") when the file has no program-own result lines (old systems): nothing is a duplicate.
    """
    own = staging.temp_name("syslog_own")
    run(
        staging.conn,
        f"""CREATE TEMP TABLE {own} AS
        SELECT host, service, bool_or(kind <> 'sshd_accepted') AS own_failures,
            bool_or(kind = 'sshd_accepted') AS own_successes
        FROM {parsed} WHERE matched AND kind IN ('sshd_failed', 'sshd_accepted', 'su_failed') GROUP BY ALL""",
    )
    if not scalar(staging.conn, f"SELECT count(*) FROM {own}"):
        return "", ""
    failed = staging.temp_name("syslog_failed_processes")
    run(
        staging.conn,
        f"""CREATE TEMP TABLE {failed} AS
        SELECT DISTINCT host, coalesce(pid, '') AS pid FROM {parsed} WHERE matched AND kind = 'sshd_failed'""",
    )
    case = f"""CASE
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
        lines, read = stage_lines(staging)
        parsed = _parse(staging, lines)
        duplicate, joins = _duplicates(staging, parsed)
        repeated = int(scalar(conn, f"SELECT count(*) FROM {parsed} WHERE starts_with(msg, 'message repeated ')"))
        if repeated:
            staging.note(
                f"{staging.path.name}: {repeated} line{'s are' if repeated > 1 else ' is'} rsyslog \"message "
                "repeated N times\" summaries; the repeated events are not in the file and were not loaded "
                "(turn off $RepeatedMsgReduction to log them)"
            )
        source = staging.temp_name("syslog_events")
        run(
            conn,
            f"""CREATE TEMP VIEW {source} AS
            SELECT p.*, {duplicate or "NULL"} AS duplicate_of FROM {parsed} p {joins}""",
        )
        rejects = create_rejects(staging)
        skipped = """CASE WHEN starts_with(msg, 'message repeated ')
                THEN 'an rsyslog "message repeated" summary; the repeats it stands for are not in the file'
            WHEN NOT matched THEN 'not an authentication event' ELSE duplicate_of END"""
        valid = stage_typed(
            staging,
            table("auth_events"),
            source,
            {
                "time": "time",
                "user": "m.user",
                "outcome": "outcome",
                "src_ip": "m.ip",
                "service": "service",
                "host": "host",
                "source": "'syslog'",
            },
            raw="_text",
            rejects=rejects,
            source_types={"time": "TIMESTAMP"},
            pre_field="""CASE WHEN NOT _utf8 THEN NULL WHEN host = '' AND regexp_matches(_text, "
                f"{sql_literal(_STAMP_PREFIX)}) THEN 'host' WHEN host = '' OR time IS NULL THEN 'time' END""",
            pre_reason=f"""CASE WHEN NOT _utf8 THEN 'not valid UTF-8 text'
                WHEN host = '' AND regexp_matches(_text, {sql_literal(_STAMP_PREFIX)})
                    THEN 'not a syslog line: no host and message after the timestamp'
                WHEN host = '' THEN 'not a syslog line: it does not start with a timestamp '
                    || '("Mmm dd hh:mm:ss" or ISO 8601)'
                WHEN time IS NULL THEN 'not a valid date and time: ' || stamp
                ELSE {skipped} END""",
            pre_category="CASE WHEN _utf8 AND host <> '' AND time IS NOT NULL THEN 'skipped' ELSE 'invalid' END",
        )
        return Staged(read, {"auth_events": valid}, rejects)
