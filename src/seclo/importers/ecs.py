"""Elastic Common Schema (ECS) authentication events from NDJSON, one document per line.

Documents may nest their fields ({"event": {"outcome": "failure"}}) or use dotted keys ({"event.outcome":
"failure"}), as Beats and Elastic Agent output can; both are read. Field mapping to auth_events:

- time: `@timestamp` (ISO 8601; without an offset it is local to ImportOptions.timezone);
- outcome: `event.outcome` "success" or "failure" ("unknown" and anything else is invalid);
- user: `user.name`; src_ip: `source.ip`; host: `host.name`, else `host.hostname`;
- service: `service.name`, else `process.name`, else `event.dataset`;
- mfa: NULL (ECS has no field for it); source: "ecs".

Documents whose `event.category` (a string or a list) does not contain "authentication" are skipped.
"""

from __future__ import annotations

from typing import ClassVar

from seclo.importers.interface import Importer, Staged, Staging
from seclo.importers.lines import json_fields_sql, stage_lines
from seclo.importers.timestamps import check_timezone, text_time_sql
from seclo.importers.typed import create_rejects, stage_typed
from seclo.store.schema import table
from seclo.store.sql import run

__all__ = ["EcsImporter"]

# ECS fields read from each document; each is looked up nested and as a dotted key.
_FIELDS = (
    "event.category",
    "event.outcome",
    "user.name",
    "source.ip",
    "host.name",
    "host.hostname",
    "service.name",
    "process.name",
    "event.dataset",
)


def _paths() -> list[str]:
    """JSON paths: @timestamp, then for each field its nested path and its dotted key."""
    paths = ['$."@timestamp"']
    for name in _FIELDS:
        paths.append("$." + ".".join(f'"{part}"' for part in name.split(".")))
        paths.append(f'$."{name}"')
    return paths


def _field(name: str) -> str:
    """SQL for the text of ECS field `name`, nested or dotted (from the extracted list `_v`)."""
    nested = 2 + 2 * _FIELDS.index(name)
    return f"coalesce(nullif(_v[{nested}], ''), nullif(_v[{nested + 1}], ''))"


class EcsImporter(Importer):
    """ECS authentication events, NDJSON."""

    kind: ClassVar[str] = "ecs"
    summary: ClassVar[str] = "Elastic Common Schema authentication events, one JSON document per line"
    targets: ClassVar[tuple[str, ...]] = ("auth_events",)

    def stage(self, staging: Staging) -> Staged:
        """Read each line as an ECS document; load authentication events, skip the others."""
        conn = staging.conn
        check_timezone(conn, staging.options.timezone)
        lines, read = stage_lines(staging)
        source = staging.temp_name("ecs")
        run(
            conn,
            f"""CREATE TEMP TABLE {source} AS
            SELECT *, {text_time_sql("stamp", staging.options.timezone)} AS time,
                coalesce(lower(category) = 'authentication'
                    OR starts_with(category, '[') AND try(json_contains(lower(category), '"authentication"')), false)
                    AS authentication
            FROM (
                SELECT *, nullif(_v[1], '') AS stamp, {_field("event.category")} AS category FROM (
                    {json_fields_sql(lines, _paths())}
                )
            )""",
        )
        rejects = create_rejects(staging)
        valid = stage_typed(
            staging,
            table("auth_events"),
            source,
            {
                "time": "time",
                "user": _field("user.name"),
                "outcome": _field("event.outcome"),
                "src_ip": _field("source.ip"),
                "service": f"coalesce({_field('service.name')}, {_field('process.name')}, {_field('event.dataset')})",
                "host": f"coalesce({_field('host.name')}, {_field('host.hostname')})",
                "source": "'ecs'",
            },
            raw="_text",
            rejects=rejects,
            source_types={"time": "TIMESTAMP"},
            pre_field="""CASE WHEN NOT _utf8 OR NOT _ok THEN NULL WHEN NOT authentication THEN 'event.category'
                WHEN time IS NULL THEN '@timestamp' END""",
            pre_reason="""CASE WHEN NOT _utf8 THEN _problem
                WHEN NOT _ok THEN 'not a JSON object'
                WHEN category IS NULL THEN 'no event.category: not an authentication event'
                WHEN NOT authentication THEN 'event.category ' || left(category, 80) || ' is not authentication'
                WHEN stamp IS NULL THEN 'missing; every ECS event has an @timestamp'
                WHEN time IS NULL THEN 'not a valid time: ' || left(stamp, 80)
                END""",
            pre_category="CASE WHEN _utf8 AND _ok AND NOT authentication THEN 'skipped' ELSE 'invalid' END",
        )
        return Staged(read, {"auth_events": valid}, rejects)
