"""Incident response SLIs over incidents: time to detect, acknowledge and resolve, against a target.

The SRE way to turn a mean time (MTTD, MTTA, MTTR) into an SLI is the share of incidents handled within a
target. Each incident is one event at the end of its delay or at its deadline (start + target), whichever
comes first: good = the delay ended within the target; an incident not handled by its deadline is counted bad
at the deadline, so a slow, still unresolved incident burns budget as soon as it misses the target.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from seclo.sli.interface import Indicator, IndicatorParams, SliKind
from seclo.sli.slicing import by_deadline, in_list, narrow

__all__ = [
    "IncidentDelayParams",
    "TimeToAcknowledge",
    "TimeToAcknowledgeParams",
    "TimeToDetect",
    "TimeToDetectParams",
    "TimeToResolve",
    "TimeToResolveParams",
    "parse_duration",
]

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNIT_SECONDS = (604_800, 86_400, 3_600, 60, 1)


_LONGEST_SECONDS = 36500 * 86400


def parse_duration(text: str) -> timedelta:
    """A positive duration written as Prometheus does, units in order: "30m", "4h", "1d12h", "2w".

    Raises:
        ValueError: the text is not such a duration, is zero, or is longer than 100 years.
    """
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f'{text!r} is not a duration such as "30m", "4h" or "1d12h" (units w, d, h, m, s)')
    seconds = sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if n)
    if seconds == 0:
        raise ValueError(f"the duration {text!r} must be longer than zero")
    if (
        seconds > _LONGEST_SECONDS
    ):  # timedelta itself overflows past 999999999 days: say so, not OverflowError
        raise ValueError(f"the duration {text!r} is longer than 36500d (100 years)")
    return timedelta(seconds=seconds)


IncidentSeverity = Literal["critical", "high", "medium", "low", "none", "unknown"]


class IncidentDelayParams(IndicatorParams):
    """Parameters of the incident time SLIs."""

    target: str = Field(description='Longest acceptable delay, such as "30m", "4h" or "1d".')
    kind: Literal["security", "outage"] = Field(default="security", description="Kind of incident counted.")
    severities: list[IncidentSeverity] | None = Field(
        default=None, description="Only incidents of these severities; all when null."
    )

    @field_validator("target")
    @classmethod
    def _duration(cls, target: str) -> str:
        parse_duration(target)
        return target


class _IncidentDelay(Indicator):
    """Share of incidents whose delay from `began` to `ended` is within the target."""

    kind: ClassVar[SliKind] = "events"
    began: ClassVar[str]
    ended: ClassVar[str]

    def _began(self, params: IncidentDelayParams) -> str:
        return self.began

    def sql(self, params: IndicatorParams) -> str:
        """Place each incident at the end of its delay or its deadline, and count those within target."""
        p = narrow(params, IncidentDelayParams)
        began = self._began(p)
        seconds = int(parse_duration(p.target).total_seconds())
        where = f"kind = '{p.kind}' AND {began} IS NOT NULL"
        if p.severities is not None:
            where += f" AND {in_list('severity', p.severities)}" if p.severities else " AND false"
        return f"""WITH delays AS (
  SELECT {self.ended} AS ended, {began} + to_seconds({seconds}) AS deadline
  FROM incidents
  WHERE {where}
),
{by_deadline("delays", "ended", "deadline")}"""


class TimeToDetectParams(IncidentDelayParams):
    """Parameters of `time_to_detect`."""

    target: str = Field(default="1d", description='Longest acceptable delay, such as "30m", "4h" or "1d".')


class TimeToDetect(_IncidentDelay):
    """Share of incidents detected within the target after they occurred (MTTD as an SLI).

    Delay = detected_at - occurred_at; event at detected_at, or at occurred_at + target if not detected by then.
    """

    name: ClassVar[str] = "time_to_detect"
    summary: ClassVar[str] = "Share of incidents detected within a target time after they occurred."
    params: ClassVar[type[IndicatorParams]] = TimeToDetectParams
    began: ClassVar[str] = "occurred_at"
    ended: ClassVar[str] = "detected_at"


class TimeToAcknowledgeParams(IncidentDelayParams):
    """Parameters of `time_to_acknowledge`."""

    target: str = Field(default="1h", description='Longest acceptable delay, such as "30m", "4h" or "1d".')


class TimeToAcknowledge(_IncidentDelay):
    """Share of incidents acknowledged within the target after detection (MTTA as an SLI).

    Delay = acknowledged_at - detected_at; event at acknowledged_at, or at detected_at + target if not
    acknowledged by then. Incidents never detected are not counted.
    """

    name: ClassVar[str] = "time_to_acknowledge"
    summary: ClassVar[str] = "Share of incidents acknowledged within a target time after detection."
    params: ClassVar[type[IndicatorParams]] = TimeToAcknowledgeParams
    began: ClassVar[str] = "detected_at"
    ended: ClassVar[str] = "acknowledged_at"


class TimeToResolveParams(IncidentDelayParams):
    """Parameters of `time_to_resolve`."""

    target: str = Field(default="7d", description='Longest acceptable delay, such as "4h" or "3d".')
    measured_from: Literal["detected_at", "occurred_at"] = Field(
        default="detected_at",
        description="Start of the delay: detection (as fourkeys' time to restore) or occurrence.",
    )


class TimeToResolve(_IncidentDelay):
    """Share of incidents resolved within the target (MTTR as an SLI).

    Delay = resolved_at - detected_at (or - occurred_at with measured_from); event at resolved_at, or at the
    start + target if not resolved by then.
    """

    name: ClassVar[str] = "time_to_resolve"
    summary: ClassVar[str] = "Share of incidents resolved within a target time after detection."
    params: ClassVar[type[IndicatorParams]] = TimeToResolveParams
    began: ClassVar[str] = "detected_at"
    ended: ClassVar[str] = "resolved_at"

    def _began(self, params: IncidentDelayParams) -> str:
        return narrow(params, TimeToResolveParams).measured_from
