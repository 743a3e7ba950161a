"""Evaluating a workspace's SLO files from the store, with answers worked out by hand."""

from __future__ import annotations

import json
import math
import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from slo_status_helpers import (
    DAY_END,
    DAY_START,
    PROMETHEUS_SLO,
    UNSUPPORTED_SLO,
    add_day_of_logins,
    login_slo,
    write_slos,
)

from seclo.errors import ConfigError, InputError
from seclo.sli.interface import IndicatorParams
from seclo.sli.logins import LoginSuccess
from seclo.slo.status import SCHEMA, SloResult, evaluate_workspace, status_document
from seclo.store import Store
from seclo.store.sql import run
from seclo.workspace import Workspace

DOC = Path(__file__).parents[2] / "docs" / "slo-status.md"


def _evaluate(root: Path, store: Store, at: datetime = DAY_END) -> dict[str, SloResult]:
    return {r.name: r for r in evaluate_workspace(Workspace.open(root), store, at=at)}


def test_injected_failures_breach_a_99_percent_objective(tmp_path: Path, store: Store) -> None:
    """4 failed logins of 100 in a day breach 99%: 1 event of budget allowed, 4 consumed, 3 over."""
    write_slos(tmp_path, {"login.yaml": login_slo("login", 0.99)})
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store)["login"]
    assert result.state == "breached"
    assert result.failing
    status = result.status
    assert status is not None
    assert status.attainment == pytest.approx(0.96)
    assert status.budget.unit == "events"
    assert status.budget.allowed == pytest.approx(1.0)
    assert status.budget.consumed == pytest.approx(4.0)
    assert status.budget.remaining == pytest.approx(-3.0)
    assert status.budget.remaining_fraction == pytest.approx(-3.0)
    assert (result.indicator, result.service, result.window) == ("login_success", "identity", "1d rolling")
    assert result.display_name == "login objective"


def test_same_failures_meet_a_95_percent_objective(tmp_path: Path, store: Store) -> None:
    """The same day meets 95% over 28 days: 5 events allowed, 4 consumed, a fifth left, no alert."""
    write_slos(tmp_path, {"login.yaml": login_slo("login", 0.95, window="28d")})
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store)["login"]
    assert result.state == "met"
    assert result.status is not None
    assert result.status.budget.allowed == pytest.approx(5.0)
    assert result.status.budget.remaining_fraction == pytest.approx(0.2)
    assert not result.status.firing
    assert not result.failing


def test_objective_without_data_is_no_data_never_met(tmp_path: Path, store: Store) -> None:
    """An SLO over a service with no logins reports no_data, with undefined attainment and no alert."""
    write_slos(tmp_path, {"vpn.yaml": login_slo("vpn", 0.99, params="{services: [vpn]}")})
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store)["vpn"]
    assert result.state == "no_data"
    assert result.status is not None
    assert math.isnan(result.status.attainment)
    assert not result.status.firing
    assert not result.failing


def test_evaluating_in_the_past_ignores_later_data(tmp_path: Path, store: Store) -> None:
    """At noon, before the evening's failures, the 99% objective is met on the 52 logins so far."""
    write_slos(tmp_path, {"login.yaml": login_slo("login", 0.99)})
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store, at=DAY_START + timedelta(hours=12))["login"]
    assert result.state == "met"
    assert result.status is not None
    assert result.status.attainment == 1.0
    assert result.status.events == 52


def test_timeslices_use_the_slice_window_and_page_on_a_burst(tmp_path: Path, store: Store) -> None:
    """A burst of failures right before `at` fails its slice and fires the fast page."""
    write_slos(tmp_path, {"login.yaml": login_slo("login", 0.99)})
    slo = login_slo("burst", 0.9, budgeting="Timeslices").replace(
        "objectives: [{target: 0.9}]",
        "objectives: [{target: 0.9, timeSliceTarget: 0.9, timeSliceWindow: 5m}]",
    )
    write_slos(tmp_path, {"burst.yaml": slo})
    add_day_of_logins(store)
    # Ten failures in the last five minutes of the day.
    run(
        store.conn,
        "INSERT INTO auth_events (time, outcome) "
        "SELECT TIMESTAMP '2024-03-01 23:56:00' + i * INTERVAL 20 SECOND, 'failure' FROM range(10) t(i)",
    )
    result = _evaluate(tmp_path, store)["burst"]
    assert result.status is not None
    assert result.status.budget.unit == "minutes"
    assert result.status.burn_rate("5m") == pytest.approx(10.0)
    assert "page-quick" in {a.window.name for a in result.status.firing}
    assert result.failing


