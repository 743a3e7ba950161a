"""Security incidents and outages: when they started, were detected, acknowledged and resolved, and what they cost.

Each delay is lognormal and counts from the previous stage (detected after occurring, acknowledged after being
detected, resolved after being acknowledged). Incidents not yet detected at the end of the period are not in
the tracker at all; later stages not reached by then are empty, and so is the loss of an unresolved incident.
Security incidents are rarer but their losses have a much heavier tail than outages'. Some outages follow a
production deployment and name it. The history reaches INCIDENT_HISTORY_DAYS before the period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seclo.generate.catalog import SERVICES
from seclo.generate.deployments import Deployments
from seclo.generate.parquet import canonical_table, strings, timestamps
from seclo.generate.period import NEVER, US_PER_DAY, US_PER_MINUTE, Period
from seclo.generate.randomness import lognormal, poisson_times
from seclo.generate.scenario import Scenario

__all__ = [
    "CHANGE_FAILURE_SHARE",
    "INCIDENT_HISTORY_DAYS",
    "OUTAGE",
    "OUTAGES_PER_DAY",
    "SECURITY",
    "SECURITY_INCIDENTS_PER_DAY",
    "IncidentModel",
    "Lognormal",
    "generate_incidents",
]


@dataclass(frozen=True, slots=True)
class Lognormal:
    """A lognormal distribution given by its median (exp of mu) and the sigma of its logarithm."""

    median: float
    sigma: float


@dataclass(frozen=True, slots=True)
class IncidentModel:
    """How one kind of incident unfolds; delays in minutes, loss in currency units."""

    time_to_detect: Lognormal
    time_to_acknowledge: Lognormal
    time_to_resolve: Lognormal
    loss: Lognormal
    severity_shares: tuple[float, float, float, float]  # critical, high, medium, low


OUTAGES_PER_DAY = 0.15  # besides those caused by deployments
SECURITY_INCIDENTS_PER_DAY = 0.03
CHANGE_FAILURE_SHARE = 0.08  # successful production deployments that cause an outage
INCIDENT_HISTORY_DAYS = 365
OUTAGE = IncidentModel(
    time_to_detect=Lognormal(8.0, 1.0),
    time_to_acknowledge=Lognormal(10.0, 0.8),
    time_to_resolve=Lognormal(90.0, 1.0),
    loss=Lognormal(5_000.0, 1.2),
    severity_shares=(0.10, 0.25, 0.45, 0.20),
)
SECURITY = IncidentModel(
    time_to_detect=Lognormal(2 * 1440.0, 1.5),
    time_to_acknowledge=Lognormal(45.0, 1.0),
    time_to_resolve=Lognormal(3 * 1440.0, 1.0),
    loss=Lognormal(30_000.0, 2.0),
    severity_shares=(0.15, 0.35, 0.35, 0.15),
)
_CAUSE_DELAY = Lognormal(30.0, 1.0)  # minutes from a bad deployment to the outage it causes
_SEVERITIES = ("critical", "high", "medium", "low")
_OUTAGE_TITLES = (
    "elevated 5xx error rate",
    "latency above objective",
    "service unavailable",
    "database connection pool exhausted",
    "certificate expired",
    "queue backlog growing",
)
_SECURITY_TITLES = (
    "phishing led to account takeover",
    "malware on an employee laptop",
    "credentials exposed in a public repository",
    "unauthorised access to a storage bucket",
    "exploited vulnerable dependency",
    "data exfiltration by an insider",
)


@dataclass(frozen=True, slots=True)
class _Drafts:
    kind: npt.NDArray[np.int8]  # 0 security, 1 outage
    occurred: npt.NDArray[np.int64]
    detected: npt.NDArray[np.int64]
    acknowledged: npt.NDArray[np.int64]
    resolved: npt.NDArray[np.int64]
    service: npt.NDArray[np.int64]
    deploy: npt.NDArray[np.int64]  # index into the deployments, -1 for none
    title: list[str]


def _stage(
    rng: np.random.Generator, kind: npt.NDArray[np.int8], security: Lognormal, outage: Lognormal
) -> npt.NDArray[np.int64]:
    """One lognormal delay per incident, in microseconds, from the model of its kind."""
    median = np.where(kind == 0, security.median, outage.median)
    sigma = np.where(kind == 0, security.sigma, outage.sigma)
    minutes = lognormal(rng, median, sigma, kind.size)
    return np.maximum((minutes * US_PER_MINUTE).astype(np.int64), 1)


def _ordinary(rng: np.random.Generator, period: Period, deployments: Deployments) -> _Drafts:
    """The incident history: random security incidents and outages, and outages caused by deployments."""
    since = period.start_us - INCIDENT_HISTORY_DAYS * US_PER_DAY
    security = poisson_times(rng, SECURITY_INCIDENTS_PER_DAY, since, period.end_us)
    outages = poisson_times(rng, OUTAGES_PER_DAY, since, period.end_us)
    eligible = np.flatnonzero(deployments.production & deployments.succeeded)
    caused = eligible[rng.random(eligible.size) < CHANGE_FAILURE_SHARE]
    delay = lognormal(rng, _CAUSE_DELAY.median, _CAUSE_DELAY.sigma, caused.size) * US_PER_MINUTE
    occurred = np.concatenate([security, outages, deployments.finished_us[caused] + delay.astype(np.int64)])
    kind = np.repeat(np.array([0, 1, 1], dtype=np.int8), [security.size, outages.size, caused.size])
    random_service = rng.integers(0, len(SERVICES), size=security.size + outages.size)
    service = np.concatenate([random_service, deployments.service[caused]])
    deploy = np.concatenate([np.full(security.size + outages.size, -1), caused])
    titles = rng.integers(0, 6, size=kind.size).tolist()
    title = [
        f"{SERVICES[s].name}: {(_SECURITY_TITLES if k == 0 else _OUTAGE_TITLES)[t]}"
        for k, s, t in zip(kind.tolist(), service.tolist(), titles, strict=True)
    ]
    detected = occurred + _stage(rng, kind, SECURITY.time_to_detect, OUTAGE.time_to_detect)
    acknowledged = detected + _stage(rng, kind, SECURITY.time_to_acknowledge, OUTAGE.time_to_acknowledge)
    resolved = acknowledged + _stage(rng, kind, SECURITY.time_to_resolve, OUTAGE.time_to_resolve)
    return _Drafts(kind, occurred, detected, acknowledged, resolved, service, deploy, title)


def _headlines(rng: np.random.Generator, scenario: Scenario) -> _Drafts:
    """The attack and the degradation the auth events show, as the tracker records them.

    Both are noticed within minutes; the attack is over once the address is blocked, while the degradation
    is still unresolved when the data ends.
    """
    sso = next(i for i, s in enumerate(SERVICES) if s.name == "sso")
    occurred = np.array([scenario.attack.start_us, scenario.degradation.start_us], dtype=np.int64)
    detected = occurred + (rng.uniform([10, 5], [25, 12]) * US_PER_MINUTE).astype(np.int64)
    acknowledged = detected + (rng.uniform([5, 3], [15, 10]) * US_PER_MINUTE).astype(np.int64)
    blocked = scenario.attack.end_us + int(rng.uniform(20, 60) * US_PER_MINUTE)
    return _Drafts(
        kind=np.array([0, 1], dtype=np.int8),
        occurred=occurred,
        detected=detected,
        acknowledged=acknowledged,
        resolved=np.array([max(blocked, int(acknowledged[0])), NEVER], dtype=np.int64),
        service=np.array([sso, sso]),
        deploy=np.array([-1, -1]),
        title=[
            "sso: brute-force attack from a single address",
            "sso: login failures, identity provider degraded",
        ],
    )


def generate_incidents(
    rng: np.random.Generator, period: Period, deployments: Deployments, scenario: Scenario
) -> pa.Table:
    """Draw the incident history and the period's incidents, including the scenario's two headline ones."""
    ordinary, headline = _ordinary(rng, period, deployments), _headlines(rng, scenario)

    def joined(name: str) -> npt.NDArray[np.int64]:
        return np.concatenate([getattr(ordinary, name), getattr(headline, name)]).astype(np.int64)

    kind = joined("kind")
    occurred, detected, acknowledged, resolved = (
        joined(name) for name in ("occurred", "detected", "acknowledged", "resolved")
    )
    shares = np.cumsum([SECURITY.severity_shares, OUTAGE.severity_shares], axis=1)
    severity = np.minimum((rng.random(kind.size)[:, None] > shares[kind]).sum(axis=1), 3)
    severity[-2:] = (1, 0)  # the attack is high, the degradation critical
    loss_model = np.array(
        [[SECURITY.loss.median, SECURITY.loss.sigma], [OUTAGE.loss.median, OUTAGE.loss.sigma]]
    )
    loss = lognormal(rng, loss_model[kind, 0], loss_model[kind, 1], kind.size)

    known = detected < period.end_us
    order = np.flatnonzero(known)[np.argsort(occurred[known], kind="stable")]
    unresolved = resolved[order] >= period.end_us
    deploy = joined("deploy")[order]
    titles = ordinary.title + headline.title
    return canonical_table(
        "incidents",
        incident_id=pa.array([f"INC-{i + 1:05d}" for i in range(order.size)], type=pa.string()),
        kind=strings(("security", "outage"), kind[order]),
        severity=strings(_SEVERITIES, severity[order]),
        service=strings([s.name for s in SERVICES], joined("service")[order]),
        occurred_at=timestamps(occurred[order]),
        detected_at=timestamps(detected[order]),
        acknowledged_at=timestamps(acknowledged[order], mask=acknowledged[order] >= period.end_us),
        resolved_at=timestamps(resolved[order], mask=unresolved),
        loss=pa.array(loss[order], mask=unresolved),
        deploy_id=strings(deployments.deploy_ids, np.maximum(deploy, 0), mask=deploy < 0),
        title=pa.array([titles[i] for i in order.tolist()], type=pa.string()),
    )
