"""The canonical data model: every table, its columns, and the OCSF / ECS / OSV field each column maps to.

docs/data-model.md is generated from this module (`python -m seclo.store.schema`), and a test keeps them equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RECORD_TABLES", "TABLES", "Column", "Merge", "TableSpec", "table"]

Merge = Literal["multiset", "upsert", "append"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a canonical table.

    Attributes:
        name: column name.
        sql_type: DuckDB type.
        required: a row without a value here is rejected.
        choices: the allowed values (lower-case), when the column is an enumeration.
        maps_to: the OCSF, ECS, OSV or CycloneDX field it corresponds to.
        doc: one line for docs/data-model.md.
    """

    name: str
    sql_type: str
    doc: str
    maps_to: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A canonical table.

    Attributes:
        name: table name in the store.
        kinds: names accepted by `seclo import` for its canonical files.
        columns: the user-visible columns (the store adds row_key and batch_id).
        merge: how a re-import combines with what is there. "multiset": a row identical to one already in the
            store (same content, same occurrence) adds nothing. "upsert": a row whose key is already present
            replaces it (an entity whose state changes, such as a finding being closed). "append": written only
            by seclo itself.
        key: the entity key for "upsert" tables.
        time_column: the column that orders rows in time (used to narrow duplicate checks).
        doc: what a row is.
    """

    name: str
    kinds: tuple[str, ...]
    columns: tuple[Column, ...]
    merge: Merge
    doc: str
    key: tuple[str, ...] = ()
    time_column: str | None = None

    def column(self, name: str) -> Column:
        """The column called `name`."""
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """User-visible column names in order."""
        return tuple(c.name for c in self.columns)


SEVERITIES = ("critical", "high", "medium", "low", "none", "unknown")
COMMITS_TYPE = "STRUCT(sha VARCHAR, committed_at TIMESTAMP)[]"

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="auth_events",
        kinds=("events", "auth_events"),
        merge="multiset",
        time_column="time",
        doc="One authentication attempt.",
        columns=(
            Column(
                "time", "TIMESTAMP", "When the attempt happened (UTC).", "OCSF time; ECS @timestamp", True
            ),
            Column("user", "VARCHAR", "Account name tried.", "OCSF user.name; ECS user.name"),
            Column(
                "outcome",
                "VARCHAR",
                "Result of the attempt.",
                "OCSF status_id (1 success, 2 failure); ECS event.outcome",
                True,
                ("success", "failure"),
            ),
            Column("mfa", "BOOLEAN", "A second factor was used.", "OCSF is_mfa"),
            Column(
                "src_ip", "VARCHAR", "Address the attempt came from.", "OCSF src_endpoint.ip; ECS source.ip"
            ),
            Column("service", "VARCHAR", "Service logged into (sshd, vpn, sso...).", "OCSF service.name"),
            Column(
                "host",
                "VARCHAR",
                "Host that logged the attempt.",
                "OCSF dst_endpoint.hostname; ECS host.name",
            ),
            Column("source", "VARCHAR", "Where the record came from (syslog, ocsf, ecs, generator...).", ""),
        ),
    ),
    TableSpec(
        name="accounts",
        kinds=("accounts",),
        merge="multiset",
        time_column="snapshot_time",
        doc="One account as seen in one inventory snapshot.",
        columns=(
            Column("snapshot_time", "TIMESTAMP", "When the inventory was taken (UTC).", "OCSF time", True),
            Column("account_id", "VARCHAR", "Stable account identifier.", "OCSF user.uid", True),
            Column("user", "VARCHAR", "Login name.", "OCSF user.name; ECS user.name"),
            Column(
                "type",
                "VARCHAR",
                "Kind of account.",
                "OCSF user.type",
                choices=("human", "service", "admin", "shared", "other"),
            ),
            Column("owner", "VARCHAR", "Person responsible for the account.", "ECS user.email"),
            Column("owner_active", "BOOLEAN", "The owner is still with the organisation.", ""),
            Column("mfa_enabled", "BOOLEAN", "A second factor is enrolled.", "OCSF user.has_mfa"),
            Column("disabled", "BOOLEAN", "The account cannot log in.", "OCSF user.is_disabled (5003)"),
            Column("last_login", "TIMESTAMP", "Last successful login (UTC).", "OCSF user.last_login_time"),
        ),
    ),
    TableSpec(
        name="assets",
        kinds=("assets",),
        merge="multiset",
        time_column="snapshot_time",
        doc="One host or service endpoint in one inventory snapshot.",
        columns=(
            Column(
                "snapshot_time", "TIMESTAMP", "When the inventory or scan was taken (UTC).", "OCSF time", True
            ),
            Column("asset_id", "VARCHAR", "Stable asset identifier.", "OCSF device.uid; ECS host.id", True),
            Column("hostname", "VARCHAR", "Host name.", "OCSF device.hostname; ECS host.name"),
            Column("ip", "VARCHAR", "Primary address.", "OCSF device.ip; ECS host.ip"),
            Column(
                "exposure",
                "VARCHAR",
                "Reachable from the internet or not.",
                "OCSF device.network_scope_id (1 internal, 2 external)",
                choices=("public", "internal"),
            ),
            Column(
                "criticality",
                "VARCHAR",
                "Business criticality.",
                "OCSF device.criticality",
                choices=("critical", "high", "medium", "low"),
            ),
            Column("team", "VARCHAR", "Owning team.", "OCSF device.org.ou_name"),
            Column("os", "VARCHAR", "Operating system.", "OCSF device.os.name; ECS host.os.name"),
        ),
    ),
    TableSpec(
        name="ports",
        kinds=("ports",),
        merge="multiset",
        time_column="snapshot_time",
        doc="One port of one asset in one snapshot.",
        columns=(
            Column("snapshot_time", "TIMESTAMP", "When the scan was taken (UTC).", "OCSF time", True),
            Column("asset_id", "VARCHAR", "Asset the port belongs to.", "OCSF device.uid", True),
            Column("port", "INTEGER", "Port number.", "OCSF open_ports (5001); ECS destination.port", True),
            Column(
                "protocol",
                "VARCHAR",
                "Transport protocol.",
                "ECS network.transport",
                True,
                ("tcp", "udp", "sctp", "ip"),
            ),
            Column("state", "VARCHAR", "open, closed, filtered...", "nmap port/state/@state", True),
            Column("service", "VARCHAR", "Service name.", "nmap service/@name; ECS service.name"),
            Column("product", "VARCHAR", "Product detected.", "nmap service/@product"),
            Column("version", "VARCHAR", "Product version detected.", "nmap service/@version"),
        ),
    ),
    TableSpec(
        name="components",
        kinds=("components",),
        merge="multiset",
        time_column="snapshot_time",
        doc="One software component found in one SBOM.",
        columns=(
            Column(
                "snapshot_time",
                "TIMESTAMP",
                "SBOM creation time (UTC).",
                "CycloneDX metadata.timestamp",
                True,
            ),
            Column(
                "asset_id",
                "VARCHAR",
                "Asset or application the SBOM describes.",
                "CycloneDX metadata.component",
            ),
            Column("sbom", "VARCHAR", "SBOM serial number or file name.", "CycloneDX serialNumber"),
            Column("ecosystem", "VARCHAR", "OSV ecosystem (npm, PyPI, Maven...).", "purl type"),
            Column("name", "VARCHAR", "Package name (with namespace).", "CycloneDX components[].name", True),
            Column("version", "VARCHAR", "Package version.", "CycloneDX components[].version"),
            Column("purl", "VARCHAR", "Package URL.", "CycloneDX components[].purl"),
            Column("bom_ref", "VARCHAR", "Reference inside the SBOM.", "CycloneDX components[].bom-ref"),
        ),
    ),
    TableSpec(
        name="advisories",
        kinds=("advisories",),
        merge="upsert",
        key=("id", "ecosystem", "package"),
        time_column="modified",
        doc="One advisory for one affected package.",
        columns=(
            Column("id", "VARCHAR", "Advisory identifier.", "OSV id", True),
            Column("aliases", "VARCHAR[]", "Other identifiers (CVE...).", "OSV aliases"),
            Column("modified", "TIMESTAMP", "Last change (UTC).", "OSV modified"),
            Column("published", "TIMESTAMP", "First publication (UTC).", "OSV published"),
            Column("withdrawn", "TIMESTAMP", "Withdrawal time, if withdrawn.", "OSV withdrawn"),
            Column("summary", "VARCHAR", "One-line description.", "OSV summary or details"),
            Column("ecosystem", "VARCHAR", "Ecosystem.", "OSV affected[].package.ecosystem", True),
            Column("package", "VARCHAR", "Package name.", "OSV affected[].package.name", True),
            Column("severity", "VARCHAR", "Qualitative severity.", "OSV severity / database_specific", False),
            Column("ranges", "VARCHAR", "Affected ranges as OSV JSON.", "OSV affected[].ranges"),
            Column("versions", "VARCHAR[]", "Explicitly affected versions.", "OSV affected[].versions"),
        ),
    ),
    TableSpec(
        name="findings",
        kinds=("findings",),
        merge="upsert",
        key=("finding_id",),
        time_column="opened_at",
        doc="One vulnerability on one asset, from when it was opened until it was closed.",
        columns=(
            Column("finding_id", "VARCHAR", "Stable finding identifier.", "OCSF finding_info.uid", True),
            Column("asset_id", "VARCHAR", "Affected asset.", "OCSF resource.uid / device.uid", True),
            Column(
                "vuln_id",
                "VARCHAR",
                "CVE, GHSA, PYSEC or scanner id.",
                "OCSF vulnerabilities[].cve.uid",
                True,
            ),
            Column(
                "package",
                "VARCHAR",
                "Affected package, when known.",
                "OCSF vulnerabilities[].affected_packages",
            ),
            Column("version", "VARCHAR", "Affected package version.", "OCSF affected_packages[].version"),
            Column("severity", "VARCHAR", "Severity.", "OCSF severity", True, SEVERITIES),
            Column("opened_at", "TIMESTAMP", "First seen (UTC).", "OCSF finding_info.first_seen_time", True),
            Column("closed_at", "TIMESTAMP", "Fixed or closed (UTC); empty while open.", "OCSF end_time"),
            Column(
                "status",
                "VARCHAR",
                "Lifecycle state.",
                "OCSF status_id",
                True,
                ("open", "closed", "reopened", "accepted", "false_positive"),
            ),
            Column(
                "fix_available",
                "BOOLEAN",
                "A fixed version exists.",
                "OCSF vulnerabilities[].is_fix_available",
            ),
            Column("known_exploited", "BOOLEAN", "Listed as exploited in the wild (CISA KEV).", "OCSF kev"),
            Column("source", "VARCHAR", "Scanner or matcher that produced it.", "OCSF metadata.product.name"),
        ),
    ),
    TableSpec(
        name="incidents",
        kinds=("incidents",),
        merge="upsert",
        key=("incident_id",),
        time_column="occurred_at",
        doc="One security incident or outage.",
        columns=(
            Column(
                "incident_id", "VARCHAR", "Stable incident identifier.", "OCSF finding_info.uid (2005)", True
            ),
            Column("kind", "VARCHAR", "Security incident or outage.", "", True, ("security", "outage")),
            Column("severity", "VARCHAR", "Severity.", "OCSF severity", choices=SEVERITIES),
            Column("service", "VARCHAR", "Affected service.", "ECS service.name"),
            Column("occurred_at", "TIMESTAMP", "When it started (UTC).", "OCSF start_time", True),
            Column(
                "detected_at", "TIMESTAMP", "When it was detected (UTC).", "OCSF finding_info.created_time"
            ),
            Column("acknowledged_at", "TIMESTAMP", "When someone took it (UTC).", "OCSF assignee time"),
            Column("resolved_at", "TIMESTAMP", "When it was resolved (UTC).", "OCSF end_time"),
            Column("loss", "DOUBLE", "Loss in the organisation's currency.", ""),
            Column(
                "deploy_id", "VARCHAR", "Deployment that caused it, if known.", "fourkeys incident root_cause"
            ),
            Column("title", "VARCHAR", "Short description.", "OCSF finding_info.title"),
        ),
    ),
    TableSpec(
        name="deployments",
        kinds=("deployments",),
        merge="upsert",
        key=("deploy_id",),
        time_column="finished_at",
        doc="One deployment of one service.",
        columns=(
            Column("deploy_id", "VARCHAR", "Stable deployment identifier.", "fourkeys deploy_id", True),
            Column("service", "VARCHAR", "Service deployed.", "fourkeys/DevLake service", True),
            Column("env", "VARCHAR", "Environment (production, staging...).", "DevLake environment"),
            Column("finished_at", "TIMESTAMP", "When it finished (UTC).", "fourkeys time_created", True),
            Column(
                "result",
                "VARCHAR",
                "Whether the deployment succeeded.",
                "DevLake result",
                True,
                ("success", "failure"),
            ),
            Column("team", "VARCHAR", "Owning team.", ""),
            Column("commits", COMMITS_TYPE, "Commits shipped, with commit times (UTC).", "fourkeys changes"),
        ),
    ),
    TableSpec(
        name="experiment_runs",
        kinds=(),
        merge="append",
        time_column="injected_at",
        doc="One run of a security chaos experiment (written by `seclo experiment run` and `recover`).",
        columns=(
            Column(
                "run_id", "VARCHAR", "Run identifier, also the injection id (`${injection.id}`).", "", True
            ),
            Column("experiment", "VARCHAR", "Experiment title.", "", True),
            Column(
                "name",
                "VARCHAR",
                "The experiment file's name without extension, as `seclo experiment run NAME` takes it (NULL for "
                "runs recorded before schema V6).",
                "",
            ),
            Column("fault", "VARCHAR", "Fault type injected (empty when the method is the injection).", ""),
            Column(
                "technique",
                "VARCHAR",
                "MITRE ATT&CK technique id of the fault, if given.",
                "OCSF attacks[].technique.uid",
            ),
            Column("started_at", "TIMESTAMP", "When the run started (UTC, ms).", ""),
            Column("injected_at", "TIMESTAMP", "When the injection started (UTC, ms).", ""),
            Column("detected_at", "TIMESTAMP", "When the detection probe first succeeded (UTC, ms).", ""),
            Column("remediated_at", "TIMESTAMP", "When the remediation probe first succeeded (UTC, ms).", ""),
            Column("rolled_back_at", "TIMESTAMP", "When every rollback had run (UTC, ms).", ""),
            Column(
                "outcome",
                "VARCHAR",
                "Verdict.",
                "",
                True,
                ("passed", "detection_missed", "remediation_missed", "deviated", "aborted"),
            ),
            Column("journal", "VARCHAR", "The run's JSON journal file.", ""),
        ),
    ),
    TableSpec(
        name="alert_events",
        kinds=(),
        merge="upsert",
        key=("fingerprint", "starts_at"),
        time_column="starts_at",
        doc=(
            "One Alertmanager alert (one firing of one alert, from its start), received by `seclo serve` on "
            "POST /alertmanager; each also becomes an incident (incident_id), detected when it started."
        ),
        columns=(
            Column(
                "fingerprint", "VARCHAR", "Alertmanager's hash of the alert's labels.", "fingerprint", True
            ),
            Column("starts_at", "TIMESTAMP", "When the alert started firing (UTC).", "startsAt", True),
            Column("ends_at", "TIMESTAMP", "When it resolved (UTC); NULL while firing.", "endsAt"),
            Column("status", "VARCHAR", "Latest state received.", "status", True, ("firing", "resolved")),
            Column("alertname", "VARCHAR", "The alert's name.", "labels.alertname"),
            Column("severity", "VARCHAR", "The severity label, as sent.", "labels.severity"),
            Column("service", "VARCHAR", "The service label.", "labels.service"),
            Column("slo", "VARCHAR", "The SLO label (seclo's generated rules set it).", "labels.slo"),
            Column("labels", "VARCHAR", "All labels, as a JSON object.", "labels"),
            Column("annotations", "VARCHAR", "All annotations, as a JSON object.", "annotations"),
            Column("generator_url", "VARCHAR", "Link to the expression that fired.", "generatorURL"),
            Column("receiver", "VARCHAR", "Alertmanager receiver that sent it.", "receiver"),
            Column("received_at", "TIMESTAMP", "When seclo first accepted it (UTC).", ""),
            Column("incident_id", "VARCHAR", "The incident it became (incidents.incident_id).", ""),
        ),
    ),
)


# Tables seclo writes for its own records (playbook automation). Nothing imports into them, so they have no
# row_key or batch_id; their constraints (keys, NOT NULL) live in the migration.
RECORD_TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        name="playbook_runs",
        kinds=(),
        merge="append",
        time_column="started_at",
        doc="One run of a playbook for one trigger occurrence (written by `seclo playbook`).",
        columns=(
            Column("run_id", "VARCHAR", "Run identifier.", "", True),
            Column("playbook", "VARCHAR", "Playbook name (metadata.name).", "", True),
            Column("mode", "VARCHAR", "How it ran.", "", True, ("manual", "approval", "automatic")),
            Column("trigger_type", "VARCHAR", "The trigger's type.", "", True),
            Column(
                "occurrence",
                "VARCHAR",
                "The trigger occurrence, such as an alert fingerprint and start.",
                "",
                True,
            ),
            Column(
                "idempotency_key",
                "VARCHAR",
                "playbook:occurrence for the first attempt, playbook:occurrence#N for attempt N (a failed run "
                "is retried); unique, so each attempt runs at most once, also across processes.",
                "",
                True,
            ),
            Column("started_at", "TIMESTAMP", "Start (UTC).", "", True),
            Column("finished_at", "TIMESTAMP", "End (UTC); NULL while running or waiting.", ""),
            Column(
                "status",
                "VARCHAR",
                "Where the run is.",
                "",
                True,
                ("running", "waiting_approval", "succeeded", "failed", "expired"),
            ),
            Column("next_step", "INTEGER", "Index of the next step to run (0-based).", "", True),
            Column("failed_step", "VARCHAR", "The step that failed.", ""),
            Column("error", "VARCHAR", "Why it failed (secrets redacted).", ""),
            Column(
                "context", "VARCHAR", "JSON: trigger fields and step outputs so far (secrets redacted).", ""
            ),
        ),
    ),
    TableSpec(
        name="playbook_audit",
        kinds=(),
        merge="append",
        time_column="recorded_at",
        doc=(
            "Append-only audit trail of playbook evaluations, decisions, approvals and steps. Each record's hash "
            "is SHA-256 over its canonical JSON and the previous record's hash (`seclo playbook verify-audit`)."
        ),
        columns=(
            Column("seq", "BIGINT", "Position in the chain, from 1.", "", True),
            Column("recorded_at", "TIMESTAMP", "When (UTC).", "", True),
            Column("run_id", "VARCHAR", "The run, when the record belongs to one.", ""),
            Column("playbook", "VARCHAR", "Playbook name.", ""),
            Column(
                "event",
                "VARCHAR",
                "What happened.",
                "",
                True,
                (
                    "decision",
                    "run_start",
                    "approval_requested",
                    "approval",
                    "approval_expired",
                    "manual",
                    "step_start",
                    "step_end",
                    "error",
                    "run_end",
                ),
            ),
            Column("step", "VARCHAR", "The step, when the record is about one.", ""),
            Column(
                "detail",
                "VARCHAR",
                "Canonical JSON details (secrets redacted, outputs as SHA-256 digests).",
                "",
                True,
            ),
            Column("prev_hash", "VARCHAR", "The previous record's hash (64 zeros for the first).", "", True),
            Column("hash", "VARCHAR", "SHA-256 of this record's canonical JSON and prev_hash.", "", True),
        ),
    ),
    TableSpec(
        name="playbook_episodes",
        kinds=(),
        merge="upsert",
        key=("signal",),
        doc="A level-triggered signal (an SLO alert firing, a budget policy step reached) while it lasts.",
        columns=(
            Column("signal", "VARCHAR", "The signal, such as slo_alert:login:page-quick.", "", True),
            Column("started_at", "TIMESTAMP", "First evaluation that saw it (UTC).", "", True),
            Column("last_seen", "TIMESTAMP", "Latest evaluation that saw it (UTC).", "", True),
        ),
    ),
    TableSpec(
        name="playbook_records",
        kinds=(),
        merge="append",
        time_column="recorded_at",
        doc="A record a playbook's `store` step wrote.",
        columns=(
            Column("recorded_at", "TIMESTAMP", "When (UTC).", "", True),
            Column("run_id", "VARCHAR", "The run that wrote it.", "", True),
            Column("playbook", "VARCHAR", "Playbook name.", "", True),
            Column("step", "VARCHAR", "The step that wrote it.", "", True),
            Column("kind", "VARCHAR", "The record's kind, as the playbook names it.", "", True),
            Column("subject", "VARCHAR", "What it is about.", ""),
            Column("fields", "VARCHAR", "JSON object of the rendered fields (secrets redacted).", ""),
        ),
    ),
)


def table(name_or_kind: str) -> TableSpec:
    """The table called `name_or_kind`, or whose import kind it is."""
    for spec in TABLES:
        if name_or_kind == spec.name or name_or_kind in spec.kinds:
            return spec
    raise KeyError(name_or_kind)
