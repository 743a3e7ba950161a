"""OCSF Authentication events (class_uid 3002) from NDJSON, one event object per line.

Field mapping to auth_events:

- time: `time` (epoch milliseconds, OCSF timestamp_t), else `time_dt` (ISO 8601 text; without an offset it is
  local to ImportOptions.timezone);
- outcome: `status_id` 1 success, 2 failure; for other or missing ids, `status` "Success" / "Failure";
- mfa: `is_mfa`; user: `user.name`; src_ip: `src_endpoint.ip`;
- service: `service.name`, else `dst_endpoint.svc_name`;
- host: `dst_endpoint.hostname`, else `device.hostname` (the device that logged the event);
- source: "ocsf".

Events of another class are skipped ("OCSF class N is not Authentication (3002)"). A line that is not a JSON
object, has no class_uid, an unreadable time or an outcome that is neither success nor failure is invalid.
"""

from __future__ import annotations

from typing import ClassVar

from seclo.importers.interface import Importer, Staged, Staging
from seclo.importers.lines import json_fields_sql, stage_lines
from seclo.importers.timestamps import check_timezone, text_time_sql
from seclo.importers.typed import create_rejects, stage_typed
from seclo.store.schema import table
from seclo.store.sql import run

__all__ = ["OcsfImporter"]

AUTHENTICATION = 3002

# Source fields read from each event, in the order of the extracted list.
_FIELDS = (
    "class_uid",
    "time",
    "time_dt",
    "status_id",
    "status",
    "is_mfa",
    "user.name",
    "src_endpoint.ip",
    "service.name",
    "dst_endpoint.svc_name",
    "dst_endpoint.hostname",
    "device.hostname",
)


def _field(name: str) -> str:
    """SQL for the text of source field `name` (from the extracted list `_v`)."""
    return f"nullif(_v[{_FIELDS.index(name) + 1}], '')"


class OcsfImporter(Importer):
    """OCSF 3002 Authentication events, NDJSON."""

    kind: ClassVar[str] = "ocsf"
    summary: ClassVar[str] = "OCSF Authentication (3002) events, one JSON object per line"
    targets: ClassVar[tuple[str, ...]] = ("auth_events",)

    def stage(self, staging: Staging) -> Staged:
        """Read each line as an OCSF event; load Authentication events, skip other classes."""
        conn = staging.conn
        check_timezone(conn, staging.options.timezone)
        lines, read = stage_lines(staging)
        source = staging.temp_name("ocsf")
        ms = f"try_cast({_field('time')} AS DOUBLE)"
        run(
            conn,
            f"""CREATE TEMP TABLE {source} AS
            SELECT *, try_cast({_field("class_uid")} AS BIGINT) AS class_uid,
                try_cast({_field("status_id")} AS BIGINT) AS status_id,
                coalesce(try(CAST(to_timestamp({ms} / 1000.0) AS TIMESTAMP)), {text_time_sql("time_dt", tz=staging.options.timezone)})
                    AS time
            FROM (
                SELECT *, {_field("time_dt")} AS time_dt FROM (
                    {json_fields_sql(lines, ["$." + f for f in _FIELDS])}
                )
            )""",
        )
        outcome = f"""CASE WHEN status_id = 1 THEN 'success' WHEN status_id = 2 THEN 'failure'
            WHEN lower({_field("status")}) IN ('success', 'failure') THEN lower({_field("status")}) END"""
        rejects = create_rejects(staging)
        valid = stage_typed(
            staging,
            table("auth_events"),
            source,
            {
                "time": "time",
                "user": _field("user.name"),
                "outcome": outcome,
                "mfa": _field("is_mfa"),
                "src_ip": _field("src_endpoint.ip"),
                "service": f"coalesce({_field('service.name')}, {_field('dst_endpoint.svc_name')})",
                "host": f"coalesce({_field('dst_endpoint.hostname')}, {_field('device.hostname')})",
                "source": "'ocsf'",
            },
            raw="_text",
            rejects=rejects,
            source_types={"time": "TIMESTAMP"},
            pre_field=f"""CASE WHEN NOT _utf8 OR NOT _ok THEN NULL
                WHEN class_uid IS NULL OR class_uid <> {AUTHENTICATION} THEN 'class_uid'
                WHEN time IS NULL AND ({_field("time")} IS NOT NULL OR time_dt IS NOT NULL) THEN 'time'
                WHEN ({outcome}) IS NULL THEN 'status_id' END""",
            pre_reason=f"""CASE WHEN NOT _utf8 THEN _problem
                WHEN NOT _ok THEN 'not a JSON object'
                WHEN {_field("class_uid")} IS NULL
                    THEN 'missing; every OCSF event has a class_uid (3002 for Authentication)'
                WHEN class_uid IS NULL THEN 'not a class number: ' || left({_field("class_uid")}, 80)
                WHEN class_uid <> {AUTHENTICATION}
                    THEN 'OCSF class ' || class_uid || ' is not Authentication ({AUTHENTICATION})'
                WHEN time IS NULL AND {_field("time")} IS NOT NULL
                    THEN 'not epoch milliseconds: ' || left({_field("time")}, 80)
                WHEN time IS NULL AND time_dt IS NOT NULL THEN 'not a valid time_dt: ' || left(time_dt, 80)
                WHEN ({outcome}) IS NULL AND {_field("status_id")} IS NULL AND {_field("status")} IS NULL
                    THEN 'no status_id or status: the outcome is unknown'
                WHEN ({outcome}) IS NULL THEN 'status_id ' || coalesce({_field("status_id")}, 'missing')
                    || coalesce(' (' || {_field("status")} || ')', '')
                    || ' is neither 1 (Success) nor 2 (Failure)'
                END""",
            pre_category=f"""CASE WHEN _utf8 AND _ok AND class_uid IS NOT NULL AND class_uid <> {AUTHENTICATION}
                THEN 'skipped' ELSE 'invalid' END""",
        )
        return Staged(read, {"auth_events": valid}, rejects)
