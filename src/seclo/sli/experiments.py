"""SLIs over security chaos experiments (experiment_runs): detection coverage, and time to detect and remediate.

Experiment runs are evidence for the MTTD and MTTR objectives: unlike incidents, they measure the detectors on
faults whose start is known to the millisecond. Aborted runs say nothing about detection and are not counted.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from seclo.sli.incidents import parse_duration
from seclo.sli.interface import Indicator, IndicatorParams, SliKind
from seclo.sli.slicing import bucket, by_deadline, in_list, in_window, narrow

__all__ = [
    "DetectionCoverage",
    "ExperimentParams",
    "ExperimentTimeParams",
    "ExperimentTimeToDetect",
    "ExperimentTimeToRemediate",
]


class ExperimentParams(IndicatorParams):
    """Which experiment runs count."""

    experiments: list[str] | None = Field(
        default=None, description="Only these experiment titles; all when null."
    )
    faults: list[str] | None = Field(
        default=None, description="Only runs of these fault types; all when null."
    )


def _where(p: ExperimentParams) -> str:
    where = "outcome <> 'aborted' AND injected_at IS NOT NULL"
    if p.experiments is not None:
        where += f" AND {in_list('experiment', p.experiments)}" if p.experiments else " AND false"
    if p.faults is not None:
        where += f" AND {in_list('fault', p.faults)}" if p.faults else " AND false"
    return where


# A run had a detection probe when it was detected or its verdict says detection was missed.
_WATCHED_DETECTION = "(detected_at IS NOT NULL OR outcome = 'detection_missed')"
_WATCHED_REMEDIATION = "(remediated_at IS NOT NULL OR outcome = 'remediation_missed')"


class DetectionCoverage(Indicator):
    """Share of experiment runs whose fault was detected within the experiment's detection deadline.

    Each run with a detection probe is one event at its injection time; good when it was detected in time.
    """

    name: ClassVar[str] = "detection_coverage"
    summary: ClassVar[str] = "Share of security experiments whose fault was detected within its deadline."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = ExperimentParams

    def sql(self, params: IndicatorParams) -> str:
        """Count watched runs per slice of their injection time, and those detected."""
        p = narrow(params, ExperimentParams)
        return f"""SELECT {bucket("injected_at")} AS slice_start,
       (count(*) FILTER (WHERE outcome <> 'detection_missed'))::DOUBLE AS good,
       count(*)::DOUBLE AS total
FROM experiment_runs
WHERE {_where(p)} AND {_WATCHED_DETECTION} AND {in_window("injected_at")}
GROUP BY slice_start"""


class ExperimentTimeParams(ExperimentParams):
    """Parameters of the experiment time SLIs."""

    target: str = Field(default="5m", description='Longest acceptable delay, such as "30s", "5m" or "1h".')

    @field_validator("target")
    @classmethod
    def _duration(cls, target: str) -> str:
        parse_duration(target)
        return target


class ExperimentTimeToDetect(Indicator):
    """Share of experiment runs detected within the target after injection (experiment MTTD as an SLI).

    Each run is one event at detected_at, or at injected_at + target if not detected by then (bad).
    """

    name: ClassVar[str] = "experiment_time_to_detect"
    summary: ClassVar[str] = "Share of security experiments detected within a target time after injection."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = ExperimentTimeParams
    example: ClassVar[dict[str, object]] = {"target": "1m"}

    def sql(self, params: IndicatorParams) -> str:
        """Place each run at its detection or deadline, and count those within target."""
        p = narrow(params, ExperimentTimeParams)
        seconds = int(parse_duration(p.target).total_seconds())
        return f"""WITH delays AS (
  SELECT detected_at AS ended, injected_at + to_seconds({seconds}) AS deadline
  FROM experiment_runs
  WHERE {_where(p)} AND {_WATCHED_DETECTION}
),
{by_deadline("delays", "ended", "deadline")}"""


class ExperimentTimeToRemediate(Indicator):
    """Share of detected experiment runs remediated within the target after detection (experiment MTTR).

    Each detected run with a remediation probe is one event at remediated_at, or at detected_at + target.
    """

    name: ClassVar[str] = "experiment_time_to_remediate"
    summary: ClassVar[str] = "Share of detected security experiments remediated within a target time."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = ExperimentTimeParams
    example: ClassVar[dict[str, object]] = {"target": "5m"}

    def sql(self, params: IndicatorParams) -> str:
        """Place each run at its remediation or deadline, and count those within target."""
        p = narrow(params, ExperimentTimeParams)
        seconds = int(parse_duration(p.target).total_seconds())
        return f"""WITH delays AS (
  SELECT remediated_at AS ended, detected_at + to_seconds({seconds}) AS deadline
  FROM experiment_runs
  WHERE {_where(p)} AND detected_at IS NOT NULL AND {_WATCHED_REMEDIATION}
),
{by_deadline("delays", "ended", "deadline")}"""
