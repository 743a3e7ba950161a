"""Alert records into the store: alert_events and the incidents they become, merged idempotently.

An alert is keyed by (fingerprint, startsAt): merging the same record again adds nothing, and a resolved
alert is never reopened by a late firing copy.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import duckdb

from seclo.importers.merge import row_key_expression
from seclo.server.alertmanager import AlertRecord
from seclo.store import table
from seclo.store.sql import changed, run

__all__ = ["merge_records"]

_RECEIVED = """fingerprint VARCHAR, starts_at TIMESTAMP, ends_at TIMESTAMP, status VARCHAR, alertname VARCHAR,
severity VARCHAR, service VARCHAR, slo VARCHAR, labels VARCHAR, annotations VARCHAR, generator_url VARCHAR,
receiver VARCHAR, received_at TIMESTAMP, incident_id VARCHAR, kind VARCHAR, incident_severity VARCHAR,
title VARCHAR"""
_COLUMNS = (
    "fingerprint, starts_at, ends_at, status, alertname, severity, service, slo, labels, annotations, "
    "generator_url, receiver, received_at, incident_id"
)


def _collapse(records: list[AlertRecord]) -> list[AlertRecord]:
    """One record per (fingerprint, startsAt): the first received, with the resolution if any arrived."""
    out: dict[tuple[str, datetime], AlertRecord] = {}
    for record in records:
        key = (record.fingerprint, record.starts_at)
        first = out.get(key)
        if first is None:
            out[key] = record
        elif first.status == "firing" and record.status == "resolved":
            out[key] = replace(first, status="resolved", ends_at=record.ends_at)
    return list(out.values())


def merge_records(conn: duckdb.DuckDBPyConnection, records: list[AlertRecord]) -> tuple[int, int]:
    """Insert alerts not seen before and resolve those that were firing; the same for their incidents.

    Runs in the caller's transaction.
    """
    rows = [
        (
            r.fingerprint,
            r.starts_at,
            r.ends_at,
            r.status,
            r.alertname,
            r.severity,
            r.service,
            r.slo,
            r.labels,
            r.annotations,
            r.generator_url,
            r.receiver,
            r.received_at,
            r.incident_id,
            r.incident_kind,
            r.incident_severity,
            r.title,
        )
        for r in _collapse(records)
    ]
    alert_key = row_key_expression(table("alert_events"))
    incident_key = row_key_expression(table("incidents"))
    run(conn, f"CREATE OR REPLACE TEMP TABLE _received ({_RECEIVED})")
    placeholders = ", ".join(["(" + ", ".join(["?"] * len(rows[0])) + ")"] * len(rows))
    run(conn, f"INSERT INTO _received VALUES {placeholders}", [v for row in rows for v in row])
    new = changed(
        conn,
        f"""INSERT INTO alert_events
        SELECT {_COLUMNS}, NULL, NULL FROM _received AS n
        WHERE NOT EXISTS (SELECT 1 FROM alert_events AS a
                          WHERE a.fingerprint = n.fingerprint AND a.starts_at = n.starts_at)""",
    )
    resolved = changed(
        conn,
        """UPDATE alert_events AS a SET status = 'resolved', ends_at = n.ends_at
        FROM _received AS n
        WHERE a.fingerprint = n.fingerprint AND a.starts_at = n.starts_at
          AND a.status = 'firing' AND n.status = 'resolved'""",
    )
    run(
        conn,
        f"""UPDATE alert_events AS a SET row_key = {alert_key}
        WHERE EXISTS (SELECT 1 FROM _received AS n
                      WHERE a.fingerprint = n.fingerprint AND a.starts_at = n.starts_at)""",
    )
    run(
        conn,
        """INSERT INTO incidents (incident_id, kind, severity, service, occurred_at, detected_at,
                                  resolved_at, title)
        SELECT incident_id, kind, incident_severity, service, starts_at, starts_at, ends_at, title
        FROM _received AS n
        WHERE NOT EXISTS (SELECT 1 FROM incidents AS i WHERE i.incident_id = n.incident_id)""",
    )
    run(
        conn,
        """UPDATE incidents AS i SET resolved_at = n.ends_at
        FROM _received AS n
        WHERE i.incident_id = n.incident_id AND i.resolved_at IS NULL AND n.ends_at IS NOT NULL""",
    )
    run(
        conn,
        f"""UPDATE incidents SET row_key = {incident_key}
        WHERE incident_id IN (SELECT incident_id FROM _received)""",
    )
    run(conn, "DROP TABLE _received")  # on failure the rollback removes it
    return new, resolved
