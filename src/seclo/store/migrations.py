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

# Alertmanager alerts received by `seclo serve` (issue 4). Self-contained: it only creates its own table.
_V2_ALERT_EVENTS = """
CREATE TABLE alert_events (
    fingerprint VARCHAR, starts_at TIMESTAMP, ends_at TIMESTAMP, status VARCHAR, alertname VARCHAR,
    severity VARCHAR, service VARCHAR, slo VARCHAR, labels VARCHAR, annotations VARCHAR, generator_url VARCHAR,
    receiver VARCHAR, received_at TIMESTAMP, incident_id VARCHAR, row_key UBIGINT, batch_id INTEGER);
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), (2, _V2_ALERT_EVENTS))
