"""`seclo slo ...`: evaluate the Security Level Objectives and write their Prometheus rules."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import click

from seclo.cli.options import cli_now, open_workspace, parse_time, workspace_option

if TYPE_CHECKING:
    from seclo.slo.status import SloResult

__all__ = ["render_slos", "slo_group"]


def _percent(value: float, digits: int = 2) -> str:
    return "" if math.isnan(value) else f"{value * 100:.{digits}f}%"  # NaN (no data) shows as blank


def _slo_rows(results: tuple[SloResult, ...]) -> list[tuple[str, ...]]:
    """One table row per objective: state, attainment, budget left, the fastest burn, firing alerts (Workbook
    tiers by tier, AlertPolicy conditions by name) and the error budget policy's current step."""
    rows: list[tuple[str, ...]] = []
    for r in results:
        st = r.status
        if st is None:
            rows.append((r.name, r.state, r.indicator, _percent(r.target, 1), "", "", "", "", ""))
            continue
        workbook = [a.window.severity for a in st.firing if a.window.policy is None]
        tiers: list[str] = [t for t in ("page", "ticket") if t in workbook]
        tiers += [a.window.name for a in st.firing if a.window.policy is not None]
        step = r.policy.current if r.policy is not None else None
        rates = [b for b in st.burn_rates if not math.isnan(b.rate)]
        fastest = max(rates, key=lambda b: b.rate, default=None)
        burn = "" if fastest is None else f"{fastest.rate:.1f}x over {fastest.name}"
        budget = _percent(st.budget.remaining_fraction, 0)
        rows.append(
            (
                r.name,
                r.state,
                r.indicator,
                _percent(r.target, 1),
                _percent(st.attainment),
                budget,
                burn,
                ", ".join(tiers),
                "" if step is None else step.name,
            )
        )
    return rows


def render_slos(results: tuple[SloResult, ...]) -> None:
    from seclo.cli.terminal import render_table  # noqa: PLC0415

    render_table(
        "SecLOs",
        [
            "SLO",
            "state",
            "SLI",
            "target",
            "attainment",
            "budget left",
            "fastest burn",
            "alert",
            "policy step",
        ],
        _slo_rows(results),
    )
    for r in results:
        if r.error:
            click.echo(f"{r.name}: {r.state}: {r.error}")


@click.group("slo")
def slo_group() -> None:
    """Security Level Objectives: evaluate the OpenSLO files in the workspace's slos/ folder.

    Example: seclo slo status --format json
    """


@slo_group.command("status")
@click.option(
    "--at", "at_text", metavar="ISO8601", help="Evaluate at this time [default: now]; later data is ignored."
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@workspace_option
def slo_status_command(at_text: str | None, fmt: str, workspace: Path | None) -> None:
    """Evaluate every SLO in slos/ from the store: attainment, error budget, burn rates and alerts.

    \b
    Exit codes:
      0  every objective is met (or has no data, too little data, or an unsupported source)
      1  an objective is breached or one of its burn-rate alerts fires
      2  bad input: an invalid SLO file, no store, a bad --at
    The JSON output is described in docs/slo-status.md (schema seclo.slo.status/v1).

    Example: seclo slo status --at 2024-03-01T12:00:00Z --format json
    """
    from seclo.slo.status import evaluate_workspace, status_document  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415

    ws = open_workspace(workspace)
    at = parse_time(at_text) or cli_now()
    with open_store(ws.store_path, sandboxed=True) as store:
        results = evaluate_workspace(ws, store, at=at)
    if fmt == "json":
        click.echo(json.dumps(status_document(results, at=at), indent=2))
    else:
        render_slos(results)
    if any(r.failing for r in results):
        raise click.exceptions.Exit(1)


@slo_group.command("rules")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the rule file here (atomically) [default: standard output].",
)
@click.option(
    "--tests",
    "tests_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write `promtool test rules` unit tests for the rules in --out (needs --out).",
)
@workspace_option
def slo_rules_command(out: Path | None, tests_out: Path | None, workspace: Path | None) -> None:
    """Write Prometheus recording and alerting rules for every SLO in slos/ whose SLI PromQL can express.

    Per objective: the error ratio over 5m ... 3d and over the period, the SLO's objective, error budget,
    period and budget remaining, multi-window multi-burn-rate page and ticket alerts (the windows and
    factors of `seclo slo status`) and an absent-data alert. Objectives that cannot be written in PromQL
    (sql sources, Timeslices budgeting...) are listed as skipped, with the reason, on standard error and at
    the top of the file. Check the output with `promtool check rules`; docs/prometheus.md explains it.

    Example: seclo slo rules --out seclo-rules.yaml --tests seclo-rules-test.yaml
    """
    from seclo.atomic import write_text_atomic  # noqa: PLC0415
    from seclo.prometheus.rule_file import render_rule_file  # noqa: PLC0415
    from seclo.prometheus.rule_tests import render_rule_tests  # noqa: PLC0415
    from seclo.prometheus.rules import build_rules  # noqa: PLC0415
    from seclo.slo.loader import load_slo_documents  # noqa: PLC0415

    if tests_out is not None and out is None:
        raise click.UsageError("--tests needs --out: the tests name the rule file they load")
    ws = open_workspace(workspace)
    rule_set = build_rules(load_slo_documents(ws.root / "slos").objectives)
    for skipped in rule_set.skipped:
        click.echo(f"skipped {skipped.slo} objective {skipped.objective}: {skipped.reason}", err=True)
    text = render_rule_file(rule_set)
    if out is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(out, text, shared=True)  # Prometheus, often another user, reads it
    click.echo(
        f"wrote {out}: {len(rule_set.objectives)} objective(s), {len(rule_set.skipped)} skipped", err=True
    )
    if tests_out is not None:
        write_text_atomic(tests_out, render_rule_tests(rule_set, out, tests_out), shared=True)
        click.echo(f"wrote {tests_out}: run `promtool test rules {tests_out}`", err=True)
