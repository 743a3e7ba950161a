"""Authentication SLIs over auth_events: login success rate and brute-force pressure."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from seclo.sli.interface import Indicator, IndicatorParams, SliKind
from seclo.sli.slicing import in_list, in_window, narrow, slice_number, slice_start

__all__ = ["BruteForceParams", "BruteForcePressure", "LoginSuccess", "LoginSuccessParams"]


class LoginSuccessParams(IndicatorParams):
    """Parameters of `login_success`."""

    services: list[str] | None = Field(
        default=None, description="Only attempts on these services (sshd, vpn, sso...); all when omitted."
    )
    exclude_sources: list[str] = Field(
        default_factory=list,
        description="Source addresses (src_ip) to leave out, such as scanners or health checks.",
    )


def _filters(services: list[str] | None, exclude_sources: list[str]) -> str:
    where = ""
    if services is not None:
        where += f"\n  AND {in_list('service', services)}" if services else "\n  AND false"
    if exclude_sources:
        where += f"\n  AND (src_ip IS NULL OR NOT {in_list('src_ip', exclude_sources)})"
    return where


class LoginSuccess(Indicator):
    """Share of authentication attempts that succeed.

    Each auth_events row is one event at its `time`; good = outcome `success`, total = every attempt. The login
    failure rate is 1 minus this ratio.
    """

    name: ClassVar[str] = "login_success"
    summary: ClassVar[str] = "Share of authentication attempts that succeed."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = LoginSuccessParams

    def sql(self, params: IndicatorParams) -> str:
        """Count successes and attempts per slice."""
        p = narrow(params, LoginSuccessParams)
        return f"""WITH per_slice AS (
  SELECT {slice_number("time")} AS slice,
         count_if(outcome = 'success') AS good,
         count(*) AS total
  FROM auth_events
  WHERE {in_window("time")}{_filters(p.services, p.exclude_sources)}
  GROUP BY slice
)
SELECT {slice_start("slice")} AS slice_start, good::DOUBLE AS good, total::DOUBLE AS total
FROM per_slice"""


class BruteForceParams(IndicatorParams):
    """Parameters of `brute_force_pressure`."""

    threshold: int = Field(
        default=10,
        ge=1,
        description="Failures from one source address within one slice that count as an attack.",
    )
    services: list[str] | None = Field(
        default=None, description="Only attempts on these services; all when omitted."
    )
    exclude_sources: list[str] = Field(
        default_factory=list, description="Source addresses (src_ip) to leave out."
    )


class BruteForcePressure(Indicator):
    """Share of source addresses with failed logins that stay below the brute-force threshold.

    Per slice, every source address (src_ip) with at least one failed attempt in the slice is one item;
    good = addresses with fewer than `threshold` failures in that slice, total = addresses with any failure.
    Attempts without a source address are left out. The threshold is per slice, so choose it with the step.
    """

    name: ClassVar[str] = "brute_force_pressure"
    summary: ClassVar[str] = "Share of failing source addresses below the brute-force threshold per slice."
    kind: ClassVar[SliKind] = "events"
    params: ClassVar[type[IndicatorParams]] = BruteForceParams

    def sql(self, params: IndicatorParams) -> str:
        """Count failures per source per slice, then sources under and over the threshold."""
        p = narrow(params, BruteForceParams)
        return f"""WITH per_source AS (
  SELECT {slice_number("time")} AS slice, src_ip, count(*) AS failures
  FROM auth_events
  WHERE {in_window("time")} AND outcome = 'failure' AND src_ip IS NOT NULL{_filters(p.services, p.exclude_sources)}
  GROUP BY slice, src_ip
)
SELECT {slice_start("slice")} AS slice_start,
       count_if(failures < {p.threshold})::DOUBLE AS good,
       count(*)::DOUBLE AS total
FROM per_source
GROUP BY slice"""
