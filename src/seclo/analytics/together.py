"""Delivery next to security, per team: the case that "security is contained in general performance".

Per team: DORA (from deployments.team), flaw half-life (Kaplan-Meier median of the team's findings, the team
being the asset's latest owner), the share of decided findings fixed within SLA, and the median time to detect
and to repair security incidents of the team's services (a service belongs to the team that deploys it most).

Either side may be missing: without production deployments in the window every team still gets its security
figures, with NaN delivery figures (null in JSON) and NaN incident times (a service's team is known only from
its deployments); without findings, the teams that deploy get NaN security figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from seclo.analytics.dora import SERVICE_OWNER_SQL, DoraFigures, analyze_dora
from seclo.analytics.interface import Window
from seclo.analytics.persistence import analyze_persistence
from seclo.analytics.sla import counted_findings_sql
from seclo.errors import InputError
from seclo.store import Store
from seclo.workspace import SlaDays

__all__ = ["TeamPerformance", "analyze_together"]

NAN = float("nan")


@dataclass(frozen=True, slots=True)
class TeamPerformance:
    """One team's delivery and security figures (NaN where the team has no data)."""

    team: str
    deployment_frequency: float
    lead_time_hours: float
    change_failure_rate: float
    time_to_restore_hours: float
    flaw_half_life_days: float
    within_sla_share: float
    security_ttd_hours: float
    security_ttr_hours: float


def _sla_by_team(store: Store, sla_days: SlaDays, window: Window) -> dict[str, float]:
    rows = store.conn.execute(
        f"""WITH f AS ({counted_findings_sql(sla_days)}),
teams AS (SELECT asset_id, arg_max(team, snapshot_time) AS team FROM assets WHERE snapshot_time <= $at
          GROUP BY asset_id)
SELECT t.team,
       count(*) FILTER (WHERE closed <= deadline)
       / nullif(count(*) FILTER (WHERE closed <= deadline OR closed > deadline
                                 OR (closed IS NULL AND deadline < $at)), 0)
FROM f JOIN teams AS t USING (asset_id) WHERE t.team IS NOT NULL GROUP BY t.team""",
        {"at": window.at},
    ).fetchall()
    return {r[0]: NAN if r[1] is None else float(r[1]) for r in rows}


def _security_incidents_by_team(store: Store, window: Window) -> dict[str, tuple[float, float]]:
    rows = store.conn.execute(
        f"""WITH owner AS ({SERVICE_OWNER_SQL})
SELECT o.team,
       median((epoch_us(i.detected_at) - epoch_us(i.occurred_at)) / 3600e6) FILTER (WHERE i.detected_at <= $at),
       median((epoch_us(i.resolved_at) - epoch_us(i.detected_at)) / 3600e6) FILTER (WHERE i.resolved_at <= $at)
FROM incidents AS i JOIN owner AS o USING (service)
WHERE i.kind = 'security' AND i.occurred_at >= $since AND i.occurred_at < $at AND o.team IS NOT NULL
GROUP BY o.team""",
        {"since": window.since, "at": window.at},
    ).fetchall()
    return {r[0]: (NAN if r[1] is None else r[1], NAN if r[2] is None else r[2]) for r in rows}


def _dora_by_team(store: Store, window: Window) -> dict[str, DoraFigures]:
    try:
        return {f.key: f for f in analyze_dora(store, window).by("team")}
    except InputError:  # no production deployment in the window: no delivery figures, not an error here
        return {}


def _half_life_by_team(store: Store, window: Window) -> dict[str, float]:
    try:
        return {c.group: c.half_life for c in analyze_persistence(store, window.at).by("team")}
    except InputError:  # no finding opened by window.at: no flaw half-life
        return {}


def analyze_together(
    store: Store, window: Window, sla_days: SlaDays | None = None
) -> tuple[TeamPerformance, ...]:
    """Every team that deploys or owns assets, with its delivery and security figures side by side."""
    dora = _dora_by_team(store, window)
    half_life = _half_life_by_team(store, window)
    sla = _sla_by_team(store, sla_days or SlaDays(), window)
    incidents = _security_incidents_by_team(store, window)
    teams = sorted((set(dora) | set(half_life)) - {"(unknown)"})
    out = []
    for team in teams:
        d = dora.get(team)
        out.append(
            TeamPerformance(
                team=team,
                deployment_frequency=NAN if d is None else d.deployment_frequency,
                lead_time_hours=NAN if d is None else d.lead_time_hours,
                change_failure_rate=NAN if d is None else d.change_failure_rate,
                time_to_restore_hours=NAN if d is None else d.time_to_restore_hours,
                flaw_half_life_days=half_life.get(team, NAN),
                within_sla_share=sla.get(team, NAN),
                security_ttd_hours=incidents.get(team, (NAN, NAN))[0],
                security_ttr_hours=incidents.get(team, (NAN, NAN))[1],
            )
        )
    return tuple(out)


def has_value(value: float) -> bool:
    """False for NaN and inf (no data, or never reached)."""
    return not (math.isnan(value) or math.isinf(value))
