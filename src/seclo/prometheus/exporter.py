"""The /metrics exposition: seclo's figures written with prometheus_client, once per refresh.

`render` builds the whole text format in one go from an ExportFigures and the exporter's health; `seclo serve`
keeps the bytes and answers every scrape with them, so a scrape never waits for the store. Series names and
labels come from seclo.prometheus.names, which the generated rules read too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from seclo.prometheus import names
from seclo.prometheus.figures import ExportFigures

__all__ = [
    "STATES",
    "ExporterHealth",
    "MonotonicCounters",
    "metric_families",
    "render",
    "render_figures",
    "render_health",
    "unix_seconds",
]

STATES = ("met", "breached", "no_data", "insufficient_data")


@dataclass(frozen=True, slots=True)
class ExporterHealth:
    """How the refreshes went: last success (Unix seconds, None before the first), last duration, failures;
    and, when serve has an Alertmanager inbox, its rejected records and failed merges (None: no inbox)."""

    last_refresh: float | None
    refresh_duration: float
    refresh_errors: int
    inbox_rejected: int | None = None
    inbox_merge_errors: int | None = None


class MonotonicCounters:
    """Keeps exported counters from ever going down.

    The store's count of an SLI's events only falls when rows are deleted or rewritten (a finding's severity
    changed by a re-import). Prometheus would read a fall as a counter reset and count the whole value again,
    so a counter holds its highest value until the store's count passes it. Not thread-safe: one refresher
    owns it.
    """

    def __init__(self, highs: dict[tuple[str, ...], float] | None = None) -> None:
        self._high: dict[tuple[str, ...], float] = dict(highs or {})

    @property
    def highs(self) -> dict[tuple[str, ...], float]:
        """The highest value exported so far per counter (to carry the state to another process)."""
        return dict(self._high)

    def apply(self, key: tuple[str, ...], value: float) -> float:
        """The value to export for the counter `key` whose store count is now `value`."""
        high = max(value, self._high.get(key, value))
        self._high[key] = high
        return high


class _Families:
    """A prometheus_client collector over ready-made metric families."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _objective_families(figures: ExportFigures, counters: MonotonicCounters) -> list[Metric]:
    extra = list(names.LABELS)
    good_events = CounterMetricFamily(names.GOOD_EVENTS, "Good events of the SLI in the store.", labels=extra)
    events = CounterMetricFamily(names.EVENTS, "Events of the SLI in the store.", labels=extra)
    good_items = _gauge(names.GOOD_ITEMS, "Good items in the SLI's latest inventory snapshot.", extra)
    items = _gauge(names.ITEMS, "Items in the SLI's latest inventory snapshot.", extra)
    objective = _gauge(names.OBJECTIVE, "The objective (target), as a ratio.", extra)
    period = _gauge(names.PERIOD, "Length of the objective's period (time window).", extra)
    attainment = _gauge(names.ATTAINMENT, "Good share over the period (budgeting method applied).", extra)
    budget = _gauge(names.BUDGET_REMAINING, "Share of the error budget left (negative: overspent).", extra)
    burn = _gauge(
        names.BURN_RATE, "Burn rate: error ratio over the window / (1 - objective).", [*extra, "window"]
    )
    firing = _gauge(
        names.ALERT_FIRING, "1 when seclo's burn-rate alert fires.", [*extra, "alert", "severity"]
    )
    state = _gauge(names.STATE, "1 for the objective's current state.", [*extra, "state"])
    for f in figures.objectives:
        r = f.result
        labels = [r.name, r.service, f.objective]
        if f.good is not None and f.total is not None:
            if f.kind == "events":
                key = (r.name, f.objective)
                good_events.add_metric(labels, counters.apply(("good", *key), f.good))
                events.add_metric(labels, counters.apply(("total", *key), f.total))
            else:
                good_items.add_metric(labels, f.good)
                items.add_metric(labels, f.total)
        objective.add_metric(labels, r.target)
        st = r.status
        if st is None:
            continue
        period.add_metric(labels, (st.period_end - st.period_start).total_seconds())
        if not math.isnan(st.attainment):
            attainment.add_metric(labels, st.attainment)
        if not math.isnan(st.budget.remaining_fraction):
            budget.add_metric(labels, st.budget.remaining_fraction)
        for rate in st.burn_rates:
            if not math.isnan(rate.rate):
                burn.add_metric([*labels, rate.name], rate.rate)
        for alert in st.alerts:
            firing.add_metric([*labels, alert.window.name, alert.window.severity], float(alert.firing))
        for name in STATES:
            state.add_metric([*labels, name], float(st.state == name))
    return [
        good_events,
        events,
        good_items,
        items,
        objective,
        period,
        attainment,
        budget,
        burn,
        firing,
        state,
    ]


