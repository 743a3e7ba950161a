"""The headline events of the period, which several tables agree on.

About a day before the end a large brute-force attack hits SSO from one address, and in the last hours an SSO
degradation makes a large share of all logins fail; it is still going on when the data ends. Both burn a 99 %
login-success objective fast enough for the page-level burn-rate alerts, and the degradation is what a
demo sees firing "now".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seclo.generate.period import US_PER_HOUR, US_PER_MINUTE, Period

__all__ = [
    "ATTACK_HOURS_BEFORE_END",
    "ATTACK_INTENSITY",
    "ATTACK_MINUTES",
    "DEGRADATION_FAILURE_RATE",
    "DEGRADATION_HOURS_BEFORE_END",
    "DEGRADATION_RETRY_FACTOR",
    "Scenario",
    "Window",
    "plan_scenario",
]

ATTACK_HOURS_BEFORE_END = (26.0, 34.0)  # the attack starts uniformly in this range before the end
ATTACK_MINUTES = (60.0, 100.0)  # and lasts this long
ATTACK_INTENSITY = 3.0  # attempts per minute, in multiples of the period's mean minute of ordinary logins
DEGRADATION_HOURS_BEFORE_END = (2.5, 4.0)  # the degradation starts this long before the end and lasts to it
DEGRADATION_FAILURE_RATE = 0.30  # share of ordinary logins failing meanwhile
DEGRADATION_RETRY_FACTOR = 1.3  # people retry, so the volume rises too


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time interval in microseconds since the epoch."""

    start_us: int
    end_us: int


@dataclass(frozen=True, slots=True)
class Scenario:
    """When the headline attack and the final degradation happen."""

    attack: Window
    degradation: Window


def plan_scenario(rng: np.random.Generator, period: Period) -> Scenario:
    """Place the attack and the degradation near the end of `period` (scaled down for very short periods)."""
    hours = (period.end_us - period.start_us) / US_PER_HOUR
    scale = min(1.0, 0.8 * hours / ATTACK_HOURS_BEFORE_END[1])
    before = rng.uniform(*ATTACK_HOURS_BEFORE_END) * scale
    attack_start = period.end_us - round(before * US_PER_HOUR)
    attack_end = attack_start + round(rng.uniform(*ATTACK_MINUTES) * scale * US_PER_MINUTE)
    degradation = period.end_us - round(rng.uniform(*DEGRADATION_HOURS_BEFORE_END) * scale * US_PER_HOUR)
    return Scenario(Window(attack_start, attack_end), Window(max(degradation, attack_end), period.end_us))