def test_snapshot_before_the_period_is_carried_into_it(tmp_path: Path, store: Store) -> None:
    """An accounts snapshot taken 20 days before a 1-day period still states MFA coverage within it."""
    write_slos(tmp_path, {"mfa.yaml": login_slo("mfa", 0.9, indicator="mfa_coverage")})
    run(
        store.conn,
        "INSERT INTO accounts (snapshot_time, account_id, type, mfa_enabled, disabled) VALUES "
        "(TIMESTAMP '2024-02-10 00:00', 'a', 'human', true, false), "
        "(TIMESTAMP '2024-02-10 00:00', 'b', 'human', false, false)",
    )
    result = _evaluate(tmp_path, store)["mfa"]
    assert result.state == "breached"
    assert result.status is not None
    assert result.status.attainment == pytest.approx(0.5)
    assert result.status.budget.unit == "item_minutes"


def test_unknown_source_is_unsupported_not_an_error(tmp_path: Path, store: Store) -> None:
    """An SLO over a source seclo cannot read comes back unsupported with a reason, beside the ones evaluated."""
    write_slos(tmp_path, {"api.yaml": UNSUPPORTED_SLO, "login.yaml": login_slo("login", 0.95)})
    add_day_of_logins(store)
    results = _evaluate(tmp_path, store)
    api = results["api-latency"]
    assert (api.state, api.status, api.indicator) == ("unsupported", None, "Datadog")
    assert api.error is not None
    assert "Datadog" in api.error
    assert not api.failing
    assert results["login"].state == "met"


def test_unreachable_prometheus_names_the_slo_file(tmp_path: Path, store: Store) -> None:
    """An SLO over Prometheus when nothing listens at prometheus.url fails with the file and the URL."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "seclo.yaml").write_text(f"prometheus:\n  url: http://127.0.0.1:{port}\n", encoding="utf-8")
    write_slos(tmp_path, {"api.yaml": PROMETHEUS_SLO})
    with pytest.raises(
        InputError,
        match=rf"api\.yaml: SLO 'api-latency': cannot reach Prometheus at http://127\.0\.0\.1:{port}",
    ):
        _evaluate(tmp_path, store)


def test_unknown_sli_is_a_config_error_naming_the_file(tmp_path: Path, store: Store) -> None:
    """A typo in the SLI name stops evaluation with an error naming the SLO file and the known SLIs."""
    write_slos(tmp_path, {"typo.yaml": login_slo("typo", 0.99, indicator="login_sucess")})
    with pytest.raises(ConfigError, match=r"typo\.yaml: SLO 'typo': unknown SLI 'login_sucess'"):
        _evaluate(tmp_path, store)


def test_bad_parameter_is_a_config_error_naming_the_file(tmp_path: Path, store: Store) -> None:
    """An unknown SLI parameter is reported with the file and the parameter."""
    write_slos(tmp_path, {"bad.yaml": login_slo("bad", 0.99, params="{servics: [sso]}")})
    with pytest.raises(ConfigError, match=r"bad\.yaml: SLO 'bad': invalid parameters .*servics"):
        _evaluate(tmp_path, store)


def test_status_document_follows_the_documented_schema(tmp_path: Path, store: Store) -> None:
    """The JSON document has the documented, versioned keys, and undefined figures are null."""
    write_slos(
        tmp_path,
        {
            "login.yaml": login_slo("login", 0.99),
            "vpn.yaml": login_slo("vpn", 0.99, params="{services: [vpn]}"),
            "api.yaml": UNSUPPORTED_SLO,
        },
    )
    add_day_of_logins(store)
    results = evaluate_workspace(Workspace.open(tmp_path), store, at=DAY_END)
    document = json.loads(json.dumps(status_document(results), allow_nan=False))
    assert document["schema"] == SCHEMA == "seclo.slo.status/v1"
    assert set(document) == {"schema", "generated_at", "at", "slos"}
    assert document["at"] == "2024-03-02T00:00:00Z"
    by_name = {slo["name"]: slo for slo in document["slos"]}
    login = by_name["login"]
    assert set(login) == {
        "name",
        "display_name",
        "service",
        "indicator",
        "target",
        "budgeting",
        "window",
        "state",
        "period",
        "attainment",
        "events",
        "budget",
        "burn_rates",
        "alerts",
        "policy",
        "error",
    }
    assert login["state"] == "breached"
    assert login["period"] == {"start": "2024-03-01T00:00:00Z", "end": "2024-03-02T00:00:00Z"}
    assert set(login["budget"]) == {"allowed", "consumed", "remaining", "remaining_fraction", "unit"}
    assert list(login["burn_rates"]) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    # A one-day objective has no three-day ticket window (it would fire below 1x).
    assert {a["name"] for a in login["alerts"]} == {"page-quick", "page-slow", "ticket-quick"}
    assert set(login["alerts"][0]) == {
        "name",
        "severity",
        "long",
        "short",
        "factor",
        "long_rate",
        "short_rate",
        "firing",
        "policy",
    }
    assert (login["alerts"][0]["long"], login["alerts"][0]["short"]) == ("1h", "5m")
    assert by_name["vpn"]["attainment"] is None
    assert by_name["api-latency"]["state"] == "unsupported"
    assert by_name["api-latency"]["budget"] is None
    doc = DOC.read_text(encoding="utf-8")
    for key in (*login, *login["budget"], *login["alerts"][0], SCHEMA):
        assert f"`{key}`" in doc, key


def test_objectives_over_the_same_sli_share_one_query(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two objectives on the same SLI, parameters and window run its query once and get the same counts."""
    write_slos(tmp_path, {"a.yaml": login_slo("strict", 0.99), "b.yaml": login_slo("loose", 0.95)})
    add_day_of_logins(store)
    calls: list[str] = []
    original = LoginSuccess.sql

    def counting(self: LoginSuccess, params: IndicatorParams) -> str:
        calls.append(self.name)
        return original(self, params)

    monkeypatch.setattr(LoginSuccess, "sql", counting)
    results = _evaluate(tmp_path, store)
    assert calls == ["login_success"]
    assert (results["strict"].state, results["loose"].state) == ("breached", "met")


