"""Frequency and severity distributions of a risk scenario, and fits of a lognormal from what people know.

Severity is lognormal: the standard model for loss sizes (Cyentia IRIS fits one to breach losses) and for
repair times. Experts rarely know meanlog and sdlog; they know two quantiles, so the fits below turn
(p05, p95), (p50, p95) or a 90% interval (low, high) into (meanlog, sdlog) exactly: ln x_q = mu + sigma z_q.

Frequency is events per year: a Poisson rate, or a Poisson rate that itself varies from year to year
(overdispersion), as a gamma (negative binomial counts) or a lognormal (Poisson-lognormal) mixture. Mixtures
keep the given mean rate, so only the spread changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "Frequency",
    "Lognormal",
    "lognormal_from_interval",
    "lognormal_from_median",
    "rate_from_probability",
]

Floats = npt.NDArray[np.float64]
# z of the 95th percentile: 1.6448536...; a 90% interval runs from z = -Z95 to +Z95.
Z95 = NormalDist().inv_cdf(0.95)


def rate_from_probability(probability: float) -> float:
    """The Poisson rate whose chance of at least one event in a year is `probability`: -ln(1 - p)."""
    if not 0 < probability < 1:
        raise ValueError("an annual probability must be between 0 and 1 (exclusive)")
    return -math.log1p(-probability)


@dataclass(frozen=True, slots=True)
class Lognormal:
    """A lognormal loss per event: ln(loss) ~ Normal(meanlog, sdlog), optionally capped per event."""

    meanlog: float
    sdlog: float
    cap: float | None = None

    @property
    def median(self) -> float:
        """exp(meanlog)."""
        return math.exp(self.meanlog)

    @property
    def mean(self) -> float:
        """exp(meanlog + sdlog^2 / 2), the uncapped mean."""
        return math.exp(self.meanlog + self.sdlog**2 / 2)

    @property
    def second_moment(self) -> float:
        """E[X^2] = exp(2 meanlog + 2 sdlog^2), the uncapped second moment."""
        return math.exp(2 * self.meanlog + 2 * self.sdlog**2)

    def quantile(self, q: float) -> float:
        """The q-quantile of the uncapped distribution."""
        return math.exp(self.meanlog + self.sdlog * NormalDist().inv_cdf(q))

    def losses(self, z: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.floating[Any]]:
        """Losses for standard normal draws `z`, in z's precision (shared draws give common random numbers)."""
        out = z * z.dtype.type(self.sdlog)
        out += z.dtype.type(self.meanlog)
        np.exp(out, out=out)
        if self.cap is not None:
            np.minimum(out, z.dtype.type(self.cap), out=out)
        return out


def lognormal_from_interval(low: float, high: float, coverage: float = 0.90) -> tuple[float, float]:
    """(meanlog, sdlog) whose central `coverage` interval is [low, high]; (p05, p95) is coverage 0.90."""
    if not 0 < low < high:
        raise ValueError("expected 0 < low < high")
    z = NormalDist().inv_cdf(0.5 + coverage / 2)
    return (math.log(low) + math.log(high)) / 2, (math.log(high) - math.log(low)) / (2 * z)


def lognormal_from_median(median: float, p95: float) -> tuple[float, float]:
    """(meanlog, sdlog) with this median and 95th percentile."""
    if not 0 < median < p95:
        raise ValueError("expected 0 < p50 < p95")
    return math.log(median), (math.log(p95) - math.log(median)) / Z95


@dataclass(frozen=True, slots=True)
class Frequency:
    """Events per year.

    Attributes:
        rate: the mean number of events per year.
        mixing: "none" (Poisson), "gamma" (negative binomial counts) or "lognormal" (Poisson-lognormal).
        spread: the gamma shape k (smaller is more dispersed; variance of counts = rate + rate^2 / k), or the
            lognormal mixture's sdlog.
    """

    rate: float
    mixing: Literal["none", "gamma", "lognormal"] = "none"
    spread: float = 0.0

    @property
    def count_variance(self) -> float:
        """The variance of the annual count."""
        if self.mixing == "gamma":
            return self.rate + self.rate**2 / self.spread
        if self.mixing == "lognormal":
            return self.rate + self.rate**2 * math.expm1(self.spread**2)
        return self.rate

    @property
    def p_no_event(self) -> float:
        """P(no event in a year), exact for Poisson; for mixtures the negative binomial's or an integral."""
        if self.mixing == "gamma":
            return float((self.spread / (self.spread + self.rate)) ** self.spread)
        if self.mixing == "lognormal":
            # E[exp(-L)] with L lognormal: Gauss-Hermite quadrature, accurate to ~1e-10 here.
            nodes, weights = np.polynomial.hermite_e.hermegauss(80)
            mu = math.log(self.rate) - self.spread**2 / 2
            values = np.exp(-np.exp(mu + self.spread * nodes))
            return float(np.dot(weights, values) / math.sqrt(2 * math.pi))
        return math.exp(-self.rate)

    def rates(self, u: Floats, z: Floats) -> Floats:
        """Each year's rate from common uniforms `u` (gamma mixing) or normals `z` (lognormal mixing)."""
        if self.mixing == "gamma":
            from scipy.special import gammaincinv  # noqa: PLC0415 - scipy loads slowly; only mixtures need it

            # Gamma(shape k, mean rate) by inversion, so a treatment changing the rate keeps each year's draw.
            out: Floats = gammaincinv(self.spread, u) * (self.rate / self.spread)
            return out
        if self.mixing == "lognormal":
            mu = math.log(self.rate) - self.spread**2 / 2
            return np.exp(mu + self.spread * z)
        return np.full(u.shape, self.rate)
