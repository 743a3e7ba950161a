"""Findings from components and advisories: which asset runs which vulnerable package version, and since when.

The heavy work is SQL. DuckDB reduces the components to their distinct (ecosystem, package, version) triples
that some advisory names, so Python only evaluates those few against the OSV ranges (seclo.importers.matching
.ranges). The matches go back as a temporary table, and one set-based query turns them into findings over every
snapshot of every asset, which the shared upsert merge writes into the findings table.

A finding is one (asset, package version, advisory). It opens at the first snapshot of the asset that has the
version and closes at the first snapshot of the asset, after the last one that has it, that no longer does; an
asset is `components.asset_id`, or the SBOM name when there is none.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from seclo.importers.matching.ecosystems import ecosystem_key_sql, ecosystem_scheme, normalised_name_sql
from seclo.importers.matching.ranges import (
    AffectedEntry,
    VersionParser,
    evaluate,
    parse_ranges,
    unevaluable_ranges,
)
from seclo.importers.matching.severity import SEVERITY_ORDER, qualitative
from seclo.importers.merge import merge_table
from seclo.store.schema import table
from seclo.store.sql import quote_ident, run, scalar

__all__ = ["MatchSummary", "match_findings"]

SOURCE = "osv"
_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """What one matching run found.

    Attributes:
        candidates: distinct (ecosystem, package, version) of components whose package some advisory names.
        affected: of those, how many at least one advisory affects.
        findings: findings the run produced (open and closed).
        written: findings added or changed in the store (0 when nothing changed since the last run).
        retracted: earlier seclo findings no advisory supports any more (withdrawn or corrected), now marked
            false_positive.
        unparseable: candidates whose version is not valid in its ecosystem's ordering (matched only against
            the explicit `versions` lists).
        unevaluable_ranges: ranges of the candidate advisories seclo cannot evaluate (GIT, or an ecosystem
            without an ordering, or an event that does not parse).
    """

    candidates: int
    affected: int
    findings: int
    written: int
    retracted: int
    unparseable: int
    unevaluable_ranges: int

    def describe(self) -> str:
        """One sentence for the import's notes."""
        text = (
            f"matched {self.candidates} component versions against advisories: {self.affected} affected, "
            f"{self.findings} findings ({self.written} new or changed"
        )
        text += f", {self.retracted} retracted)" if self.retracted else ")"
        if self.unparseable:
            text += f"; {self.unparseable} versions are not valid in their ecosystem and matched no range"
        if self.unevaluable_ranges:
            text += f"; {self.unevaluable_ranges} ranges (GIT or unordered) used only via the versions lists"
        return text


def _candidates_sql(pairs: str) -> str:
    eco = ecosystem_key_sql("ecosystem")
    return f"""
        CREATE TEMP TABLE {pairs} AS
        WITH adv AS (
            SELECT DISTINCT {eco} AS eco, {normalised_name_sql(eco, "package")} AS pkg
            FROM advisories WHERE withdrawn IS NULL AND ecosystem IS NOT NULL AND package IS NOT NULL
        ),
        comp AS (
            SELECT DISTINCT {eco} AS eco, {normalised_name_sql(eco, '"name"')} AS pkg, "version"
            FROM components WHERE ecosystem IS NOT NULL AND "version" IS NOT NULL
        )
        SELECT comp.eco, comp.pkg, comp."version" FROM comp JOIN adv USING (eco, pkg)"""


def _advisories_sql(pairs: str) -> str:
    eco = ecosystem_key_sql("ecosystem")
    return f"""
        SELECT a.eco, a.pkg, a.id, a.ranges, a.versions, a.severity
        FROM (
            SELECT {eco} AS eco, {normalised_name_sql(eco, "package")} AS pkg, id, ranges, versions, severity
            FROM advisories WHERE withdrawn IS NULL
        ) a
        JOIN (SELECT DISTINCT eco, pkg FROM {pairs}) p ON a.eco = p.eco AND a.pkg = p.pkg
        ORDER BY a.id"""


def _findings_sql(staged: str, matches: str) -> str:
    eco = ecosystem_key_sql("ecosystem")
    return f"""
        CREATE TEMP TABLE {staged} AS
        WITH comp AS (
            SELECT coalesce(asset_id, sbom) AS asset, snapshot_time, "name", "version", {eco} AS eco,
                {normalised_name_sql(eco, '"name"')} AS pkg
            FROM components WHERE coalesce(asset_id, sbom) IS NOT NULL
        ),
        snapshots AS (SELECT DISTINCT asset, snapshot_time FROM comp),
        seen AS (
            SELECT c.asset, c.eco, c.pkg, c."version", m.vuln_id, min(c."name") AS package,
                min(c.snapshot_time) AS opened_at, max(c.snapshot_time) AS last_seen,
                any_value(m.severity) AS severity, any_value(m.fix_available) AS fix_available
            FROM comp c JOIN {matches} m ON c.eco = m.eco AND c.pkg = m.pkg AND c."version" = m."version"
            GROUP BY c.asset, c.eco, c.pkg, c."version", m.vuln_id
        ),
        dated AS (
            SELECT seen.*, (
                SELECT min(s.snapshot_time) FROM snapshots s
                WHERE s.asset = seen.asset AND s.snapshot_time > seen.last_seen
            ) AS closed_at
            FROM seen
        )
        SELECT
            'osv:' || md5(concat_ws('|', asset, eco, pkg, "version", vuln_id)) AS finding_id,
            asset AS asset_id, vuln_id, package, "version", severity, opened_at, closed_at,
            CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END AS status,
            fix_available, false AS known_exploited, '{SOURCE}' AS source,
            row_number() OVER (ORDER BY finding_id) AS _line
        FROM dated"""


