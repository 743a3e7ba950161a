"""The /metrics figures and exposition: counters are the store's counts, gauges are seclo's evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from seclo.prometheus import names
from seclo.prometheus.exporter import ExporterHealth, MonotonicCounters, render
from seclo.prometheus.figures import read_figures
from seclo.store import Store
from seclo.store.sql import run
from seclo.workspace import Workspace

AT = datetime(2024, 3, 1, 12, 2)


def _slo(name: str, indicator: str, budgeting: str = "Occurrences", extra: str = "") -> str:
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: identity
  indicator:
    metadata: {{name: {name}}}
    spec:
      ratioMetric:
        rawType: success
        raw: {{metricSource: {{type: seclo, spec: {{indicator: {indicator}}}}}}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: {budgeting}
  objectives: [{{target: 0.9{extra}}}, {{target: 0.99{extra}}}]
"""


def _workspace(root: Path, store: Store) -> Workspace:
    slos = root / "slos"
    slos.mkdir()
    (slos / "login.yaml").write_text(_slo("login", "login_success"))
    (slos / "brute.yaml").write_text(_slo("brute", "brute_force_pressure"))
    (slos / "mfa.yaml").write_text(_slo("mfa", "mfa_coverage"))
    # 20 logins, one a minute from 11:45; every fourth fails. Two after AT must not count.
    run(
        store.conn,
        """INSERT INTO auth_events (time, outcome, src_ip, service)
        SELECT TIMESTAMP '2024-03-01 11:45:00' + i * INTERVAL 1 MINUTE,
               CASE WHEN i % 4 = 0 THEN 'failure' ELSE 'success' END, '10.0.0.' || (i % 3), 'sso'
        FROM range(20) AS t(i)""",
    )
    run(
        store.conn,
        """INSERT INTO accounts (snapshot_time, account_id, "type", mfa_enabled, disabled, owner_active, last_login)
        VALUES (TIMESTAMP '2024-03-01 06:00', 'a', 'human', true, false, true, TIMESTAMP '2024-03-01'),
               (TIMESTAMP '2024-03-01 06:00', 'b', 'human', false, false, false, NULL)""",
    )
    return Workspace.open(root)


def test_counters_are_the_store_counts_up_to_the_refresh(tmp_path: Path, store: Store) -> None:
    """Events SLIs count every event before the refresh time; brute force counts only ended slices."""
    figures = read_figures(_workspace(tmp_path, store), store, AT)
    by = {(f.result.name, f.objective): f for f in figures.objectives}
    assert set(by) == {(n, o) for n in ("login", "brute", "mfa") for o in ("0", "1")}
    login = by["login", "0"]
    assert (login.kind, login.good, login.total) == ("events", 12.0, 17.0)  # 11:45 ... 12:01
    # Failing sources per ended 5-minute slice: 2 at 11:45, 1 at 11:50, 1 at 11:55; the failure at 12:01
    # is in the 12:00 slice, which has not ended at 12:02.
    assert by["brute", "0"].total == 4.0
    mfa = by["mfa", "1"]
    assert (mfa.kind, mfa.good, mfa.total) == ("snapshot", 1.0, 2.0)
    assert figures.security.mfa_coverage == 0.5
    assert figures.security.orphaned_accounts == 1.0
    assert figures.security.findings_past_sla == {"critical": 0, "high": 0, "medium": 0, "low": 0}
    assert figures.objective_errors == 0


def test_exposition_uses_the_shared_names_and_leaves_out_undefined_figures(
    tmp_path: Path, store: Store
) -> None:
    """The text format parses; series carry slo/service/objective; a NaN burn rate is not exported."""
    figures = read_figures(_workspace(tmp_path, store), store, AT)
    text = render(figures, ExporterHealth(1.7e9, 0.25, 2), MonotonicCounters()).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    good = families[names.GOOD_EVENTS.removesuffix("_total")]
    assert good.type == "counter"
    sample = next(s for s in good.samples if s.labels["slo"] == "login" and s.labels["objective"] == "1")
    assert sample.labels == {"slo": "login", "service": "identity", "objective": "1"}
    assert sample.value == 12.0
    burn = {
        s.labels["window"]
        for s in families[names.BURN_RATE].samples
        if s.labels["slo"] == "login" and s.labels["objective"] == "0"
    }
    assert burn == {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}
    mfa_burn = [s for s in families[names.BURN_RATE].samples if s.labels["slo"] == "mfa"]
    assert all(s.value == s.value for s in mfa_burn)  # no NaN sample
    states = [s for s in families[names.STATE].samples if s.labels["slo"] == "login" and s.value == 1]
    assert len(states) == 2
    assert families[names.EXPORTER_REFRESH_ERRORS.removesuffix("_total")].samples[0].value == 2
    assert families[names.MFA_COVERAGE].samples[0].value == 0.5
    assert "_created" not in text


def test_counters_never_go_down() -> None:
    """A store count that drops (rows rewritten) keeps the exported counter at its highest value."""
    counters = MonotonicCounters()
    assert [counters.apply(("good", "x", "0"), v) for v in (5, 9, 7, 8, 12)] == [5, 9, 9, 9, 12]


def test_a_later_refresh_counts_newly_imported_events(tmp_path: Path, store: Store) -> None:
    """Events imported between refreshes raise the counters by exactly their number."""
    workspace = _workspace(tmp_path, store)
    before = read_figures(workspace, store, AT)
    run(
        store.conn,
        "INSERT INTO auth_events (time, outcome, service) VALUES (TIMESTAMP '2024-03-01 12:02:30', 'success', 'x')",
    )
    after = read_figures(workspace, store, AT + timedelta(minutes=1))
    old = next(f for f in before.objectives if f.result.name == "login")
    new = next(f for f in after.objectives if f.result.name == "login")
    assert old.good is not None
    assert old.total is not None
    assert (new.good, new.total) == (old.good + 2, old.total + 2)  # the 12:02 login and the new one
