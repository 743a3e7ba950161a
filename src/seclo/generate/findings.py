"""Vulnerability findings on the hosts, with a lognormal time to fix per severity.

The scanner's history reaches FINDINGS_HISTORY_DAYS before the period, so even low-severity fixes (median 100
days) are observed often enough to estimate. Findings still unfixed at the end of the period are open
(right-censored): survival estimators, not plain medians of closed findings, recover TIME_TO_FIX.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seclo.generate.catalog import PACKAGES
from seclo.generate.parquet import canonical_table, strings, timestamps
from seclo.generate.period import US_PER_DAY, Period, to_datetime
from seclo.generate.randomness import lognormal

__all__ = [
    "FINDINGS_HISTORY_DAYS",
    "FINDINGS_PER_ASSET_PER_DAY",
    "FIX_AVAILABLE_SHARE",
    "KNOWN_EXPLOITED_SHARE",
    "SEVERITIES",
    "SEVERITY_SHARES",
    "TIME_TO_FIX",
    "TimeToFix",
    "generate_findings",
]


@dataclass(frozen=True, slots=True)
class TimeToFix:
    """A lognormal time to fix: median (exp of mu) in days, and sigma of its logarithm."""

    median_days: float
    sigma: float


SEVERITIES = ("critical", "high", "medium", "low")
TIME_TO_FIX = (  # per SEVERITIES
    TimeToFix(median_days=5.0, sigma=0.8),
    TimeToFix(median_days=20.0, sigma=0.9),
    TimeToFix(median_days=60.0, sigma=1.0),
    TimeToFix(median_days=100.0, sigma=1.1),
)
SEVERITY_SHARES = (0.05, 0.25, 0.45, 0.25)  # per SEVERITIES
KNOWN_EXPLOITED_SHARE = (0.25, 0.06, 0.01, 0.0)  # per SEVERITIES, of vulnerabilities (CISA KEV-like)
FIX_AVAILABLE_SHARE = 0.9
FINDINGS_PER_ASSET_PER_DAY = 0.02  # public hosts get twice as many
FINDINGS_HISTORY_DAYS = 365
_SCANNERS = ("trivy", "nessus")


def _vulnerabilities(
    rng: np.random.Generator, count: int, end_year: int
) -> tuple[
    list[str], npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """A pool of distinct CVEs: identifier, severity, known exploited, fix available, package."""
    years = rng.integers(end_year - 6, end_year + 1, size=3 * count)
    numbers = rng.integers(1000, 60000, size=3 * count)
    codes, first = np.unique(years * 100_000 + numbers, return_index=True)
    codes = codes[np.argsort(first)][:count]
    ids = [f"CVE-{code // 100_000}-{code % 100_000:05d}" for code in codes.tolist()]
    severity = rng.choice(len(SEVERITIES), size=count, p=SEVERITY_SHARES)
    exploited = rng.random(count) < np.take(KNOWN_EXPLOITED_SHARE, severity)
    fixable = rng.random(count) < FIX_AVAILABLE_SHARE
    return ids, severity, exploited, fixable, rng.integers(0, len(PACKAGES), size=count)


def generate_findings(
    rng: np.random.Generator, period: Period, asset_ids: tuple[str, ...], public: npt.NDArray[np.bool_]
) -> pa.Table:
    """Draw findings opened over the scanner's history and the period, each closed after its time to fix."""
    opened_from = period.start_us - FINDINGS_HISTORY_DAYS * US_PER_DAY
    weight = np.where(public, 2.0, 1.0)
    days = FINDINGS_HISTORY_DAYS + period.days
    count = int(rng.poisson(FINDINGS_PER_ASSET_PER_DAY * weight.sum() * days))
    opened = np.sort(rng.integers(opened_from, period.end_us, size=count, dtype=np.int64))
    asset = rng.choice(len(asset_ids), size=count, p=weight / weight.sum())
    pool = max(50, len(asset_ids) // 2)
    ids, severity_of, exploited_of, fixable_of, package_of = _vulnerabilities(
        rng, pool, to_datetime(period.end_us).year
    )
    # Severity first (so the shares hold for findings, not only for the pool), then a CVE of that severity.
    severity = rng.choice(len(SEVERITIES), size=count, p=SEVERITY_SHARES)
    vuln = np.empty(count, dtype=np.int64)
    for level in range(len(SEVERITIES)):
        members = np.flatnonzero(severity_of == level)
        if members.size == 0:
            members = np.arange(pool)
        chosen = severity == level
        vuln[chosen] = rng.choice(members, size=int(chosen.sum()))
    median = np.take([t.median_days for t in TIME_TO_FIX], severity)
    sigma = np.take([t.sigma for t in TIME_TO_FIX], severity)
    closed = opened + (lognormal(rng, median, sigma, count) * US_PER_DAY).astype(np.int64)
    still_open = closed >= period.end_us
    return canonical_table(
        "findings",
        finding_id=pa.array([f"finding-{i:07d}" for i in range(count)], type=pa.string()),
        asset_id=strings(asset_ids, asset),
        vuln_id=strings(ids, vuln),
        package=strings([name for name, _ in PACKAGES], package_of[vuln]),
        version=strings([version for _, version in PACKAGES], package_of[vuln]),
        severity=strings(SEVERITIES, severity),
        opened_at=timestamps(opened),
        closed_at=timestamps(closed, mask=still_open),
        status=strings(("closed", "open"), still_open.astype(np.int8)),
        fix_available=pa.array(fixable_of[vuln]),
        known_exploited=pa.array(exploited_of[vuln]),
        source=strings(_SCANNERS, rng.integers(0, len(_SCANNERS), size=count)),
    )
