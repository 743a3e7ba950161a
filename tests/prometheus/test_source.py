"""Prometheus as an SLI source: slice amounts from values at slice ends, the window placeholder, DataSources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seclo.errors import ConfigError
from seclo.prometheus.http_api import public_url
from seclo.prometheus.source import amounts, expand_window, promql_duration
from seclo.slo.loader import load_slo_documents
from seclo.slo.openslo import PrometheusIndicator

SLO = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec:
  type: Prometheus
  connectionDetails: CONNECTION
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api}
spec:
  service: api
  indicator:
    metadata: {name: api}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {metricSourceRef: prom, spec: {query: 'sum(ok_total)'}}}
        total: {metricSource: {metricSourceRef: prom, spec: {query: 'sum(all_total)'}}}
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


def test_window_placeholder_becomes_the_slice_length() -> None:
    """{{.window}} (with or without spaces) is replaced by the slice length in PromQL's largest whole unit."""
    assert expand_window("sum(increase(x_total[{{.window}}]))", timedelta(minutes=5)) == (
        "sum(increase(x_total[5m]))",
        True,
    )
    assert expand_window("rate(x[{{ .window }}])", timedelta(hours=2)) == ("rate(x[2h])", True)
    assert expand_window("sum(x_total)", timedelta(minutes=5)) == ("sum(x_total)", False)
    assert [promql_duration(timedelta(seconds=s)) for s in (90, 60, 3600, 86400, 172800)] == [
        "90s",
        "1m",
        "1h",
        "1d",
        "2d",
    ]


def test_counter_growth_per_slice_handles_resets_and_gaps() -> None:
    """Growth between slice ends; a drop is a reset; a gap is bridged; no baseline means no growth."""
    nan = float("nan")
    values = np.array([nan, 10.0, 15.0, 15.0, 4.0, nan, nan, 9.0])
    assert amounts(values, cumulative=True).tolist() == [0.0, 5.0, 0.0, 4.0, 0.0, 0.0, 5.0]
    assert amounts(np.array([3.0, nan, 2.5]), cumulative=False).tolist() == [3.0, 0.0, 2.5]


@given(
    st.lists(st.integers(0, 1000), min_size=2, max_size=60),
    st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_counter_growth_adds_up_to_the_counter_growth(steps: list[int], gaps: list[bool]) -> None:
    """Whatever the gaps between samples, the slices' growth sums to the last value minus the first."""
    running = np.cumsum(np.array(steps, dtype=np.float64))
    seen = np.array(gaps[: len(running)])
    seen[0] = seen[-1] = True
    values = np.where(seen, running, np.nan)
    growth = amounts(values, cumulative=True)
    assert growth.sum() == pytest.approx(running[-1] - running[0])
    assert (growth >= 0).all()


def test_datasource_url_reaches_the_indicator(tmp_path: Path) -> None:
    """A metric source naming a DataSource takes its connectionDetails.url."""
    (tmp_path / "api.yaml").write_text(SLO.replace("CONNECTION", "{url: 'http://prom.example:9090'}"))
    objective = load_slo_documents(tmp_path).objectives[0]
    assert isinstance(objective.indicator, PrometheusIndicator)
    assert objective.indicator.url == "http://prom.example:9090"
    assert objective.indicator.counter is True
    assert (objective.indicator.query, objective.indicator.total_query) == ("sum(ok_total)", "sum(all_total)")


def test_datasource_without_a_url_is_an_error_naming_the_file(tmp_path: Path) -> None:
    """connectionDetails that are not {url: http(s)://...} are refused with the file and the path."""
    (tmp_path / "api.yaml").write_text(SLO.replace("CONNECTION", "{host: prom}"))
    with pytest.raises(ConfigError, match=r"api\.yaml:\d+: document 1: spec\.connectionDetails"):
        load_slo_documents(tmp_path)


def test_credentials_in_a_url_are_never_shown() -> None:
    """A URL with user and password is shown without them."""
    assert (
        public_url("https://alice:s3cret@prom.example:9090/prometheus")
        == "https://prom.example:9090/prometheus"
    )
