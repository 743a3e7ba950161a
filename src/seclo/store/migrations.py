"""Schema migrations. Each is applied once, in order, inside a transaction; the store records its version.

Never edit a released migration: add a new one. tests/store/test_migrations.py checks that the migrated store
matches seclo.store.schema.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

_V1 = """
CREATE TABLE auth_events (
    "time" TIMESTAMP, "user" VARCHAR, outcome VARCHAR, mfa BOOLEAN, src_ip VARCHAR, service VARCHAR,
    host VARCHAR, source VARCHAR, row_key UBIGINT, batch_id INTEGER);
CREATE TABLE accounts (
    snapshot_time TIMESTAMP, account_id VARCHAR, "user" VARCHAR, "type" VARCHAR, "owner" VARCHAR,
    owner_active BOOLEAN, mfa_enabled BOOLEAN, disabled BOOLEAN, last_login TIMESTAMP,
    row_key UBIGINT, batch_id INTEGER);
CREATE TABLE assets (
    snapshot_time TIMESTAMP, asset_id VARCHAR, hostname VARCHAR, ip VARCHAR, exposure VARCHAR,
    criticality VARCHAR, team VARCHAR, os VARCHAR, row_key UBIGINT, batch_id INTEGER);
CREATE TABLE ports (
    snapshot_time TIMESTAMP, asset_id VARCHAR, port INTEGER, protocol VARCHAR, state VARCHAR, service VARCHAR,
    product VARCHAR, "version" VARCHAR, row_key UBIGINT, batch_id INTEGER);
CREATE TABLE components (
    snapshot_time TIMESTAMP, asset_id VARCHAR, sbom VARCHAR, ecosystem VARCHAR, "name" VARCHAR,
    "version" VARCHAR, purl VARCHAR, bom_ref VARCHAR, row_key UBIGINT, batch_id INTEGER);
CREATE TABLE advisories (
    id VARCHAR, aliases VARCHAR[], modified TIMESTAMP, published TIMESTAMP, withdrawn TIMESTAMP,
    summary VARCHAR, ecosystem VARCHAR, package VARCHAR, severity VARCHAR, ranges VARCHAR, versions VARCHAR[],
    row_key UBIGINT, batch_id INTEGER);
CREATE TABLE findings (
    finding_id VARCHAR, asset_id VARCHAR, vuln_id VARCHAR, package VARCHAR, "version" VARCHAR,
    severity VARCHAR, opened_at TIMESTAMP, closed_at TIMESTAMP, status VARCHAR, fix_available BOOLEAN,
    known_exploited BOOLEAN, source VARCHAR, row_key UBIGINT, batch_id INTEGER);
CREATE TABLE incidents (
    incident_id VARCHAR, kind VARCHAR, severity VARCHAR, service VARCHAR, occurred_at TIMESTAMP,
    detected_at TIMESTAMP, acknowledged_at TIMESTAMP, resolved_at TIMESTAMP, loss DOUBLE, deploy_id VARCHAR,
    title VARCHAR, row_key UBIGINT, batch_id INTEGER);
CREATE TABLE deployments (
    deploy_id VARCHAR, service VARCHAR, env VARCHAR, finished_at TIMESTAMP, result VARCHAR, team VARCHAR,
    commits STRUCT(sha VARCHAR, committed_at TIMESTAMP)[], row_key UBIGINT, batch_id INTEGER);
CREATE TABLE experiment_runs (
    run_id VARCHAR, experiment VARCHAR, fault VARCHAR, injected_at TIMESTAMP, detected_at TIMESTAMP,
    remediated_at TIMESTAMP, rolled_back_at TIMESTAMP, outcome VARCHAR, row_key UBIGINT, batch_id INTEGER);
CREATE TABLE import_batches (
    batch_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL, rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL,
    rows_duplicate BIGINT NOT NULL, rows_skipped BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
    notes VARCHAR[], options VARCHAR);
CREATE TABLE rejected (
    batch_id INTEGER, source VARCHAR, kind VARCHAR, line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR,
    category VARCHAR);
