"""Network exposure SLIs over ports and assets snapshots: unexpected public ports."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator

from seclo.sli.interface import Indicator, IndicatorParams, SliKind
from seclo.sli.slicing import in_list, in_window, latest_snapshot_per_slice, narrow

__all__ = ["UnexpectedPublicPorts", "UnexpectedPublicPortsParams"]

PORT_PATTERN = r"^[0-9]{1,5}/(tcp|udp|sctp|ip)$"


class UnexpectedPublicPortsParams(IndicatorParams):
    """Parameters of `unexpected_public_ports`."""

    allowed: list[str] = Field(
        default=["443/tcp", "80/tcp"],
        description='Ports expected on public assets, as "port/protocol".',
    )

    @field_validator("allowed")
    @classmethod
    def _port_protocol(cls, allowed: list[str]) -> list[str]:
        """Reject an allowed port not written as "port/protocol"."""
        for entry in allowed:
            if not re.fullmatch(PORT_PATTERN, entry):
                raise ValueError(f'allowed port {entry!r} is not "port/protocol" such as "443/tcp"')
        return allowed


class UnexpectedPublicPorts(Indicator):
    """Share of open ports on public assets that are in the allowed list, at each ports snapshot.

    Items are the distinct (asset_id, port, protocol) with state `open` in a ports snapshot whose asset was
    `public` in the latest assets snapshot at or before the ports snapshot (ports of assets never inventoried
    are left out); good = those whose "port/protocol" is in `allowed`.
    """

    name: ClassVar[str] = "unexpected_public_ports"
    summary: ClassVar[str] = "Share of open ports on public assets that are expected, per ports snapshot."
    kind: ClassVar[SliKind] = "snapshot"
    params: ClassVar[type[IndicatorParams]] = UnexpectedPublicPortsParams

    def sql(self, params: IndicatorParams) -> str:
        """Join each open port to its asset's exposure and count allowed ones per snapshot."""
        p = narrow(params, UnexpectedPublicPortsParams)
        allowed = in_list("(port::VARCHAR || '/' || protocol)", p.allowed) if p.allowed else "false"
        return latest_snapshot_per_slice(f"""  WITH open_ports AS (
    SELECT DISTINCT snapshot_time, asset_id, port, protocol
    FROM ports
    WHERE {in_window("snapshot_time")} AND state = 'open'
  ),
  exposure AS (
    SELECT asset_id, snapshot_time, bool_or(exposure = 'public') AS public
    FROM assets
    WHERE snapshot_time < $end
    GROUP BY asset_id, snapshot_time
  ),
  public_ports AS (
    SELECT o.snapshot_time, o.port, o.protocol
    FROM open_ports AS o
    ASOF JOIN exposure AS e ON o.asset_id = e.asset_id AND o.snapshot_time >= e.snapshot_time
    WHERE e.public
  )
  SELECT snapshot_time,
         count(*) FILTER (WHERE {allowed}) AS good,
         count(*) AS total
  FROM public_ports
  GROUP BY snapshot_time""")
