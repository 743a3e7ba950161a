"""The generated rules in the real Prometheus, scraping `seclo serve`: the recording rules give the values
seclo computes itself, and the page alert fires for the SLO that burns while the calm one stays silent.

The rule file is what `seclo slo rules` writes, with every group's evaluation interval set to one second so
the test need not wait for the 30 s and 5 m groups (the expressions are untouched). Logins arrive during the
test, one batch a second, all after Prometheus started: `increase()` only sees growth it scraped. The burning
service fails exactly half of its logins, so every window's error ratio is 0.5 from both counters of the same
scrape, whatever `increase()` extrapolates, and seclo's own 5-minute burn rate is 0.5 / (1 - 0.99) = 50.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from serve_helpers import (
    Prometheus,
    Serve,
    read_store,
    start_prometheus,
    start_serve,
    wait_for,
    write_store,
)

from seclo.sli import Window, get_indicator, indicator_params
from seclo.store import Store

SLO = """\
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
        raw: {{metricSource: {{type: seclo, spec: {{indicator: login_success, params: {{services: [{name}]}}}}}}}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.99}}]
"""
BATCHES = 12
PER_BATCH = 20


def _labels(name: str) -> str:
    return f'slo="{name}",service="identity",objective="0"'


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Serve, Prometheus, Path]]:
    """seclo serve over two SLOs, the real Prometheus with the generated rules, and logins arriving."""
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "slos").mkdir()
    for name in ("burning", "calm"):
        (workspace / "slos" / f"{name}.yaml").write_text(SLO.format(name=name), encoding="utf-8")
    store = workspace / ".seclo" / "store.duckdb"
    write_store(store, "SELECT 1")  # create and migrate the store
    rules = workspace / "rules.yml"
    subprocess.run(
        [sys.executable, "-m", "seclo", "slo", "rules", "--out", str(rules), "-w", str(workspace)], check=True
    )
    text = rules.read_text(encoding="utf-8")
    rules.write_text(re.sub(r"(?m)^(\s*interval:) \S+$", r"\1 1s", text), encoding="utf-8")
    serve = start_serve(workspace, "1s")
    try:
        prometheus = start_prometheus(
            tmp_path_factory.mktemp("prometheus"), serve.url.removeprefix("http://"), rules=rules
        )
    except BaseException:
        serve.stop()
        raise
    try:
        wait_for("a first scrape", lambda: prometheus.value("seclo_exporter_last_refresh_timestamp_seconds"))
        for _ in range(BATCHES):
            now = datetime.now(UTC).replace(tzinfo=None)
            write_store(
                store,
                """INSERT INTO auth_events (time, "user", outcome, src_ip, service)
                SELECT $now, 'u', CASE WHEN s = 'burning' AND i % 2 = 0 THEN 'failure' ELSE 'success' END,
                       '10.0.0.1', s
                FROM range($n) AS t(i), (VALUES ('burning'), ('calm')) AS v(s)""",
                {"now": now, "n": PER_BATCH},
            )
            time.sleep(1)
        yield serve, prometheus, workspace
    finally:
        prometheus.stop()
        serve.stop()


def test_recording_rules_hold_what_seclo_computes(live: tuple[Serve, Prometheus, Path]) -> None:
    """Error ratios, objective, budget and period from the rules equal seclo's figures for the same data."""
    _, prometheus, _ = live
    burning, calm = _labels("burning"), _labels("calm")
    for window in ("5m", "30m", "1h"):
        ratio = wait_for(window, partial(prometheus.value, f"slo:error_ratio:rate{window}{{{burning}}}"))
        assert ratio == pytest.approx(0.5, abs=1e-9)
        calm_ratio = wait_for(window, partial(prometheus.value, f"slo:error_ratio:rate{window}{{{calm}}}"))
        assert calm_ratio == pytest.approx(0.0, abs=1e-12)
    assert prometheus.value(f"slo:objective:ratio{{{burning}}}") == pytest.approx(0.99)
    assert prometheus.value(f"slo:error_budget:ratio{{{burning}}}") == pytest.approx(0.01)
    assert prometheus.value(f"slo:period:seconds{{{burning}}}") == 30 * 86400
    # seclo's own SLI over the same events, from the store: its error ratio and burn rate are the rules'.
    _, _, workspace = live
    ratio = read_store(workspace / ".seclo" / "store.duckdb", _seclo_error_ratio)
    rule_rate = prometheus.value(f"slo:error_ratio:rate5m{{{burning}}} / slo:error_budget:ratio{{{burning}}}")
    assert ratio == pytest.approx(0.5)
    assert rule_rate == pytest.approx(ratio / (1 - 0.99))


def _seclo_error_ratio(store: Store) -> float:
    """1 - good/total of the catalog SLI login_success for the burning service over the last hour."""
    indicator = get_indicator("login_success")
    now = datetime.now(UTC).replace(tzinfo=None)
    step = timedelta(minutes=1)
    start = datetime(now.year, now.month, now.day, now.hour) - timedelta(hours=1)
    series = indicator.evaluate(
        store.conn, indicator_params(indicator, {"services": ["burning"]}), Window(start, now + step, step)
    )
    return 1 - float(series.good.sum()) / float(series.total.sum())


def test_page_alert_fires_for_the_burning_slo_only(live: tuple[Serve, Prometheus, Path]) -> None:
    """SecloSLOBurnRatePage fires for the SLO burning at 50x and never for the calm one."""
    _, prometheus, _ = live
    firing = wait_for(
        "the page alert",
        lambda: (
            prometheus.query('ALERTS{alertname="SecloSLOBurnRatePage",alertstate="firing",slo="burning"}')
            or None
        ),
    )
    labels = firing[0]["metric"]
    assert labels["severity"] == "page"
    assert labels["service"] == "identity"
    assert prometheus.query('ALERTS{alertname=~"SecloSLOBurnRate.*",slo="calm"}') == []
