"""Error budget policies, the minimum-events guard, alert tiers and OpenSLO alert policies, end to end.

The day of logins (slo_status_helpers): 100 logins, 4 failing between 21:00 and 21:42. Over 28 days at 95%,
5 failures are allowed and 4 spent: a fifth of the budget is left. Over the 6 hours to midnight, 22 logins
hold the 4 failures: a burn rate of (4/22)/0.05 = 3.64x.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from slo_status_helpers import DAY_END, add_day_of_logins, login_slo, write_slos

from seclo.errors import ConfigError
from seclo.slo.status import SloResult, evaluate_workspace, status_document
from seclo.store import Store
from seclo.workspace import Workspace, init_workspace

POLICY = """\
apiVersion: seclo/v1
kind: ErrorBudgetPolicy
metadata: {name: team-policy}
spec:
  appliesTo: {services: [identity]}
  steps:
    - {name: notify, when: {budgetRemainingBelow: 0.5}, action: Tell the team.}
    - {name: prioritise, when: {budgetRemainingBelow: 0.25}, action: Fix before features.}
    - {name: freeze, when: {budgetExhausted: true}, action: Freeze risky changes.}
"""


def _evaluate(root: Path, store: Store, at: datetime = DAY_END) -> dict[str, SloResult]:
    return {r.name: r for r in evaluate_workspace(Workspace.open(root), store, at=at)}


def _steps(result: SloResult) -> dict[str, bool]:
    assert result.policy is not None
    return {state.step.name: state.reached for state in result.policy.steps}


def test_policy_reaches_steps_as_the_budget_runs_down(tmp_path: Path, store: Store) -> None:
    """A fifth of the budget left reaches "notify" and "prioritise", not "freeze"; a breach reaches all."""
    write_slos(
        tmp_path,
        {
            "policy.yaml": POLICY,
            "login.yaml": login_slo("login", 0.95, window="28d"),
            "strict.yaml": login_slo("strict", 0.99),
        },
    )
    add_day_of_logins(store)
    results = _evaluate(tmp_path, store)
    login, strict = results["login"], results["strict"]
    assert login.status is not None
    assert login.status.budget.remaining_fraction == pytest.approx(0.2)
    assert _steps(login) == {"notify": True, "prioritise": True, "freeze": False}
    assert login.policy is not None
    assert login.policy.current is not None
    assert login.policy.current.name == "prioritise"
    assert _steps(strict) == {"notify": True, "prioritise": True, "freeze": True}
    document = status_document(tuple(results.values()))
    entry = next(e for e in document["slos"] if e["name"] == "login")
    assert entry["policy"]["name"] == "team-policy"
    assert entry["policy"]["current_step"] == "prioritise"
    assert [s["condition"] for s in entry["policy"]["steps"]] == [
        "budget below 50%",
        "budget below 25%",
        "budget exhausted",
    ]


def test_policy_applies_only_where_it_says(tmp_path: Path, store: Store) -> None:
    """A policy for the "payments" service leaves identity SLOs without a policy (null in JSON)."""
    write_slos(
        tmp_path,
        {
            "policy.yaml": POLICY.replace("[identity]", "[payments]"),
            "login.yaml": login_slo("login", 0.95, window="28d"),
        },
    )
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store)["login"]
    assert result.policy is None
    assert status_document((result,))["slos"][0]["policy"] is None


def test_no_data_reaches_no_step(tmp_path: Path, store: Store) -> None:
    """An objective without data neither freezes changes nor looks healthy: no step is reached."""
    write_slos(tmp_path, {"policy.yaml": POLICY, "login.yaml": login_slo("login", 0.99)})
    result = _evaluate(tmp_path, store)["login"]
    assert result.state == "no_data"
    assert _steps(result) == {"notify": False, "prioritise": False, "freeze": False}


def test_burn_rate_and_alert_steps(tmp_path: Path, store: Store) -> None:
    """burnRateAbove compares one window's burn rate; alertFiring follows the Workbook's alerts."""
    policy = """\
apiVersion: seclo/v1
kind: ErrorBudgetPolicy
metadata: {name: burn}
spec:
  steps:
    - {name: warm, when: {burnRateAbove: {window: 6h, rate: 3.5}}, action: Look.}
    - {name: hot, when: {burnRateAbove: {window: 6h, rate: 4}}, action: Act.}
    - {name: paged, when: {alertFiring: page}, action: Someone is paged.}
    - {name: any-alert, when: {alertFiring: any}, action: Some alert fires.}
