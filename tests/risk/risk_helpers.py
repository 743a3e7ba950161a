"""Helpers for risk tests: scenarios built in code and scenario files written to a folder."""

from __future__ import annotations

from pathlib import Path

from seclo.risk.distributions import Frequency, Lognormal
from seclo.risk.scenario import Correlation, Scenario, Variant


def scenario(
    name: str = "s",
    rate: float = 2.0,
    meanlog: float = 10.0,
    sdlog: float = 1.0,
    *,
    treatments: tuple[Variant, ...] = (),
    correlation: Correlation | None = None,
    frequency: Frequency | None = None,
    category: str = "security",
) -> Scenario:
    """A scenario with a Poisson rate (or `frequency`) and a lognormal severity."""
    base = Variant("baseline", frequency or Frequency(rate), Lognormal(meanlog, sdlog))
    return Scenario(name, None, category, base, treatments, correlation)


def write(folder: Path, name: str, text: str) -> Path:
    """Write a scenario file into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
