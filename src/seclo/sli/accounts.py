"""Account inventory SLIs over accounts snapshots: MFA coverage and orphaned accounts."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from seclo.sli.interface import Indicator, IndicatorParams, SliKind
from seclo.sli.slicing import in_list, in_window, latest_snapshot_per_slice, narrow

__all__ = ["MfaCoverage", "MfaCoverageParams", "OrphanedAccounts", "OrphanedAccountsParams"]

AccountType = Literal["human", "service", "admin", "shared", "other"]
PERSONAL: list[AccountType] = ["human", "admin"]


def _enabled_accounts(types: list[AccountType] | None) -> str:
    where = f"{in_window('snapshot_time')} AND disabled IS NOT TRUE"
    if types is not None:
        where += f" AND {in_list('type', types)}" if types else " AND false"
    return where


class MfaCoverageParams(IndicatorParams):
    """Parameters of `mfa_coverage`."""

    types: list[AccountType] | None = Field(
        default=PERSONAL, description="Account types counted; null counts every type."
    )


class MfaCoverage(Indicator):
    """Share of enabled accounts with a second factor enrolled, at each accounts snapshot.

    Items are the distinct account_id of each snapshot that are not disabled and whose type is in `types`;
    good = those with mfa_enabled true (unknown counts as not enrolled).
    """

    name: ClassVar[str] = "mfa_coverage"
    summary: ClassVar[str] = "Share of enabled accounts with MFA enrolled, per accounts snapshot."
    kind: ClassVar[SliKind] = "snapshot"
    params: ClassVar[type[IndicatorParams]] = MfaCoverageParams

    def sql(self, params: IndicatorParams) -> str:
        """Count enrolled and enabled accounts per snapshot."""
        p = narrow(params, MfaCoverageParams)
        return latest_snapshot_per_slice(f"""  SELECT snapshot_time,
         count(DISTINCT account_id) FILTER (WHERE mfa_enabled) AS good,
         count(DISTINCT account_id) AS total
  FROM accounts
  WHERE {_enabled_accounts(p.types)}
  GROUP BY snapshot_time""")


class OrphanedAccountsParams(IndicatorParams):
    """Parameters of `orphaned_accounts`."""

    stale_days: int = Field(
        default=90,
        ge=1,
        description="An account with no login for this many days before the snapshot is orphaned.",
    )
    types: list[AccountType] | None = Field(
        default=None, description="Account types counted; null (the default) counts every type."
    )


class OrphanedAccounts(Indicator):
    """Share of enabled accounts that are not orphaned, at each accounts snapshot.

    An account is orphaned when its owner has left (owner_active false) or its last login is more than
    `stale_days` days before the snapshot, or it has no recorded login. Items are the distinct enabled
    (not disabled) account_id of each snapshot; good = those not orphaned.
    """

    name: ClassVar[str] = "orphaned_accounts"
    summary: ClassVar[str] = (
        "Share of enabled accounts with an active owner and a recent login, per snapshot."
    )
    kind: ClassVar[SliKind] = "snapshot"
    params: ClassVar[type[IndicatorParams]] = OrphanedAccountsParams

    def sql(self, params: IndicatorParams) -> str:
        """Count enabled accounts and those neither ownerless nor stale per snapshot."""
        p = narrow(params, OrphanedAccountsParams)
        return latest_snapshot_per_slice(f"""  SELECT snapshot_time,
         count(DISTINCT account_id) FILTER (
           WHERE owner_active IS NOT FALSE
             AND last_login >= snapshot_time - to_days({p.stale_days})
         ) AS good,
         count(DISTINCT account_id) AS total
  FROM accounts
  WHERE {_enabled_accounts(p.types)}
  GROUP BY snapshot_time""")
