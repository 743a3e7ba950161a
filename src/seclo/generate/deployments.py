"""Deployments of each service during working hours, with the commits they shipped (for the DORA metrics)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seclo.generate.catalog import SERVICES, UTC_OFFSET_HOURS
from seclo.generate.parquet import canonical_table, strings, timestamps
from seclo.generate.period import US_PER_DAY, US_PER_HOUR, Period
from seclo.generate.randomness import lognormal

__all__ = [
    "COMMITS_PER_DEPLOY_MEAN",
    "DEPLOYS_PER_WORKDAY_MEDIAN",
    "DEPLOYS_PER_WORKDAY_SIGMA",
    "FAILURE_SHARE",
    "LEAD_TIME_MEDIAN_HOURS",
    "LEAD_TIME_SIGMA",
    "PRODUCTION_SHARE",
    "Deployments",
    "generate_deployments",
]

DEPLOYS_PER_WORKDAY_MEDIAN = 0.8  # per service; services differ lognormally around it
DEPLOYS_PER_WORKDAY_SIGMA = 0.7
PRODUCTION_SHARE = 0.8  # the rest go to staging
FAILURE_SHARE = 0.08  # deployments that fail (and are rolled back)
COMMITS_PER_DEPLOY_MEAN = 2.0  # 1 + Poisson(mean) commits per deployment
LEAD_TIME_MEDIAN_HOURS = 20.0  # commit to deployment, lognormal
LEAD_TIME_SIGMA = 1.0
_WORKING_HOURS = (9, 18)  # local time


@dataclass(frozen=True, slots=True)
class Deployments:
    """The deployments, with what the incident generator needs.

    Attributes:
        deploy_ids: identifiers, in time order.
        service: index into SERVICES of each deployment.
        finished_us: when each finished.
        production: deployed to production.
        succeeded: finished successfully.
        table: the `deployments` table.
    """

    deploy_ids: tuple[str, ...]
    service: npt.NDArray[np.int64]
    finished_us: npt.NDArray[np.int64]
    production: npt.NDArray[np.bool_]
    succeeded: npt.NDArray[np.bool_]
    table: pa.Table


def _working_days(period: Period) -> npt.NDArray[np.int64]:
    """Local midnight, in UTC microseconds, of every weekday touching the period."""
    offset = UTC_OFFSET_HOURS * US_PER_HOUR
    first = (period.start_us + offset) // US_PER_DAY
    days = first + np.arange(period.days + 1, dtype=np.int64)
    return np.asarray(days[(days + 3) % 7 < 5] * US_PER_DAY - offset, dtype=np.int64)


def generate_deployments(rng: np.random.Generator, period: Period) -> Deployments:
    """Draw each service's deployments over the period and the commits each shipped."""
    workdays = _working_days(period)
    rate = lognormal(rng, DEPLOYS_PER_WORKDAY_MEDIAN, DEPLOYS_PER_WORKDAY_SIGMA, len(SERVICES))
    per_service = rng.poisson(rate * workdays.size)
    service = np.repeat(np.arange(len(SERVICES)), per_service)
    day = rng.choice(workdays, size=service.size) if workdays.size else np.zeros(0, dtype=np.int64)
    start, stop = (hour * US_PER_HOUR for hour in _WORKING_HOURS)
    finished = day + rng.integers(start, stop, size=service.size)
    keep = (finished >= period.start_us) & (finished < period.end_us)
    order = np.argsort(finished[keep], kind="stable")
    service, finished = service[keep][order], finished[keep][order]
    count = service.size
    production = rng.random(count) < PRODUCTION_SHARE
    succeeded = rng.random(count) >= FAILURE_SHARE

    commits = 1 + rng.poisson(COMMITS_PER_DEPLOY_MEAN, size=count)
    lead = lognormal(rng, LEAD_TIME_MEDIAN_HOURS, LEAD_TIME_SIGMA, int(commits.sum())) * US_PER_HOUR
    owner = np.repeat(np.arange(count), commits)
    committed = np.repeat(finished, commits) - np.maximum(lead.astype(np.int64), 1)
    committed = committed[np.lexsort((committed, owner))]  # oldest commit first within each deployment
    digest = rng.bytes(20 * committed.size).hex()
    shas = pa.array([digest[i : i + 40] for i in range(0, len(digest), 40)], type=pa.string())
    changes = pa.StructArray.from_arrays([shas, timestamps(committed)], names=["sha", "committed_at"])
    offsets = pa.array(np.concatenate([[0], np.cumsum(commits)]).astype(np.int32))

    ids = tuple(f"deploy-{i:06d}" for i in range(count))
    table = canonical_table(
        "deployments",
        deploy_id=pa.array(ids, type=pa.string()),
        service=strings([s.name for s in SERVICES], service),
        env=strings(("staging", "production"), production.astype(np.int8)),
        finished_at=timestamps(finished),
        result=strings(("failure", "success"), succeeded.astype(np.int8)),
        team=strings([s.team for s in SERVICES], service),
        commits=pa.ListArray.from_arrays(offsets, changes),
    )
    return Deployments(ids, service, finished, production, succeeded, table)