"""

# V2: experiment_runs gains technique, started_at and journal (columns kept in the documented order, so the
# table is rebuilt rather than altered; rows already there keep their values).
_V2 = """
CREATE TABLE experiment_runs_v2 (
    run_id VARCHAR, experiment VARCHAR, fault VARCHAR, technique VARCHAR, started_at TIMESTAMP,
    injected_at TIMESTAMP, detected_at TIMESTAMP, remediated_at TIMESTAMP, rolled_back_at TIMESTAMP,
    outcome VARCHAR, journal VARCHAR, row_key UBIGINT, batch_id INTEGER);
INSERT INTO experiment_runs_v2 (run_id, experiment, fault, injected_at, detected_at, remediated_at,
    rolled_back_at, outcome, row_key, batch_id)
SELECT run_id, experiment, fault, injected_at, detected_at, remediated_at, rolled_back_at, outcome, row_key,
    batch_id FROM experiment_runs;
DROP TABLE experiment_runs;
ALTER TABLE experiment_runs_v2 RENAME TO experiment_runs;
"""

# A rejected row may stand for a run of consecutive lines (line .. line + lines - 1) with the same reason and no
# text, such as the kernel and cron lines of a syslog file: one row per line made recording them the slowest step.
_V3 = """
ALTER TABLE rejected ADD COLUMN lines BIGINT DEFAULT 1;
"""

# Playbooks: runs (the UNIQUE idempotency key makes each trigger occurrence run at most once), the hash-chained
# audit trail, level-triggered signal episodes and the records `store` steps write.
_V4 = """
CREATE TABLE playbook_runs (
    run_id VARCHAR PRIMARY KEY, playbook VARCHAR NOT NULL, "mode" VARCHAR NOT NULL,
    trigger_type VARCHAR NOT NULL, occurrence VARCHAR NOT NULL, idempotency_key VARCHAR NOT NULL UNIQUE,
    started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, status VARCHAR NOT NULL, next_step INTEGER NOT NULL,
    failed_step VARCHAR, error VARCHAR, context VARCHAR);
CREATE TABLE playbook_audit (
    seq BIGINT PRIMARY KEY, recorded_at TIMESTAMP NOT NULL, run_id VARCHAR, playbook VARCHAR,
    event VARCHAR NOT NULL, step VARCHAR, detail VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL);
CREATE TABLE playbook_episodes (
    signal VARCHAR PRIMARY KEY, started_at TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL);
CREATE TABLE playbook_records (
    recorded_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, playbook VARCHAR NOT NULL, step VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, subject VARCHAR, fields VARCHAR);
"""

# Alertmanager alerts received by `seclo serve` (issue 4). Self-contained: it only creates its own table.
_V5 = """
CREATE TABLE alert_events (
    fingerprint VARCHAR, starts_at TIMESTAMP, ends_at TIMESTAMP, status VARCHAR, alertname VARCHAR,
    severity VARCHAR, service VARCHAR, slo VARCHAR, labels VARCHAR, annotations VARCHAR, generator_url VARCHAR,
    receiver VARCHAR, received_at TIMESTAMP, incident_id VARCHAR, row_key UBIGINT, batch_id INTEGER);
"""

# V6: experiment_runs gains name, the experiment's file name without extension (what `seclo experiment run NAME`
# takes), so a run's history survives a change of title and two files with one title stay apart. Rebuilt to keep
# the documented column order; runs recorded before keep a NULL name (they are matched by title).
_V6 = """
CREATE TABLE experiment_runs_v6 (
    run_id VARCHAR, experiment VARCHAR, name VARCHAR, fault VARCHAR, technique VARCHAR, started_at TIMESTAMP,
    injected_at TIMESTAMP, detected_at TIMESTAMP, remediated_at TIMESTAMP, rolled_back_at TIMESTAMP,
    outcome VARCHAR, journal VARCHAR, row_key UBIGINT, batch_id INTEGER);
INSERT INTO experiment_runs_v6 (run_id, experiment, fault, technique, started_at, injected_at, detected_at,
    remediated_at, rolled_back_at, outcome, journal, row_key, batch_id)
SELECT run_id, experiment, fault, technique, started_at, injected_at, detected_at, remediated_at, rolled_back_at,
    outcome, journal, row_key, batch_id FROM experiment_runs;
DROP TABLE experiment_runs;
ALTER TABLE experiment_runs_v6 RENAME TO experiment_runs;
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), (2, _V2), (3, _V3), (4, _V4), (5, _V5), (6, _V6))