"""
    write_slos(tmp_path, {"policy.yaml": policy, "login.yaml": login_slo("login", 0.95, window="28d")})
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store)["login"]
    assert result.status is not None
    assert result.status.burn_rate("6h") == pytest.approx((4 / 22) / 0.05)
    firing = {a.window.severity for a in result.status.firing}
    assert _steps(result) == {
        "warm": True,
        "hot": False,
        "paged": "page" in firing,
        "any-alert": bool(firing),
    }


def test_min_events_annotation_holds_back_judgement(tmp_path: Path, store: Store) -> None:
    """100 logins under a 1,000-event guard are insufficient_data: not breached, no alert, exit-code neutral."""
    write_slos(
        tmp_path,
        {"login.yaml": login_slo("login", 0.99, annotations='{"seclo/min-events": "1000"}')},
    )
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store)["login"]
    assert result.state == "insufficient_data"
    assert result.status is not None
    assert result.status.events == 100
    assert not result.status.firing
    assert not result.failing


def test_alert_tiers_annotation(tmp_path: Path, store: Store) -> None:
    """alert-tiers "page" keeps only the page windows; "none" leaves no Workbook alert at all."""
    write_slos(
        tmp_path,
        {
            "page.yaml": login_slo("page-only", 0.99, annotations='{"seclo/alert-tiers": "page"}'),
            "none.yaml": login_slo("quiet", 0.99, annotations='{"seclo/alert-tiers": "none"}'),
            "all.yaml": login_slo("all", 0.99),
        },
    )
    add_day_of_logins(store)
    results = _evaluate(tmp_path, store)
    names = {name: [a.window.name for a in r.status.alerts] for name, r in results.items() if r.status}
    assert names["page-only"] == ["page-quick", "page-slow"]
    assert names["quiet"] == []
    assert names["all"] == ["page-quick", "page-slow", "ticket-quick"]
    # Still breached: switching alerts off does not hide the state.
    assert results["quiet"].state == "breached"


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ('{"seclo/min-events": "many"}', r"seclo/min-events.*expected a number of events.*'many'"),
        ('{"seclo/min-events": "-3"}', r"seclo/min-events.*expected a number of events"),
        ('{"seclo/alert-tiers": "pager"}', r'seclo/alert-tiers.*expected "page,ticket"'),
    ],
)
def test_bad_annotation_names_file_and_path(
    tmp_path: Path, store: Store, annotations: str, expected: str
) -> None:
    """A bad seclo annotation is a ConfigError naming the file, line and annotation."""
    write_slos(tmp_path, {"login.yaml": login_slo("login", 0.99, annotations=annotations)})
    with pytest.raises(ConfigError, match=r"login\.yaml:3: metadata\.annotations\." + expected):
        _evaluate(tmp_path, store)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (POLICY.replace("seclo/v1", "openslo/v1"), r"apiVersion: .*seclo/v1"),
        (
            POLICY.replace("{budgetExhausted: true}", "{}"),
            r"spec\.steps\[2\]\.when: expected at least one of",
        ),
        (
            POLICY.replace("name: prioritise", "name: notify"),
            r"spec: expected unique step names \(repeated: notify\)",
        ),
        (
            POLICY.replace("budgetRemainingBelow: 0.5", "budgetRemainingBelow: 50"),
            r"spec\.steps\[0\]\.when\.budgetRemainingBelow: .*1 \(got 50\)",
        ),
        (POLICY.replace("appliesTo", "appliesto"), r"spec\.appliesto"),
    ],
)
def test_invalid_policy_names_file_and_path(tmp_path: Path, store: Store, policy: str, expected: str) -> None:
    """Mistakes in a policy file stop evaluation with the file and YAML path."""
    write_slos(tmp_path, {"policy.yaml": policy, "login.yaml": login_slo("login", 0.99)})
    with pytest.raises(ConfigError, match=r"policy\.yaml:\d+: " + expected):
        _evaluate(tmp_path, store)


def _alert_policy(threshold: float, lookback: str, alert_after: str | None) -> str:
    after = f", alertAfter: {alert_after}" if alert_after else ""
    return f"""\
  alertPolicies:
    - kind: AlertPolicy
      metadata: {{name: fast-burn}}
      spec:
        notificationTargets: [{{targetRef: on-call}}]
        conditions:
          - kind: AlertCondition
            metadata: {{name: burn-6h}}
            spec:
              severity: critical
              condition: {{kind: burnrate, op: gt, threshold: {threshold}, lookbackWindow: {lookback}{after}}}
"""


@pytest.mark.parametrize(
    ("threshold", "alert_after", "fires"),
    [
        (3, None, True),  # 3.64x > 3 now
        (4, None, False),  # 3.64x is not above 4
        (3, "2h", True),  # from 22:00 every 6h window holds all 4 failures: at least 4/26/0.05 = 3.08x
        (3, "4h", False),  # at 20:00 the 6h window held no failure yet
    ],
)
def test_openslo_alert_policy_conditions_are_evaluated(
    tmp_path: Path, store: Store, threshold: float, alert_after: str | None, fires: bool
) -> None:
    """An AlertPolicy burn-rate condition fires over its lookback window, once held for alertAfter."""
    slo = login_slo("login", 0.95, window="28d", extra=_alert_policy(threshold, "6h", alert_after))
    write_slos(tmp_path, {"login.yaml": slo})
    add_day_of_logins(store)
    result = _evaluate(tmp_path, store)["login"]
    assert result.status is not None
    (alert,) = [a for a in result.status.alerts if a.window.policy == "fast-burn"]
    assert alert.window.name == "fast-burn/burn-6h"
    assert alert.window.severity == "critical"
    assert alert.window.notify == ("on-call",)
    assert alert.long_rate == pytest.approx((4 / 22) / 0.05)
    assert alert.firing is fires
    assert result.failing is (fires or bool(result.status.firing))
    entry = json.loads(json.dumps(status_document((result,)), allow_nan=False))["slos"][0]
    (json_alert,) = [a for a in entry["alerts"] if a["policy"] == "fast-burn"]
    assert (json_alert["long"], json_alert["factor"], json_alert["firing"]) == ("6h", threshold, fires)


def test_init_writes_a_starter_policy_that_covers_every_starter_slo(tmp_path: Path, store: Store) -> None:
    """`seclo init` writes slos/error-budget-policy.yaml; every starter SLO evaluates under it."""
    init_workspace(tmp_path / "ws")
    workspace = Workspace.open(tmp_path / "ws")
    assert (workspace.root / "slos" / "error-budget-policy.yaml").is_file()
    add_day_of_logins(store)
    results = evaluate_workspace(workspace, store, at=DAY_END)
    assert results
    evaluated = [r for r in results if r.status is not None]
    assert evaluated
    for result in evaluated:
        assert result.policy is not None, result.name
        assert [s.step.name for s in result.policy.steps] == ["notify", "prioritise", "freeze"]
