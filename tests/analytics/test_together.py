"""Delivery next to security per team: figures side by side, and a clear answer when nothing is deployed."""

from __future__ import annotations

import json
import math
from pathlib import Path

from analytics_helpers import HOUR, add_asset, add_deployment, add_finding, add_incident, day
from click.testing import CliRunner

from seclo.analytics.interface import Window
from seclo.analytics.together import analyze_together
from seclo.cli import cli
from seclo.store import Store, open_store
from seclo.workspace import Workspace, init_workspace

WINDOW = Window(day(0), day(60))


def _security(store: Store) -> None:
    """Two teams' assets with findings and a security incident, and no deployment at all."""
    add_asset(store, "a1", "payments", "high", [0, 7, 14])
    add_asset(store, "a2", "search", "low", [0, 7, 14])
    add_finding(store, "f1", 0, 4, severity="critical", asset="a1")  # fixed within its 7 days
    add_finding(store, "f2", 1, 3, severity="high", asset="a1")
    add_finding(store, "f3", 0, None, severity="critical", asset="a2")  # past SLA, never fixed
    add_incident(store, "s1", day(5), kind="security", service="api", detected=day(5) + 2 * HOUR)


def test_teams_without_deployments_get_security_figures_and_no_delivery_figures(store: Store) -> None:
    """Without deployments every team is still listed, with its security figures and empty DORA figures."""
    _security(store)
    teams = {t.team: t for t in analyze_together(store, WINDOW)}
    assert sorted(teams) == ["payments", "search"]
    payments, search = teams["payments"], teams["search"]
    assert payments.flaw_half_life_days == 2.0  # closed after 2 and 4 days: half closed after 2
    assert payments.within_sla_share == 1.0
    assert search.within_sla_share == 0.0
    assert math.isinf(search.flaw_half_life_days)  # never half closed
    for team in teams.values():
        for delivery in ("deployment_frequency", "lead_time_hours", "change_failure_rate"):
            assert math.isnan(getattr(team, delivery))


def test_together_with_deployments_fills_both_sides(store: Store) -> None:
    """A team that deploys gets its DORA figures next to its security ones, and its services' incidents."""
    _security(store)
    add_deployment(store, "d1", day(3), service="api", team="payments", commits=(day(3) - 5 * HOUR,))
    teams = {t.team: t for t in analyze_together(store, WINDOW)}
    payments = teams["payments"]
    assert payments.deployment_frequency == 1 / 60
    assert payments.lead_time_hours == 5.0
    assert payments.security_ttd_hours == 2.0
    assert math.isnan(teams["search"].deployment_frequency)


def test_together_command_without_deployments_prints_nulls_not_an_error(tmp_path: Path) -> None:
    """`seclo analyze together` on a store without deployments exits 0 with null DORA values in JSON."""
    init_workspace(tmp_path)
    with open_store(Workspace.open(tmp_path).store_path) as store:
        _security(store)
    args = ["analyze", "together", "-w", str(tmp_path), "--at", day(60).isoformat() + "Z", "--days", "60"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["team"]: row for row in json.loads(result.stdout)["teams"]}
    assert rows["payments"]["within_sla_share"] == 1.0
    assert rows["payments"]["deployment_frequency"] is None
    assert rows["search"]["flaw_half_life_days"] is None
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0, table.output
    assert "payments" in table.output
    assert "No production deployments between 2024-01-01 and 2024-03-01" in table.output
