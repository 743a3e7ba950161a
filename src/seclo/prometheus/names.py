"""The names and labels seclo's /metrics exporter writes and its generated Prometheus rules read.

Both sides import these constants, so a rule can never refer to a series the exporter does not write.

Labels of every per-objective series: `slo` (the SLO's metadata.name), `service` (spec.service) and
`objective` (the objective's index in spec.objectives, "0" for the first).

Series seclo serve exports for each objective whose SLI it evaluates from the store:

- events SLIs (logins, incidents, patch latency): the counters GOOD_EVENTS and EVENTS, the SLI's good and
  total events over the whole store up to the refresh (monotonic as data is imported). Rules take their
  `increase` over a window.
- snapshot SLIs (accounts, ports, open findings): the gauges GOOD_ITEMS and ITEMS, the latest snapshot's
  good and total items. Rules take `avg_over_time` over a window (item-time weighting, as the engine's
  Occurrences over snapshots).
- seclo's own evaluation: OBJECTIVE, PERIOD, ATTAINMENT, BUDGET_REMAINING, BURN_RATE (label `window`:
  5m ... 3d), ALERT_FIRING (labels `alert`, `severity`), STATE (label `state`, 1 for the current one).

Series seclo serve exports once, not per objective: the security SLIs themselves (MFA_COVERAGE,
ORPHANED_ACCOUNTS, PUBLIC_OPEN_PORTS with label `expected`, FINDINGS_PAST_SLA with label `severity`) and the
exporter's health (EXPORTER_LAST_REFRESH, EXPORTER_REFRESH_DURATION, EXPORTER_REFRESH_ERRORS,
EXPORTER_OBJECTIVE_ERRORS), and the Alertmanager inbox's (INBOX_REJECTED, INBOX_MERGE_ERRORS).

Recording rules `seclo slo rules` writes, per objective (same labels):

- ERROR_RATIO_RULE.format(window="5m") ... for every burn-rate window and for the period ("28d"): the
  error ratio (1 - good/total) over that window.
- OBJECTIVE_RULE, ERROR_BUDGET_RULE (1 - objective), PERIOD_RULE (seconds) and BUDGET_REMAINING_RULE
  (1 - error ratio over the period / error budget).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALERT_ABSENT",
    "ALERT_FIRING",
    "ALERT_PAGE",
    "ALERT_TICKET",
    "ATTAINMENT",
    "BUDGET_REMAINING",
    "BUDGET_REMAINING_RULE",
    "BURN_RATE",
    "ERROR_BUDGET_RULE",
    "ERROR_RATIO_RULE",
    "EVENTS",
    "EXPORTER_LAST_REFRESH",
    "EXPORTER_OBJECTIVE_ERRORS",
    "EXPORTER_REFRESH_DURATION",
    "EXPORTER_REFRESH_ERRORS",
    "FINDINGS_PAST_SLA",
    "GOOD_EVENTS",
    "GOOD_ITEMS",
    "INBOX_MERGE_ERRORS",
    "INBOX_REJECTED",
    "ITEMS",
    "LABELS",
    "MFA_COVERAGE",
    "OBJECTIVE",
    "OBJECTIVE_RULE",
    "ORPHANED_ACCOUNTS",
    "PERIOD",
    "PERIOD_RULE",
    "PUBLIC_OPEN_PORTS",
    "STATE",
]

LABELS: Final = ("slo", "service", "objective")

# Exported by `seclo serve` (names as exposed, counters with their _total suffix).
GOOD_EVENTS: Final = "seclo_sli_good_events_total"
EVENTS: Final = "seclo_sli_events_total"
GOOD_ITEMS: Final = "seclo_sli_good_items"
ITEMS: Final = "seclo_sli_items"
OBJECTIVE: Final = "seclo_slo_objective_ratio"
PERIOD: Final = "seclo_slo_period_seconds"
ATTAINMENT: Final = "seclo_slo_attainment_ratio"
BUDGET_REMAINING: Final = "seclo_slo_error_budget_remaining_ratio"
BURN_RATE: Final = "seclo_slo_burn_rate"
ALERT_FIRING: Final = "seclo_slo_alert_firing"
STATE: Final = "seclo_slo_state"

# Exported by `seclo serve` once (no per-objective labels): the security SLIs themselves, as of the latest
# inventory snapshot, and the exporter's own health.
MFA_COVERAGE: Final = "seclo_accounts_mfa_coverage_ratio"
ORPHANED_ACCOUNTS: Final = "seclo_accounts_orphaned"
PUBLIC_OPEN_PORTS: Final = "seclo_public_open_ports"
FINDINGS_PAST_SLA: Final = "seclo_findings_past_sla"
EXPORTER_LAST_REFRESH: Final = "seclo_exporter_last_refresh_timestamp_seconds"
EXPORTER_REFRESH_DURATION: Final = "seclo_exporter_refresh_duration_seconds"
EXPORTER_REFRESH_ERRORS: Final = "seclo_exporter_refresh_errors_total"
EXPORTER_OBJECTIVE_ERRORS: Final = "seclo_exporter_objective_errors"
INBOX_REJECTED: Final = "seclo_inbox_rejected_total"
INBOX_MERGE_ERRORS: Final = "seclo_inbox_merge_errors_total"

# Written by `seclo slo rules` (level:metric:operations, as Prometheus' naming advice has it).
ERROR_RATIO_RULE: Final = "slo:error_ratio:rate{window}"
OBJECTIVE_RULE: Final = "slo:objective:ratio"
ERROR_BUDGET_RULE: Final = "slo:error_budget:ratio"
PERIOD_RULE: Final = "slo:period:seconds"
BUDGET_REMAINING_RULE: Final = "slo:error_budget_remaining:ratio"
ALERT_PAGE: Final = "SecloSLOBurnRatePage"
ALERT_TICKET: Final = "SecloSLOBurnRateTicket"
ALERT_ABSENT: Final = "SecloSLODataAbsent"
