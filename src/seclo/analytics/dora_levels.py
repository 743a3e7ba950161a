"""DORA performance levels: the Accelerate State of DevOps tables turned into explicit thresholds.

2019 (Accelerate State of DevOps 2019, table "Aspect of software delivery performance"):
  deployment frequency: Elite on-demand (multiple deploys per day); High between once per day and once per
    week; Medium between once per week and once per month; Low between once per month and once every six months.
  lead time for changes: Elite less than one day; High one day to one week; Medium one week to one month; Low
    one month to six months.
  time to restore service: Elite less than one hour; High less than one day; Medium less than one day; Low one
    week to one month.
  change failure rate: Elite, High and Medium 0-15%; Low 46-60%.
2023 (Accelerate State of DevOps 2023, performance clusters): deployment frequency as 2019; lead time as 2019;
  change failure rate 5% / 10% / 15% / 64%; failed deployment recovery time less than one hour / less than
  one day / one day to one week / one month to six months.

Reading the tables as thresholds: each level below Elite is reached by meeting its bound; a value exactly on a
bound belongs to the better level unless the wording excludes it ("less than", "multiple per day"). Values in a
gap of the published table (a time to restore between one day and one week in 2019, a change failure rate
between 15% and 46%) fall to the next level that has room for them, which is Low. Where two levels share a
bound (2019's High and Medium time to restore and change failure rate) the better level takes the value. The
2023 change failure rates are cluster centres, used here as upper bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["LEVELS", "METRICS", "TABLES", "Level", "Metric", "Threshold", "classify"]

Level = Literal["Elite", "High", "Medium", "Low"]
LEVELS: tuple[Level, ...] = ("Elite", "High", "Medium", "Low")
Metric = Literal["deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"]
METRICS: tuple[Metric, ...] = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")

DAY_HOURS = 24.0
WEEK_HOURS = 7 * DAY_HOURS
MONTH_HOURS = 30.4375 * DAY_HOURS  # an average month (365.25 / 12 days)


@dataclass(frozen=True, slots=True)
class Threshold:
    """The bound a value must meet to reach `level`.

    Attributes:
        level: Elite, High or Medium (everything else is Low).
        bound: in the metric's unit (deployments per day, hours, or a fraction).
        inclusive: a value equal to the bound meets it.
        higher_is_better: True for deployment frequency (value >= / > bound), False otherwise (<= / <).
        text: the table's wording.
    """

    level: Level
    bound: float
    inclusive: bool
    higher_is_better: bool
    text: str

    def met(self, value: float) -> bool:
        """Does `value` reach this level?"""
        if self.higher_is_better:
            return value >= self.bound if self.inclusive else value > self.bound
        return value <= self.bound if self.inclusive else value < self.bound


def _df(elite: str) -> tuple[Threshold, ...]:
    return (
        Threshold("Elite", 1.0, False, True, elite),
        Threshold("High", 1 / 7, True, True, "between once per day and once per week"),
        Threshold("Medium", 12 / 365.25, True, True, "between once per week and once per month"),
    )


_LEAD = (
    Threshold("Elite", DAY_HOURS, False, False, "less than one day"),
    Threshold("High", WEEK_HOURS, True, False, "between one day and one week"),
    Threshold("Medium", MONTH_HOURS, True, False, "between one week and one month"),
)

TABLES: dict[str, dict[Metric, tuple[Threshold, ...]]] = {
    "2019": {
        "deployment_frequency": _df("on-demand (multiple deploys per day)"),
        "lead_time": _LEAD,
        "change_failure_rate": (
            Threshold("Elite", 0.15, True, False, "0-15%"),
            Threshold("High", 0.15, True, False, "0-15%"),
            Threshold("Medium", 0.15, True, False, "0-15%"),
        ),
        "time_to_restore": (
            Threshold("Elite", 1.0, False, False, "less than one hour"),
            Threshold("High", DAY_HOURS, False, False, "less than one day"),
            Threshold("Medium", DAY_HOURS, False, False, "less than one day"),
        ),
    },
    "2023": {
        "deployment_frequency": _df("on demand"),
        "lead_time": _LEAD,
        "change_failure_rate": (
            Threshold("Elite", 0.05, True, False, "5%"),
            Threshold("High", 0.10, True, False, "10%"),
            Threshold("Medium", 0.15, True, False, "15%"),
        ),
        "time_to_restore": (
            Threshold("Elite", 1.0, False, False, "less than one hour"),
            Threshold("High", DAY_HOURS, False, False, "less than one day"),
            Threshold("Medium", WEEK_HOURS, True, False, "between one day and one week"),
        ),
    },
}


def classify(table: str, metric: Metric, value: float) -> Level | None:
    """The level `value` of `metric` reaches in the `table` ("2019" or "2023"); None without a value (NaN)."""
    if math.isnan(value):
        return None
    for threshold in TABLES[table][metric]:
        if threshold.met(value):
            return threshold.level
    return "Low"
