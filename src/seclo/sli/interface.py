"""The SLI interface: an indicator turns the store into good and total counts per timeslice.

Heavy work (scanning events) is one aggregate query in the engine; what comes back is a short regular series
that the SLO engine (seclo.slo) handles with numpy. See docs/sli-catalog.md for the built-in indicators.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import duckdb
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

__all__ = ["Indicator", "IndicatorParams", "SliKind", "SliSeries", "Window"]

SliKind = Literal["events", "snapshot"]


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open interval [start, end) of UTC times an indicator is evaluated over, cut into slices.

    `start` is aligned to `step` (a multiple of the step since the Unix epoch), so slices from different
    evaluations line up.
    """

    start: datetime
    end: datetime
    step: timedelta

    @property
    def slices(self) -> int:
        """Number of slices: ceil((end - start) / step)."""
        return -(-(self.end - self.start) // self.step)


@dataclass(frozen=True, slots=True)
class SliSeries:
    """Good and total per timeslice of a window.

    Attributes:
        window: the window and its slicing; good[i] and total[i] cover [start + i*step, start + (i+1)*step).
        good: good events (or items) per slice, float64, 0 <= good <= total.
        total: all events (or items) per slice, float64.
        kind: "events" — counts add up over slices (logins); "snapshot" — a slice holding an inventory
            snapshot carries that snapshot's counts and the others carry 0 total; the state between two
            snapshots is the earlier snapshot's (accounts, ports, open findings).
    """

    window: Window
    good: npt.NDArray[np.float64]
    total: npt.NDArray[np.float64]
    kind: SliKind = "events"


class IndicatorParams(BaseModel):
    """Base of an indicator's parameters as written in an SLO file; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Indicator(ABC):
    """A built-in or user SLI over the store.

    Class attributes:
        name: the catalog name used in OpenSLO files (metricSource type `seclo`, spec.indicator).
        summary: one line for docs/sli-catalog.md.
        kind: whether counts are events or inventory snapshots.
        params: the pydantic model of its parameters.
        example: parameters for the documentation's example SQL (the defaults when empty).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    kind: ClassVar[SliKind]
    params: ClassVar[type[IndicatorParams]] = IndicatorParams
    example: ClassVar[dict[str, Any]] = {}

    @abstractmethod
    def sql(self, params: IndicatorParams) -> str:
        """A query over the store with `$start`, `$end` (TIMESTAMP) and `$step` (INTERVAL) parameters,
        returning rows (slice_start TIMESTAMP, good DOUBLE, total DOUBLE): one per slice that has data,
        slice_start aligned with time_bucket($step, t, TIMESTAMP '1970-01-01')."""

    def evaluate(self, conn: duckdb.DuckDBPyConnection, params: IndicatorParams, window: Window) -> SliSeries:
        """Run the query and spread its rows onto the window's slices (empty slices are 0/0)."""
        rows = conn.execute(
            self.sql(params), {"start": window.start, "end": window.end, "step": window.step}
        ).fetchnumpy()
        n = window.slices
        good = np.zeros(n, dtype=np.float64)
        total = np.zeros(n, dtype=np.float64)
        if len(rows["slice_start"]):
            starts = rows["slice_start"].astype("datetime64[us]")
            origin = np.datetime64(window.start.replace(tzinfo=None), "us")
            index = ((starts - origin) // np.timedelta64(window.step)).astype(np.int64)
            keep = (index >= 0) & (index < n)
            np.add.at(good, index[keep], rows["good"][keep].astype(np.float64))
            np.add.at(total, index[keep], rows["total"][keep].astype(np.float64))
        return SliSeries(window, good, total, self.kind)
