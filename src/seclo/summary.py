"""A short account of what is in the store: row counts, time spans and a few headline security figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seclo.sli.slicing import FINDING_NOT_COUNTED, finding_closed_at
from seclo.store.connection import Store
from seclo.store.schema import TABLES
from seclo.store.sql import quote_ident

__all__ = ["Headline", "StoreSummary", "TableSummary", "summarise"]


@dataclass(frozen=True, slots=True)
class TableSummary:
    """Rows in one table and the time span they cover."""

    table: str
    rows: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class Headline:
    """One figure worth showing, with how it was computed."""

    name: str
    value: str
    detail: str


@dataclass(frozen=True, slots=True)
class StoreSummary:
    """Everything `summarise` found."""

    tables: tuple[TableSummary, ...]
    rejected: int
    imports: int
    headlines: tuple[Headline, ...]


_HEADLINES: tuple[tuple[str, str, str], ...] = (
    (
        "login success rate",
        """SELECT printf('%.2f%%', 100.0 * count(*) FILTER (outcome = 'success') / count(*)),
                  printf('%,d attempts, %,d failed', count(*), count(*) FILTER (outcome = 'failure'))
           FROM auth_events HAVING count(*) > 0""",
        "auth_events",
    ),
    (
        "accounts without MFA",
        """SELECT printf('%.1f%%', 100.0 * count(*) FILTER (NOT coalesce(mfa_enabled, false)) / count(*)),
                  printf('%,d of %,d enabled accounts at %s', count(*) FILTER (NOT coalesce(mfa_enabled, false)),
                         count(*), max(snapshot_time))
           FROM accounts WHERE snapshot_time = (SELECT max(snapshot_time) FROM accounts)
             AND NOT coalesce(disabled, false) HAVING count(*) > 0""",
        "accounts",
    ),
    (
        "orphaned accounts",
        """SELECT printf('%,d', count(*)), 'enabled accounts whose owner has left, in the latest snapshot'
           FROM accounts WHERE snapshot_time = (SELECT max(snapshot_time) FROM accounts)
             AND NOT coalesce(disabled, false) AND owner_active = false HAVING count(*) > 0""",
        "accounts",
    ),
    (
        "open ports on public assets",
        # Hosts are scanned at different times (staggered scans, per-subnet schedules): each public asset counts
        # at its own latest scan, if that was within 90 days of the newest one.
        """WITH latest AS (
             SELECT asset_id, max(snapshot_time) AS at FROM ports GROUP BY asset_id
             HAVING max(snapshot_time) >= (SELECT max(snapshot_time) FROM ports) - INTERVAL 90 DAY)
           SELECT printf('%,d', count(*)),
                  printf('on %,d public assets, each at its latest scan', count(DISTINCT p.asset_id))
           FROM ports p JOIN latest l ON l.asset_id = p.asset_id AND l.at = p.snapshot_time
           JOIN assets a ON a.asset_id = p.asset_id AND a.snapshot_time = p.snapshot_time
           WHERE p.state = 'open' AND a.exposure = 'public' HAVING count(*) > 0""",
        "ports",
    ),
    (
        "open findings",
        f"""SELECT printf('%,d', sum(n)), string_agg(severity || ' ' || n, ', ' ORDER BY rank)
           FROM (SELECT severity, count(*) AS n, list_position(['critical','high','medium','low'], severity) AS rank
                 FROM findings AS f WHERE {finding_closed_at("f")} IS NULL AND f.status NOT IN {FINDING_NOT_COUNTED}
                 GROUP BY severity) HAVING sum(n) > 0""",
        "findings",
    ),
    (
        "incidents",
        """SELECT printf('%,d', sum(n)), string_agg(kind || ' ' || n, ', ' ORDER BY kind)
           FROM (SELECT kind, count(*) AS n FROM incidents GROUP BY kind) HAVING sum(n) > 0""",
        "incidents",
    ),
    (
        "deployments",
        """SELECT printf('%,d', count(*)), printf('%.1f%% failed', 100.0 * count(*) FILTER (result = 'failure')
                  / count(*)) FROM deployments HAVING count(*) > 0""",
        "deployments",
    ),
)


def summarise(store: Store) -> StoreSummary:
    """Count every table and compute the headline figures that have data."""
    conn = store.conn
    tables: list[TableSummary] = []
    counts: dict[str, int] = {}
    for spec in TABLES:
        time_col = quote_ident(spec.time_column) if spec.time_column else "NULL"
        rows, first, last = conn.execute(
            f"SELECT count(*), min({time_col}), max({time_col}) FROM {spec.name}"
        ).fetchall()[0]
        counts[spec.name] = int(rows)
        tables.append(TableSummary(spec.name, int(rows), first, last))
    rejected = int(conn.execute("SELECT count(*) FROM rejected").fetchall()[0][0])
    imports = int(conn.execute("SELECT count(*) FROM import_batches").fetchall()[0][0])
    headlines: list[Headline] = []
    for name, sql, needs in _HEADLINES:
        if not counts.get(needs):
            continue
        rows_found = conn.execute(sql).fetchall()
        if rows_found and rows_found[0][0] is not None:
            headlines.append(Headline(name, str(rows_found[0][0]), str(rows_found[0][1] or "")))
    return StoreSummary(tuple(tables), rejected, imports, tuple(headlines))
