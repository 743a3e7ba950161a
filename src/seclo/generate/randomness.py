"""Independent random streams, one per table, and the distributions the generators share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["STREAMS", "Streams", "lognormal", "poisson_times"]

# One child SeedSequence per name, in this order. Append new names at the end: a child's seed depends only on
# its index, so adding a stream, or changing how much one table draws, leaves every other table unchanged.
STREAMS = ("people", "assets", "ports", "auth", "scenario", "findings", "deployments", "incidents")


@dataclass(frozen=True, slots=True)
class Streams:
    """The random streams derived from one seed."""

    seed: int

    def rng(self, name: str) -> np.random.Generator:
        """A fresh generator for the stream `name` (the same draws every time it is asked for)."""
        child = np.random.SeedSequence(self.seed).spawn(len(STREAMS))[STREAMS.index(name)]
        return np.random.Generator(np.random.SFC64(child))  # SFC64: the fastest of numpy's bit generators


def lognormal(
    rng: np.random.Generator,
    median: float | npt.NDArray[np.float64],
    sigma: float | npt.NDArray[np.float64],
    size: int,
) -> npt.NDArray[np.float64]:
    """Lognormal draws given by their median (exp(mu)) and the sigma of their logarithm."""
    return np.asarray(median * np.exp(sigma * rng.standard_normal(size)), dtype=np.float64)


def poisson_times(
    rng: np.random.Generator, per_day: float, start_us: int, end_us: int
) -> npt.NDArray[np.int64]:
    """Sorted times of a homogeneous Poisson process with `per_day` events a day over [start, end)."""
    days = (end_us - start_us) / 86_400_000_000
    count = int(rng.poisson(per_day * days))
    return np.sort(rng.integers(start_us, end_us, size=count, dtype=np.int64))
