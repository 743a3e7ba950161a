"""`seclo risk ...`: Monte Carlo annual loss of risk scenarios, security next to outages, calibration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from seclo.cli.options import open_workspace, parse_time, workspace_option
from seclo.errors import SecloError

if TYPE_CHECKING:
    from seclo.risk.portfolio import PortfolioResult

__all__ = ["risk_group"]


@click.group("risk")
def risk_group() -> None:
    """Risk quantification: Monte Carlo annual loss, security next to outages, what a treatment is worth.

    Example: seclo risk compare --runs 100000
    """


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _render_risk(result: PortfolioResult) -> None:
    from seclo.cli.terminal import render_table  # noqa: PLC0415

    rows = []
    for s in result.scenarios:
        for v in s.variants:
            label = s.scenario.name if v.name == "baseline" else f"  + {v.name}"
            m = v.summary
            value = v.value
            avoided = (
                "" if value is None else f"{_money(value.loss_avoided)} (net {_money(value.net_benefit)})"
            )
            seen = (
                "" if value is None else (f"{value.years_to_see}y" if value.years_to_see else "not in 250y")
            )
            rows.append(
                (
                    label,
                    s.scenario.category,
                    _money(m.mean),
                    _money(m.median),
                    _money(m.p95),
                    _money(m.p99),
                    f"{1 - m.p_no_loss:.1%}",
                    avoided,
                    seen,
                )
            )
    totals = [*((f"all {c}", m) for c, m in result.categories.items()), ("portfolio", result.total)]
    for name, m in totals:
        rows.append(
            (
                name,
                "",
                _money(m.mean),
                _money(m.median),
                _money(m.p95),
                _money(m.p99),
                f"{1 - m.p_no_loss:.1%}",
                "",
                "",
            )
        )
    render_table(
        f"Annual loss, {result.runs:,} simulated years (seed {result.seed})",
        ["scenario", "category", "mean", "median", "p95", "p99", "P(loss)", "avoided per year", "visible in"],
        rows,
    )
    if result.tolerance is not None:
        breach = result.tolerance_breach
        verdict = (
            f"within risk tolerance {result.tolerance.name!r}"
            if breach is None
            else f"ABOVE risk tolerance {result.tolerance.name!r}: P(annual loss > {_money(breach.loss)}) = "
            f"{breach.probability:.2%}, tolerated {breach.tolerated:.2%}"
        )
        click.echo(f"portfolio: {verdict}")
    for s in result.scenarios:
        for warning in s.scenario.warnings:
            click.echo(f"{s.scenario.name}: warning: {warning}", err=True)
        for v in s.variants:
            if v.check.warning:
                click.echo(f"{s.scenario.name}/{v.name}: {v.check.warning}", err=True)


def _emit_risk(result: PortfolioResult, fmt: str, html_path: Path | None = None, title: str = "Risk") -> None:
    from seclo.risk.portfolio import simulation_document  # noqa: PLC0415

    if html_path is not None:
        from seclo.report.risk_report import write_risk_report  # noqa: PLC0415

        write_risk_report(html_path, result, title)
        click.echo(f"wrote {html_path}", err=True)
    if fmt == "json":
        click.echo(json.dumps(simulation_document(result), indent=2, allow_nan=False))
    else:
        _render_risk(result)


_runs_option = click.option(
    "--runs", type=click.IntRange(2, 100_000_000), default=100_000, show_default=True, help="Simulated years."
)
_seed_option = click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same result.")
_risk_format = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
_risk_html = click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML page with the tables, exceedance curves and histograms.",
)


@risk_group.command("simulate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_runs_option
@_seed_option
@_risk_format
@_risk_html
@workspace_option
def risk_simulate_command(
    paths: tuple[Path, ...], runs: int, seed: int, fmt: str, html_path: Path | None, workspace: Path | None
) -> None:
    """Simulate annual losses of the scenario files (default: the workspace's risk/ folder).

    Prints mean, median, p95, p99 and the chance of any loss per scenario, per treatment (with the loss it
    avoids net of its cost, and how many years until the difference would show), per category and in total.
    The JSON output is described in docs/risk-model.md (schema seclo.risk.simulation/v1).

    Example: seclo risk simulate risk/ --runs 200000 --format json
    """
    from seclo.risk.portfolio import run_portfolio  # noqa: PLC0415
    from seclo.risk.scenario import load_scenarios, load_tolerance  # noqa: PLC0415

    sources = list(paths) or [open_workspace(workspace).root / "risk"]
    scenarios = load_scenarios(sources)
    tolerance = load_tolerance(sources)
    if not scenarios:
        raise SecloError(
            f"no risk scenario files in {', '.join(str(p) for p in sources)}",
            tip="See docs/risk-model.md, or try `seclo risk compare`.",
        )
    result = run_portfolio(scenarios, runs, seed, keep_losses=html_path is not None, tolerance=tolerance)
    _emit_risk(result, fmt, html_path)


@risk_group.command("compare")
@_runs_option
@_seed_option
@click.option("--breach-preset", default="iris-2022-breach", show_default=True, help="Security preset.")
@click.option("--outages-per-year", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True)
@click.option(
    "--cost-per-hour",
    type=click.FloatRange(0, min_open=True),
    default=100_000.0,
    show_default=True,
    help="What an hour of outage costs.",
)
@_risk_format
@_risk_html
def risk_compare_command(
    runs: int,
    seed: int,
    breach_preset: str,
    outages_per_year: float,
    cost_per_hour: float,
    fmt: str,
    html_path: Path | None,
) -> None:
    """Security incidents next to outages on one money scale: rare and large against frequent and smaller.

    The breach preset is Cyentia IRIS 2022's lognormal loss; outages last lognormal(0.1, 1.7) hours at
    --cost-per-hour each. See docs/risk-model.md for sources.

    Example: seclo risk compare --outages-per-year 24 --cost-per-hour 50000 --html risk.html
    """
    from seclo.risk.portfolio import run_portfolio  # noqa: PLC0415
    from seclo.risk.scenario import preset_scenario  # noqa: PLC0415

    scenarios = (
        preset_scenario(breach_preset, name="security-breach"),
        preset_scenario("outage", name="outages", rate=outages_per_year, cost_per_unit=cost_per_hour),
    )
    if fmt == "table":
        from seclo.cli.terminal import render_table  # noqa: PLC0415

        render_table(
            "Per event",
            ["scenario", "events per year", "median loss", "p95 loss", "p99 loss", "mean loss"],
            [
                (
                    s.name,
                    f"{s.baseline.frequency.rate:g}",
                    _money(s.baseline.severity.median),
                    _money(s.baseline.severity.quantile(0.95)),
                    _money(s.baseline.severity.quantile(0.99)),
                    _money(s.baseline.severity.mean),
                )
                for s in scenarios
            ],
        )
    result = run_portfolio(scenarios, runs, seed, keep_losses=html_path is not None)
    _emit_risk(result, fmt, html_path, "Security incidents and outages")


@risk_group.command("calibrate")
@click.option(
    "--kind", type=click.Choice(["security", "outage"]), required=True, help="Incident kind to fit."
)
@click.option(
    "--since", "since_text", metavar="ISO8601", help="First day of history [default: first incident]."
)
@click.option("--until", "until_text", metavar="ISO8601", help="End of history [default: now].")
@click.option("--name", help="Scenario name [default: KIND-incidents].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the scenario file here.")
@workspace_option
def risk_calibrate_command(
    kind: str,
    since_text: str | None,
    until_text: str | None,
    name: str | None,
    out: Path | None,
    workspace: Path | None,
) -> None:
    """Fit a Poisson rate and a lognormal loss (maximum likelihood, 95% intervals) to the incidents table.

    Example: seclo risk calibrate --kind security --out risk/breaches.yaml
    """
    from seclo.atomic import write_text_atomic  # noqa: PLC0415
    from seclo.risk.calibrate import calibrate, scenario_yaml  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = open_workspace(workspace)
    with open_store(ws.store_path, read_only=True) as store:
        fit = calibrate(store, kind, parse_time(since_text), parse_time(until_text))
    text = scenario_yaml(name or f"{kind}-incidents", fit)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        click.echo(f"wrote {out}")
