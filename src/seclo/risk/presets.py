"""Scenario presets from the literature; sources and caveats are in docs/risk-model.md.

A scenario file names a preset with `spec.preset` and may override any part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True, slots=True)
class Preset:
    """A frequency (events per year) and a lognormal severity, with where they come from.

    Attributes:
        cost_per_unit: when set, severity is in `unit` (hours of outage) and each unit costs this much; None
            means the preset's severity is money already.
    """

    name: str
    category: Literal["security", "outage", "other"]
    rate: float
    meanlog: float
    sdlog: float
    unit: str
    source: str
    cost_per_unit: float | None = None


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        # Cyentia IRIS 2022: breach losses fitted by a lognormal (meanlog 12.55949, sdlog 3.068723: a median of
        # about $285k and a very heavy tail); an annual breach probability of about 13% for a typical firm.
        Preset(
            "iris-2022-breach",
            "security",
            rate=0.138,
            meanlog=12.55949,
            sdlog=3.068723,
            unit="money",
            source="Cyentia Institute, Information Risk Insights Study (IRIS) 2022",
        ),
        # The same losses for the largest firms: IRIS 20/20 estimates one in four Fortune 1000 firms has a loss
        # event in a year, a rate of -ln(1 - 0.25) = 0.288.
        Preset(
            "iris-2022-breach-large",
            "security",
            rate=0.2877,
            meanlog=12.55949,
            sdlog=3.068723,
            unit="money",
            source="Cyentia IRIS 2022 losses; IRIS 20/20 frequency for the Fortune 1000",
        ),
        # Outages: duration lognormal(0.1, 1.7) hours, times a cost per hour. The rate and the cost per hour
        # are the organisation's own; these defaults are illustrative, to be replaced.
        Preset(
            "outage",
            "outage",
            rate=10.0,
            meanlog=0.1,
            sdlog=1.7,
            unit="hours",
            source="Outage duration lognormal(0.1, 1.7) hours (issue 6); rate and cost per hour illustrative",
            cost_per_unit=100_000.0,
        ),
    )
}
