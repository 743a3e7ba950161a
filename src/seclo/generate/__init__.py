"""A realistic synthetic organisation, written as one Parquet file per canonical table.

People and their accounts, hosts and their open ports, authentication events, vulnerability findings,
deployments and incidents, all drawn from one seed: the same seed and end give byte-identical files. Each
table has its own random stream, so changing the size of one leaves the others as they were.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from seclo.errors import InputError
from seclo.generate.assets import generate_fleet
from seclo.generate.auth import EVENTS_PER_PERSON_PER_DAY, write_auth_events
from seclo.generate.deployments import generate_deployments
from seclo.generate.findings import generate_findings
from seclo.generate.incidents import generate_incidents
from seclo.generate.parquet import write_parquet
from seclo.generate.people import generate_accounts
from seclo.generate.period import US_PER_MINUTE, Period, from_datetime, to_datetime
from seclo.generate.randomness import Streams
from seclo.generate.result import GeneratedFiles, GeneratedTable
from seclo.generate.scenario import plan_scenario
from seclo.progress import NullReporter, Reporter

__all__ = [
    "DEFAULT_USERS",
    "GeneratedFiles",
    "GeneratedTable",
    "default_auth_events",
    "generate_organisation",
]

DEFAULT_USERS = 2_000
MAX_DAYS = 3_650


def default_auth_events(days: int, users: int) -> int:
    """The number of authentication events generated when none is asked for."""
    return round(EVENTS_PER_PERSON_PER_DAY * days * users)


def _end(end: datetime | None) -> datetime:
    """`end` as naive UTC; by default the current minute."""
    if end is None:
        now = from_datetime(datetime.now(UTC))
        return to_datetime(now - now % US_PER_MINUTE)
    return to_datetime(from_datetime(end))


def _check(days: int, users: int, auth_events: int | None) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"the period must be between 1 and {MAX_DAYS} days, not {days}")
    if users < 10:
        raise InputError(f"an organisation needs at least 10 users, not {users}")
    if auth_events is not None and auth_events < 0:
        raise InputError(f"the number of authentication events cannot be negative ({auth_events})")


def generate_organisation(
    out_dir: Path,
    *,
    days: int = 90,
    seed: int = 0,
    auth_events: int | None = None,
    users: int = DEFAULT_USERS,
    end: datetime | None = None,
    reporter: Reporter | None = None,
) -> GeneratedFiles:
    """Generate a synthetic organisation over the `days` before `end` and write it to `out_dir`.

    Args:
        out_dir: folder for the Parquet files (created if missing; existing files are replaced).
        days: length of the period. Findings and incidents also carry a year of history before it.
        seed: the same seed (and end) gives byte-identical files.
        auth_events: exact number of authentication events; by default it scales with `days` and `users`.
        users: people on the staff at the start of the period.
        end: end of the period (naive means UTC); by default the current minute. The last two days hold a
            brute-force attack and an ongoing SSO degradation, so the end is "now" for burn-rate alerts.
        reporter: receives progress; silent by default.

    Raises:
        InputError: an argument is out of range.
    """
    _check(days, users, auth_events)
    report = reporter or NullReporter()
    period = Period.ending(_end(end), days)
    streams = Streams(seed)
    events = default_auth_events(days, users) if auth_events is None else auth_events
    out_dir.mkdir(parents=True, exist_ok=True)

    def write(name: str, table_rows: int) -> GeneratedTable:
        return GeneratedTable(name, (out_dir / f"{name}.parquet",), table_rows)

    report.start("accounts")
    accounts = generate_accounts(streams.rng("people"), period, users)
    written = [write("accounts", write_parquet(out_dir / "accounts.parquet", accounts.table))]
    report.finish()
    report.start("assets and ports")
    fleet = generate_fleet(streams.rng("assets"), streams.rng("ports"), period, users)
    written.append(write("assets", write_parquet(out_dir / "assets.parquet", fleet.assets)))
    written.append(write("ports", write_parquet(out_dir / "ports.parquet", fleet.ports)))
    report.finish()

    scenario = plan_scenario(streams.rng("scenario"), period)
    rows = write_auth_events(
        out_dir / "auth_events.parquet", streams.rng("auth"), period, accounts, scenario, events, report
    )
    written.insert(0, write("auth_events", rows))

    report.start("findings, deployments and incidents")
    findings = generate_findings(streams.rng("findings"), period, fleet.asset_ids, fleet.public)
    written.append(write("findings", write_parquet(out_dir / "findings.parquet", findings)))
    deployments = generate_deployments(streams.rng("deployments"), period)
    incidents = generate_incidents(streams.rng("incidents"), period, deployments, scenario)
    written.append(write("incidents", write_parquet(out_dir / "incidents.parquet", incidents)))
    written.append(write("deployments", write_parquet(out_dir / "deployments.parquet", deployments.table)))
    report.finish()
    return GeneratedFiles(
        out_dir=out_dir,
        start=to_datetime(period.start_us),
        end=to_datetime(period.end_us),
        seed=seed,
        tables=tuple(written),
    )
