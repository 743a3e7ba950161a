"""Vulnerability findings: lognormal time to fix by severity, CVE identifiers, open and closed states."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from seclo.generate.findings import SEVERITIES, TIME_TO_FIX, generate_findings
from seclo.generate.period import Period
from seclo.generate.randomness import Streams

END = datetime(2025, 6, 4, 15, 30)


@pytest.fixture(scope="module")
def findings() -> pa.Table:
    """About thirty thousand findings on four thousand hosts, with a month of period after the history."""
    assets = tuple(f"asset-{i:05d}" for i in range(4000))
    public = np.arange(4000) % 12 == 0
    return generate_findings(Streams(11).rng("findings"), Period.ending(END, 30), assets, public)


def _days(table: pa.Table, column: str) -> npt.NDArray[np.float64]:
    values = table.column(column).to_numpy(zero_copy_only=False).astype("datetime64[us]").astype(np.int64)
    return np.asarray(values / 86_400e6, dtype=np.float64)


def _kaplan_meier_median(durations: npt.NDArray[np.float64], observed: npt.NDArray[np.bool_]) -> float:
    """The time at which the Kaplan-Meier survival estimate first drops to one half."""
    order = np.argsort(durations, kind="stable")
    at_risk = durations.size - np.arange(durations.size)
    survival = np.cumprod(1.0 - observed[order] / at_risk)
    return float(durations[order][np.argmax(survival <= 0.5)])


@pytest.mark.parametrize("level", range(len(SEVERITIES)))
def test_time_to_fix_median_is_recovered_per_severity(findings: pa.Table, level: int) -> None:
    """A survival estimate over closed and still-open findings recovers each severity's documented median."""
    chosen = findings.filter(pa.compute.equal(findings.column("severity"), SEVERITIES[level]))
    opened = _days(chosen, "opened_at")
    closed = chosen.column("closed_at").is_valid().to_numpy(zero_copy_only=False)
    end = (np.datetime64(END, "us").astype(np.int64)) / 86_400e6
    fixed_at = np.where(closed, np.nan_to_num(_days(chosen, "closed_at"), nan=end), end)
    median = _kaplan_meier_median(fixed_at - opened, closed)
    assert median == pytest.approx(TIME_TO_FIX[level].median_days, rel=0.12)


def test_severity_medians_are_ordered() -> None:
    """Critical findings are fixed fastest and low ones slowest, as documented."""
    medians = [t.median_days for t in TIME_TO_FIX]
    assert medians == sorted(medians) == [5.0, 20.0, 60.0, 100.0]


def test_vulnerability_ids_look_like_cves(findings: pa.Table) -> None:
    """Every vulnerability identifier is a CVE-YYYY-NNNNN and each is found on several hosts."""
    ids = findings.column("vuln_id").to_pylist()
    assert all(re.fullmatch(r"CVE-20\d\d-\d{5}", i) for i in ids)
    assert len(set(ids)) < len(ids) / 5


def test_open_findings_have_no_close_time(findings: pa.Table) -> None:
    """Findings not fixed by the end are open with no close time; the others are closed with one."""
    status = np.array(findings.column("status").to_pylist())
    closed = findings.column("closed_at").is_valid().to_numpy(zero_copy_only=False)
    assert np.array_equal(status == "closed", closed)
    assert 0.05 < (status == "open").mean() < 0.5
    assert np.all(_days(findings, "closed_at")[closed] > _days(findings, "opened_at")[closed])


def test_few_are_known_exploited_and_most_can_be_fixed(findings: pa.Table) -> None:
    """Known exploitation is rare and concentrated on critical findings; most findings have a fix."""
    kev = np.array(findings.column("known_exploited").to_pylist())
    severity = np.array(findings.column("severity").to_pylist())
    assert 0.005 < kev.mean() < 0.08
    assert kev[severity == "critical"].mean() > kev[severity == "medium"].mean()
    assert np.mean(findings.column("fix_available").to_pylist()) > 0.8