def _stage_matches(conn: duckdb.DuckDBPyConnection, pairs: str, matches: str) -> tuple[int, int, int, int]:
    """Evaluate the candidate versions in Python; write the matches to `matches`.

    Returns (candidates, affected candidates, unparseable versions, unevaluable ranges).
    """
    entries: dict[tuple[str, str], list[tuple[AffectedEntry, str | None]]] = defaultdict(list)
    for eco, pkg, vuln_id, ranges, versions, severity in conn.execute(_advisories_sql(pairs)).fetchall():
        entry = AffectedEntry(vuln_id, eco, parse_ranges(ranges), frozenset(versions or ()))
        entries[(eco, pkg)].append((entry, qualitative(severity)))
    parse = VersionParser()
    unevaluable = sum(unevaluable_ranges(e, parse) for group in entries.values() for e, _ in group)
    found: dict[tuple[str, str, str, str], tuple[str, bool]] = {}
    candidates = unparseable = 0
    affected: set[tuple[str, str, str]] = set()
    for eco, pkg, version in conn.execute(f'SELECT eco, pkg, "version" FROM {pairs}').fetchall():
        candidates += 1
        scheme = ecosystem_scheme(eco)
        if scheme is not None and parse(scheme, version) is None:
            unparseable += 1
        for entry, severity in entries[(eco, pkg)]:
            verdict = evaluate(entry, version, parse)
            if verdict is None:
                continue
            affected.add((eco, pkg, version))
            key = (eco, pkg, version, entry.vuln_id)
            # The same advisory twice for one package (names spelled differently): the most severe, any fix.
            old_severity, old_fix = found.get(key, ("unknown", False))
            new_severity = severity or "unknown"
            worst = max(old_severity, new_severity, key=SEVERITY_ORDER.index)
            found[key] = (worst, old_fix or verdict.fix_available)
    rows = [(*key, severity, fix) for key, (severity, fix) in found.items()]
    names = ("eco", "pkg", "version", "vuln_id", "severity")
    arrow = pa.table(
        {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(names)}
        | {"fix_available": pa.array([r[5] for r in rows], pa.bool_())}
    )
    conn.register("_seclo_matches", arrow)
    try:
        run(conn, f"CREATE TEMP TABLE {matches} AS SELECT * FROM _seclo_matches")
    finally:
        conn.unregister("_seclo_matches")
    return candidates, len(affected), unparseable, unevaluable


def match_findings(conn: duckdb.DuckDBPyConnection, batch_id: int) -> MatchSummary:
    """Match every component against every advisory that is not withdrawn, and upsert the findings.

    Safe to run after any import that changes components or advisories (the OSV and CycloneDX importers call
    it from `after_merge`, inside the import's transaction): findings are keyed by a deterministic id, so a run
    that finds nothing new writes nothing. Rows written carry `batch_id`.
    """
    spec = table("findings")
    n = next(_counter)
    pairs, matches, staged = f"_match_pairs_{n}", f"_match_hits_{n}", f"_match_findings_{n}"
    run(conn, _candidates_sql(pairs))
    candidates, affected, unparseable, unevaluable = _stage_matches(conn, pairs, matches)
    run(conn, _findings_sql(staged, matches))
    produced = int(scalar(conn, f"SELECT count(*) FROM {staged}"))
    # seclo's findings that no advisory supports any more (withdrawn, corrected) are kept, as false positives.
    stale = f"""FROM findings f WHERE f.source = '{SOURCE}' AND f.finding_id LIKE 'osv:%'
        AND f.status <> 'false_positive' AND f.finding_id NOT IN (SELECT finding_id FROM {staged})"""
    retracted = int(scalar(conn, f"SELECT count(*) {stale}"))
    if retracted:
        columns = ", ".join(
            "'false_positive'" if c == "status" else quote_ident(c) for c in spec.column_names
        )
        run(conn, f"INSERT INTO {staged} SELECT {columns}, {produced} + row_number() OVER () {stale}")
    changed_rows = merge_table(conn, spec, staged, batch_id).loaded
    # Dropped on success only: after an error the import's transaction is rolled back, which drops them.
    for name in (staged, matches, pairs):
        run(conn, f"DROP TABLE IF EXISTS {name}")
    return MatchSummary(candidates, affected, produced, changed_rows, retracted, unparseable, unevaluable)