def _sql_slo(name: str, metric: str, objective: str = "target: 0.99") -> str:
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: identity
  indicator:
    metadata: {{name: {name}}}
    spec:
{metric}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{{objective}}}]
"""


def test_openslo_sql_sources_good_bad_total_and_threshold(tmp_path: Path, store: Store) -> None:
    """sql good/total, bad/total and thresholdMetric sources all give the day's 96 good logins of 100."""
    good = "{metricSource: {type: sql, spec: {query: \"SELECT time FROM auth_events WHERE outcome = 'success'\"}}}"
    bad = "{metricSource: {type: sql, spec: {query: \"SELECT time FROM auth_events WHERE outcome = 'failure'\"}}}"
    total = '{metricSource: {type: sql, spec: {query: "SELECT time FROM auth_events"}}}'
    threshold = (
        '{metricSource: {type: sql, spec: {query: "SELECT time, '
        "CASE outcome WHEN 'success' THEN 1 ELSE 0 END AS value FROM auth_events\"}}}"
    )
    write_slos(
        tmp_path,
        {
            "good.yaml": _sql_slo("by-good", f"      ratioMetric: {{good: {good}, total: {total}}}"),
            "bad.yaml": _sql_slo("by-bad", f"      ratioMetric: {{bad: {bad}, total: {total}}}"),
            "threshold.yaml": _sql_slo(
                "by-threshold", f"      thresholdMetric: {threshold}", "target: 0.99, op: gte, value: 1"
            ),
        },
    )
    add_day_of_logins(store)
    results = _evaluate(tmp_path, store)
    assert {name: r.indicator for name, r in results.items()} == {
        "by-good": "sql_ratio",
        "by-bad": "sql_ratio",
        "by-threshold": "sql_threshold",
    }
    for result in results.values():
        assert result.status is not None, result.error
        assert result.state == "breached"
        assert result.status.attainment == pytest.approx(0.96)
        assert result.status.events == 100


def test_openslo_sql_threshold_without_op_is_a_config_error(tmp_path: Path, store: Store) -> None:
    """A thresholdMetric objective without op and value cannot be judged: the error names the file."""
    metric = '      thresholdMetric: {metricSource: {type: sql, spec: {query: "SELECT time, 1 AS value FROM auth_events"}}}'
    write_slos(tmp_path, {"t.yaml": _sql_slo("t", metric)})
    with pytest.raises(
        ConfigError, match=r"t\.yaml: SLO 't': a thresholdMetric objective needs op and value"
    ):
        _evaluate(tmp_path, store)