def _security_families(figures: ExportFigures) -> list[Metric]:
    sec = figures.security
    out: list[Metric] = []
    if sec.mfa_coverage is not None:
        out.append(
            GaugeMetricFamily(
                names.MFA_COVERAGE,
                "Share of enabled human and admin accounts with MFA, latest accounts snapshot.",
                value=sec.mfa_coverage,
            )
        )
    if sec.orphaned_accounts is not None:
        out.append(
            GaugeMetricFamily(
                names.ORPHANED_ACCOUNTS,
                "Enabled accounts whose owner left or with no login for 90 days, latest snapshot.",
                value=sec.orphaned_accounts,
            )
        )
    if sec.public_ports_expected is not None and sec.public_ports_unexpected is not None:
        ports = _gauge(
            names.PUBLIC_OPEN_PORTS,
            "Open ports on public assets, latest ports snapshot; expected: in the allowed list (443, 80/tcp).",
            ["expected"],
        )
        ports.add_metric(["true"], sec.public_ports_expected)
        ports.add_metric(["false"], sec.public_ports_unexpected)
        out.append(ports)
    past = _gauge(names.FINDINGS_PAST_SLA, "Open findings past their severity's SLA days.", ["severity"])
    for severity, count in sec.findings_past_sla.items():
        past.add_metric([severity], count)
    out.append(past)
    out.append(
        GaugeMetricFamily(
            names.EXPORTER_OBJECTIVE_ERRORS,
            "Objectives the last refresh could not evaluate (an invalid SLO).",
            value=figures.objective_errors,
        )
    )
    return out


def _health_families(health: ExporterHealth) -> list[Metric]:
    inbox: list[Metric] = []
    if health.inbox_rejected is not None:
        inbox.append(
            CounterMetricFamily(
                names.INBOX_REJECTED,
                "Alertmanager journal lines and alerts recorded in the rejected table instead of merged.",
                value=health.inbox_rejected,
            )
        )
    if health.inbox_merge_errors is not None:
        inbox.append(
            CounterMetricFamily(
                names.INBOX_MERGE_ERRORS,
                "Merges of the Alertmanager inbox into the store that failed (store locked, unwritable).",
                value=health.inbox_merge_errors,
            )
        )
    return [
        GaugeMetricFamily(
            names.EXPORTER_LAST_REFRESH,
            "When the figures were last read from the store (Unix time; 0: not yet).",
            value=health.last_refresh or 0.0,
        ),
        GaugeMetricFamily(
            names.EXPORTER_REFRESH_DURATION,
            "How long the last refresh took.",
            value=health.refresh_duration,
        ),
        CounterMetricFamily(
            names.EXPORTER_REFRESH_ERRORS,
            "Refreshes that failed (store locked or missing, invalid SLO files, a worker that died).",
            value=health.refresh_errors,
        ),
        *inbox,
    ]


def metric_families(
    figures: ExportFigures | None, health: ExporterHealth, counters: MonotonicCounters
) -> list[Metric]:
    """Every metric family of /metrics: the figures (None: health only) and the exporter's health."""
    families: list[Metric] = []
    if figures is not None:
        families += _objective_families(figures, counters)
        families += _security_families(figures)
    families += _health_families(health)
    return families


def render_figures(figures: ExportFigures, counters: MonotonicCounters) -> bytes:
    """The text exposition format (0.0.4) of the per-objective series and the security SLIs."""
    return generate_latest(_Families(_objective_families(figures, counters) + _security_families(figures)))


def render_health(health: ExporterHealth) -> bytes:
    """The exporter's health series; appended to render_figures' text (text format families concatenate)."""
    return generate_latest(_Families(_health_families(health)))


def render(figures: ExportFigures | None, health: ExporterHealth, counters: MonotonicCounters) -> bytes:
    """The whole /metrics text: the figures (None: health only) and the exporter's health."""
    return (b"" if figures is None else render_figures(figures, counters)) + render_health(health)


def unix_seconds(moment: datetime) -> float:
    """A naive UTC time as Unix seconds."""
    return moment.replace(tzinfo=UTC).timestamp()
