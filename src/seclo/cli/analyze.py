"""`seclo analyze`: flaw persistence, patch SLAs, incident KPIs, DORA and the per-team view, as terminal
tables, versioned JSON (docs/analytics.md) or sections of a self-contained HTML page."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from seclo.analytics.interface import Window
from seclo.cli.options import cli_now, parse_time, workspace_option
from seclo.cli.terminal import render_table
from seclo.report.interface import Section
from seclo.store import Store, open_store
from seclo.workspace import Workspace

__all__ = ["analyze_group"]

F = TypeVar("F", bound=Callable[..., Any])


def _common(func: F) -> F:
    """--at, --days, --format, --html and --workspace, shared by every analysis."""
    for option in reversed(
        (
            click.option(
                "--at",
                "at_text",
                metavar="ISO8601",
                help="Evaluation time [default: now]; later data is ignored, open items are censored here.",
            ),
            click.option(
                "--days",
                type=click.FloatRange(1, 36500),
                default=365,
                show_default=True,
                help="Length of the period before --at.",
            ),
            click.option(
                "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
            ),
            click.option(
                "--html",
                "html_path",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Also write the analysis as a self-contained HTML page with charts.",
            ),
            workspace_option,
        )
    ):
        func = option(func)
    return func


def _context(workspace: Path | None, at_text: str | None, days: float) -> tuple[Workspace, Store, Window]:
    ws = Workspace.open(workspace)
    at = parse_time(at_text) or cli_now().replace(microsecond=0)
    return ws, open_store(ws.store_path, read_only=True), Window(at - timedelta(days=days), at)


def _emit(document: dict[str, Any], fmt: str, table: Callable[[], None]) -> None:
    if fmt == "json":
        click.echo(json.dumps(document, indent=2, allow_nan=False))
    else:
        table()


def _html(path: Path | None, sections: list[Section], ws: Workspace, at: datetime) -> None:
    if path is None:
        return
    from seclo.report.analytics_sections import write_analytics_report  # noqa: PLC0415

    write_analytics_report(path, sections, at=at, workspace=ws.root)
    click.echo(f"wrote {path}", err=True)


def _n(value: float, digits: int = 1) -> str:
    return "" if math.isnan(value) or math.isinf(value) else f"{value:,.{digits}f}"


@click.group("analyze")
def analyze_group() -> None:
    """Security performance analytics: flaw persistence, patch SLAs, incident KPIs and DORA metrics.

    Example: seclo analyze persistence --format json
    """


@analyze_group.command("persistence")
@_common
def persistence_command(
    at_text: str | None, days: float, fmt: str, html_path: Path | None, workspace: Path | None
) -> None:
    """Kaplan-Meier survival of findings from opened to closed (lifelines), still-open ones censored at
    --at: overall, by severity, team, asset criticality and scan frequency, with the days to close 25%, 50%
    and 75% and their 95% intervals. --days is not used: every finding opened by --at counts.

    Example: seclo analyze persistence --at 2024-06-01T00:00:00Z --html persistence.html
    """
    from seclo.analytics.documents import persistence_document  # noqa: PLC0415
    from seclo.analytics.persistence import analyze_persistence, days_or_inf  # noqa: PLC0415
    from seclo.report.analytics_sections import PersistenceSection  # noqa: PLC0415

    ws, store, window = _context(workspace, at_text, days)
    with store:
        result = analyze_persistence(store, window.at)

    def show() -> None:
        render_table(
            f"Flaw persistence at {window.at:%Y-%m-%d %H:%M} (days; 95% CI)",
            ["dimension", "group", "findings", "open", "25% closed", "50% (half-life)", "75% closed"],
            [
                (
                    c.dimension,
                    c.group,
                    f"{c.findings:,}",
                    f"{c.censored:,}",
                    *(
                        f"{days_or_inf(q.value)} ({days_or_inf(q.lower)}-{days_or_inf(q.upper)})"
                        for q in c.quantiles
                    ),
                )
                for c in result.curves
            ],
        )

    _emit(persistence_document(result), fmt, show)
    _html(html_path, [PersistenceSection(result)], ws, window.at)


@analyze_group.command("sla")
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Overdue rows listed."
)
@_common
def sla_command(
    limit: int, at_text: str | None, days: float, fmt: str, html_path: Path | None, workspace: Path | None
) -> None:
    """Patch SLAs per severity (sla_days in seclo.yaml, default 7/30/90/120): findings fixed within SLA, the
    findings past SLA now with their age, and the open backlog within and past SLA over the last --days
    (daily). A reopened finding's clock does not restart (docs/analytics.md).

    Example: seclo analyze sla --days 90 --limit 50
    """
    from seclo.analytics.documents import sla_document  # noqa: PLC0415
    from seclo.analytics.sla import analyze_sla  # noqa: PLC0415
    from seclo.report.analytics_sections import SlaSection  # noqa: PLC0415

    ws, store, window = _context(workspace, at_text, days)
    with store:
        result = analyze_sla(store, window, ws.settings.sla_days, limit=limit)

    def show() -> None:
        render_table(
            f"Patch SLA at {window.at:%Y-%m-%d %H:%M}",
            [
                "severity",
                "SLA days",
                "findings",
                "fixed in SLA",
                "late",
                "open past SLA",
                "open in SLA",
                "in SLA",
            ],
            [
                (
                    s.severity,
                    "" if s.sla_days is None else str(s.sla_days),
                    f"{s.findings:,}",
                    f"{s.within_sla:,}",
                    f"{s.closed_late:,}",
                    f"{s.open_past_sla:,}",
                    f"{s.open_within_sla:,}",
                    "" if math.isnan(s.within_share) else f"{s.within_share:.1%}",
                )
                for s in result.severities
            ],
        )
        render_table(
            f"Past SLA now: {result.overdue_total:,} (longest overdue first)",
            ["finding", "asset", "vulnerability", "severity", "age days", "days past SLA"],
            [
                (
                    o.finding_id,
                    o.asset_id,
                    o.vuln_id,
                    o.severity,
                    f"{o.age_days:.1f}",
                    f"{o.overdue_days:.1f}",
                )
                for o in result.overdue
            ],
        )

    _emit(sla_document(result), fmt, show)
    _html(html_path, [SlaSection(result)], ws, window.at)


@analyze_group.command("kpi")
@_common
def kpi_command(
    at_text: str | None, days: float, fmt: str, html_path: Path | None, workspace: Path | None
) -> None:
    """Time to detect, acknowledge and repair, for security incidents and outages apart: median, p90, a
    lognormal fit (maximum likelihood), a log-scale histogram and the monthly trend (minutes).

    Example: seclo analyze kpi --days 180 --html kpi.html
    """
    from seclo.analytics.documents import kpi_document  # noqa: PLC0415
    from seclo.analytics.kpi import analyze_kpi  # noqa: PLC0415
    from seclo.report.analytics_sections import KpiSection  # noqa: PLC0415

    ws, store, window = _context(workspace, at_text, days)
    with store:
        result = analyze_kpi(store, window)

    def show() -> None:
        render_table(
            f"Incident KPIs {window.since:%Y-%m-%d} to {window.at:%Y-%m-%d} (minutes)",
            [
                "kind",
                "measure",
                "n",
                "pending",
                "median",
                "p90",
                "mean",
                "lognormal median (95% CI)",
                "sdlog",
            ],
            [
                (
                    d.kind,
                    d.measure,
                    f"{d.count:,}",
                    f"{d.pending:,}",
                    _n(d.median),
                    _n(d.p90),
                    _n(d.mean),
                    f"{_n(d.median_fit)} ({_n(d.median_fit_interval[0])}-{_n(d.median_fit_interval[1])})",
                    _n(d.sdlog, 2),
                )
                for d in result.distributions
            ],
        )

    _emit(kpi_document(result), fmt, show)
    _html(html_path, [KpiSection(result)], ws, window.at)


@analyze_group.command("dora")
@click.option(
    "--thresholds",
    type=click.Choice(["2019", "2023"]),
    default="2019",
    show_default=True,
    help="Accelerate State of DevOps table used for Low/Medium/High/Elite.",
)
@click.option(
    "--link-hours",
    type=click.FloatRange(0, min_open=True),
    default=24.0,
    show_default=True,
    help="An incident is blamed on its service's latest production deployment this recent.",
)
@click.option(
    "--incidents",
    type=click.Choice(["outage", "security", "all"]),
    default="outage",
    show_default=True,
    help="Incident kinds that count as change failures and restorations.",
)
@click.option(
    "--by",
    "by_texts",
    multiple=True,
    metavar="all|service|team|month|service,month",
    help="Figures shown (table and JSON), repeatable: overall, per service, team, month, or per service per "
    "month [default: all, service, team and month].",
)
@_common
def dora_command(
    thresholds: str,
    link_hours: float,
    incidents: str,
    by_texts: tuple[str, ...],
    at_text: str | None,
    days: float,
    fmt: str,
    html_path: Path | None,
    workspace: Path | None,
) -> None:
    """DORA metrics of production deployments: deployment frequency, lead time for changes, change failure
    rate (each deployment counted once), time to restore and rework rate; overall, per service, team and
    month (or, with --by service,month, per service per month), classified Low/Medium/High/Elite, with the
    thresholds printed.

    Example: seclo analyze dora --days 90 --thresholds 2023 --link-hours 12 --by all --by service,month
    """
    from seclo.analytics.documents import dora_document  # noqa: PLC0415
    from seclo.analytics.dora import analyze_dora  # noqa: PLC0415
    from seclo.analytics.dora_levels import METRICS, TABLES  # noqa: PLC0415
    from seclo.report.analytics_sections import DoraSection  # noqa: PLC0415

    scopes = _dora_scopes(by_texts)
    ws, store, window = _context(workspace, at_text, days)
    with store:
        result = analyze_dora(
            store,
            window,
            table=thresholds,
            link_window=timedelta(hours=link_hours),
            incident_kind=incidents,
            service_month="service_month" in scopes,
        )
    result = replace(result, figures=tuple(f for f in result.figures if f.scope in scopes))

    def show() -> None:
        rows = []
        for f in result.figures:
            lv = f.levels(result.table)
            rows.append(
                (
                    f.scope,
                    f.key,
                    f"{f.deployments:,}",
                    f"{_n(f.deployment_frequency, 2)} {lv['deployment_frequency'] or ''}",
                    f"{_n(f.lead_time_hours)} {lv['lead_time'] or ''}",
                    f"{_n(f.change_failure_rate * 100)}% {lv['change_failure_rate'] or ''}",
                    f"{_n(f.time_to_restore_hours)} {lv['time_to_restore'] or ''}",
                    f"{_n(f.rework_rate * 100)}%",
                )
            )
        render_table(
            f"DORA {window.since:%Y-%m-%d} to {window.at:%Y-%m-%d} ({result.table} thresholds)",
            ["scope", "key", "deploys", "per day", "lead time h", "change failure", "restore h", "rework"],
            rows,
        )
        render_table(
            f"Thresholds ({result.table})",
            ["metric", "level", "published", "bound"],
            [(m, t.level, t.text, f"{t.bound:.4g}") for m in METRICS for t in TABLES[result.table][m]],
        )

    _emit(dora_document(result), fmt, show)
    _html(html_path, [DoraSection(result)], ws, window.at)


def _dora_scopes(by_texts: tuple[str, ...]) -> set[str]:
    """The DORA scopes `--by` asks for: each value is one grouping, its dimensions comma-separated."""
    from seclo.analytics.dora import DEFAULT_SCOPES  # noqa: PLC0415

    if not by_texts:
        return set(DEFAULT_SCOPES)
    groupings = {
        frozenset({"all"}): "all",
        frozenset({"service"}): "service",
        frozenset({"team"}): "team",
        frozenset({"month"}): "month",
        frozenset({"service", "month"}): "service_month",
    }
    scopes = set()
    for text in by_texts:
        parts = frozenset(part.strip().lower() for part in text.split(",") if part.strip())
        if parts not in groupings:
            raise click.BadParameter(
                f"{text!r}: choose all, service, team, month or service,month", param_hint="--by"
            )
        scopes.add(groupings[parts])
    return scopes


@analyze_group.command("together")
@_common
def together_command(
    at_text: str | None, days: float, fmt: str, html_path: Path | None, workspace: Path | None
) -> None:
    """Per team, delivery next to security: deployment frequency, lead time and change failure rate beside
    flaw half-life, the share of findings fixed within SLA and the security incidents' time to detect and
    repair. --html adds a scatter plot across teams, and every other analysis as sections.

    Example: seclo analyze together --html analytics.html
    """
    from seclo.analytics.documents import together_document  # noqa: PLC0415
    from seclo.analytics.together import analyze_together  # noqa: PLC0415

    ws, store, window = _context(workspace, at_text, days)
    with store:
        teams = analyze_together(store, window, ws.settings.sla_days)
        sections = _all_sections(store, window, ws) if html_path is not None else []

    def show() -> None:
        render_table(
            f"Delivery and security per team, {window.since:%Y-%m-%d} to {window.at:%Y-%m-%d}",
            [
                "team",
                "deploys/day",
                "lead time h",
                "CFR %",
                "half-life d",
                "in SLA %",
                "sec TTD h",
                "sec TTR h",
            ],
            [
                (
                    t.team,
                    _n(t.deployment_frequency, 2),
                    _n(t.lead_time_hours),
                    _n(t.change_failure_rate * 100),
                    _n(t.flaw_half_life_days),
                    _n(t.within_sla_share * 100),
                    _n(t.security_ttd_hours),
                    _n(t.security_ttr_hours),
                )
                for t in teams
            ],
        )
        if all(math.isnan(t.deployment_frequency) for t in teams):
            click.echo(
                f"No production deployments between {window.since:%Y-%m-%d} and {window.at:%Y-%m-%d}: "
                "the delivery columns are empty (import deployments to fill them)."
            )

    since, at = window.since.isoformat() + "Z", window.at.isoformat() + "Z"
    _emit(together_document(teams, since, at), fmt, show)
    if html_path is not None:
        from seclo.report.analytics_sections import TogetherSection  # noqa: PLC0415

        _html(html_path, [TogetherSection(teams), *sections], ws, window.at)


def _all_sections(store: Store, window: Window, ws: Workspace) -> list[Section]:
    from seclo.analytics.dora import analyze_dora  # noqa: PLC0415
    from seclo.analytics.kpi import analyze_kpi  # noqa: PLC0415
    from seclo.analytics.persistence import analyze_persistence  # noqa: PLC0415
    from seclo.analytics.sla import analyze_sla  # noqa: PLC0415
    from seclo.report.analytics_sections import (  # noqa: PLC0415
        DoraSection,
        KpiSection,
        PersistenceSection,
        SlaSection,
    )

    return [
        PersistenceSection(analyze_persistence(store, window.at)),
        SlaSection(analyze_sla(store, window, ws.settings.sla_days)),
        KpiSection(analyze_kpi(store, window)),
        DoraSection(analyze_dora(store, window)),
    ]
