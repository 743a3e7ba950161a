"""Vulnerability SLIs over findings: endpoints without open vulnerabilities, known exploited ones, patch latency.

A finding is open at time T when opened_at <= T < closed_at (or it has no closed_at); a reopened finding is open
whatever closed_at says (seclo.sli.slicing.REOPENED_RULE). Findings marked false_positive or accepted are never
counted.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from seclo.sli.interface import Indicator, IndicatorParams, SliKind
from seclo.sli.slicing import (
    FINDING_NOT_COUNTED,
    by_deadline,
    finding_closed_at,
    in_list,
    in_window,
    latest_snapshot_per_slice,
    narrow,
)

__all__ = [
    "EndpointsWithoutVulnerabilities",
    "EndpointsWithoutVulnerabilitiesParams",
    "KnownExploitedOpen",
    "KnownExploitedOpenParams",
    "PatchLatency",
    "PatchLatencyParams",
    "SlaDays",
]

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
Exposure = Literal["public", "internal"]


def _assets_without(finding_condition: str, exposure: Exposure | None) -> str:
    """Per assets snapshot: assets with no open finding matching `finding_condition` (good) and all assets."""
    where = in_window("snapshot_time") + (f" AND exposure = '{exposure}'" if exposure else "")
    return latest_snapshot_per_slice(f"""  WITH snapshot AS (
    SELECT DISTINCT snapshot_time, asset_id FROM assets WHERE {where}
  ),
  affected AS (
    SELECT DISTINCT s.snapshot_time, s.asset_id
    FROM snapshot AS s
    JOIN findings AS f
      ON f.asset_id = s.asset_id
     AND f.opened_at <= s.snapshot_time
     AND coalesce({finding_closed_at("f")} > s.snapshot_time, true)
    WHERE f.status NOT IN {FINDING_NOT_COUNTED} AND ({finding_condition})
  )
  SELECT s.snapshot_time,
         count(*) FILTER (WHERE a.asset_id IS NULL) AS good,
         count(*) AS total
  FROM snapshot AS s
  LEFT JOIN affected AS a ON a.snapshot_time = s.snapshot_time AND a.asset_id = s.asset_id
  GROUP BY s.snapshot_time""")


class EndpointsWithoutVulnerabilitiesParams(IndicatorParams):
    """Parameters of `endpoints_without_vulnerabilities`."""

    min_severity: Severity = Field(
        default="critical", description="Open findings of this severity or worse make an asset bad."
    )
    exposure: Exposure | None = Field(
        default=None, description="Only public or internal assets; all when null."
    )


class EndpointsWithoutVulnerabilities(Indicator):
    """Share of assets with no open finding of `min_severity` or worse, at each assets snapshot.

    Items are the distinct asset_id of each assets snapshot (optionally only one exposure); good = those
    with no finding open at the snapshot time whose severity is `min_severity` or worse (severities none and
    unknown never count).
    """

    name: ClassVar[str] = "endpoints_without_vulnerabilities"
    summary: ClassVar[str] = (
        "Share of assets without an open finding of a given severity or worse, per snapshot."
    )
    kind: ClassVar[SliKind] = "snapshot"
    params: ClassVar[type[IndicatorParams]] = EndpointsWithoutVulnerabilitiesParams

    def sql(self, params: IndicatorParams) -> str:
        """Count assets and those without a matching open finding per snapshot."""
        p = narrow(params, EndpointsWithoutVulnerabilitiesParams)
        worse = SEVERITIES[: SEVERITIES.index(p.min_severity) + 1]
        return _assets_without(in_list("f.severity", worse), p.exposure)


class KnownExploitedOpenParams(IndicatorParams):
    """Parameters of `known_exploited_open`."""

    exposure: Exposure | None = Field(
        default=None, description="Only public or internal assets; all when null."
    )


class KnownExploitedOpen(Indicator):
    """Share of assets with no open known exploited vulnerability (CISA KEV), at each assets snapshot.

    Items are the distinct asset_id of each assets snapshot; good = those with no finding open at the
    snapshot time whose known_exploited is true.
    """

    name: ClassVar[str] = "known_exploited_open"
    summary: ClassVar[str] = "Share of assets without an open known exploited vulnerability, per snapshot."
    kind: ClassVar[SliKind] = "snapshot"
    params: ClassVar[type[IndicatorParams]] = KnownExploitedOpenParams

    def sql(self, params: IndicatorParams) -> str:
        """Count assets and those without an open known exploited finding per snapshot."""
        p = narrow(params, KnownExploitedOpenParams)
        return _assets_without("f.known_exploited", p.exposure)


class SlaDays(BaseModel):
    """Days allowed to fix a finding, per severity (DefectDojo's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    critical: int = Field(default=7, ge=1)
    high: int = Field(default=30, ge=1)
    medium: int = Field(default=90, ge=1)
    low: int = Field(default=120, ge=1)


class PatchLatencyParams(IndicatorParams):
    """Parameters of `patch_latency`."""

    sla_days: SlaDays = Field(default_factory=SlaDays, description="Days to fix, per severity.")
    severities: list[Severity] = Field(
        default=list(SEVERITIES), description="Severities counted (none and unknown have no SLA)."
    )


class PatchLatency(Indicator):
    """Share of findings fixed within their severity's SLA.

    Each finding of a counted severity is one event, at deadline = opened_at + sla_days[severity] or at
    closed_at, whichever comes first. good = closed_at <= deadline (fixed in time, counted when it closed);
    bad = not closed by the deadline (counted at the deadline, so an open finding turns bad as soon as its
    SLA passes, and a finding still inside its SLA is not counted yet). A reopened finding is open: its
    clock does not restart (seclo.sli.slicing.REOPENED_RULE, the rule `seclo analyze sla` applies too).
    """

    name: ClassVar[str] = "patch_latency"
    summary: ClassVar[str] = "Share of findings closed within the SLA days for their severity."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = PatchLatencyParams

    def sql(self, params: IndicatorParams) -> str:
        """Place each finding at its close or SLA deadline, and count those closed in time per slice."""
        p = narrow(params, PatchLatencyParams)
        sla = ", ".join(f"('{s}', {getattr(p.sla_days, s)})" for s in SEVERITIES if s in p.severities)
        if not sla:
            sla = "(NULL, NULL)"
        return f"""WITH sla(severity, days) AS (VALUES {sla}),
deadlines AS (
  SELECT {finding_closed_at("f")} AS closed_at, f.opened_at + to_days(sla.days) AS deadline
  FROM findings AS f
  JOIN sla ON f.severity = sla.severity
  WHERE f.status NOT IN {FINDING_NOT_COUNTED}
),
{by_deadline("deadlines", "closed_at", "deadline")}"""
