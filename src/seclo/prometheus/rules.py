"""Prometheus recording and alerting rules for a workspace's SLOs: the library behind `seclo slo rules`.

Per SLO two rule groups (docs/prometheus.md):

- `seclo-slo-NAME` (every 30s): the error ratio over each burn-rate window (5m ... 3d), the page and ticket
  burn-rate alerts (SRE Workbook table 5-8 plus 1d/2h, windows and factors from `seclo.slo.alerting`, so
  they match `seclo slo status`), and the absent-data alert;
- `seclo-slo-NAME-period` (every 5m): the error ratio over the whole period and the SLO's metadata series
  (objective, error budget, period seconds, error budget remaining).

An objective whose SLI cannot be written in PromQL is skipped with the reason, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from seclo.prometheus import names
from seclo.prometheus.promql import SliQuery, label_matchers, sli_query
from seclo.slo.alerting import AlertWindow, alert_windows
from seclo.slo.burn_rate import BURN_RATE_WINDOWS
from seclo.slo.openslo import Objective, TimeWindow

__all__ = [
    "ABSENT_FOR",
    "PERIOD_INTERVAL",
    "WINDOW_INTERVAL",
    "AlertingRule",
    "ObjectiveRules",
    "RecordingRule",
    "RuleGroup",
    "RuleSet",
    "SkippedObjective",
    "build_rules",
    "prometheus_duration",
    "rule_period",
]

WINDOW_INTERVAL = "30s"  # burn-rate windows and alerts: a 5m window needs evaluating well within 5m
PERIOD_INTERVAL = "5m"  # the period's ratio reads weeks of samples; it moves slowly
ABSENT_FOR = "10m"  # a scrape or two missed is not yet an alert
# A calendar month is taken as its mean length rounded, 30 days (a quarter 91, a year 365).
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, slots=True)
class RecordingRule:
    """A Prometheus recording rule."""

    record: str
    expr: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class AlertingRule:
    """A Prometheus alerting rule; `for_` is its pending duration (`for:`), None for none."""

    alert: str
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    for_: str | None = None


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """A rule group: evaluated together, in order, every `interval`."""

    name: str
    interval: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class SkippedObjective:
    """An objective left out of the rules, and why."""

    slo: str
    objective: int
    reason: str


@dataclass(frozen=True, slots=True)
class ObjectiveRules:
    """What was generated for one objective (tests and docs read it).

    Attributes:
        objective, index: the objective and its index in spec.objectives (the `objective` label).
        query: its SLI in PromQL.
        period: the period as the rules take it (a calendar month is 30 days, see `rule_period`).
        windows: the burn-rate alerts written (tiers switched off and windows longer than the period are not).
        absent_severity: the absent-data alert's severity, None when no alert tier is on.
        alerts: the alerting rules written for it (burn-rate alerts in `windows` order, then absent-data).
    """

    objective: Objective
    index: int
    query: SliQuery
    period: timedelta
    windows: tuple[AlertWindow, ...]
    absent_severity: str | None
    alerts: tuple[AlertingRule, ...] = ()

    @property
    def period_window(self) -> str:
        """The period as a Prometheus duration, such as 28d."""
        return prometheus_duration(self.period)

    @property
    def labels(self) -> dict[str, str]:
        """The labels every series of this objective carries."""
        values = (self.objective.slo_name, self.objective.service, str(self.index))
        return dict(zip(names.LABELS, values, strict=True))


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rule groups for a set of objectives, and the objectives left out."""

    groups: tuple[RuleGroup, ...]
    objectives: tuple[ObjectiveRules, ...]
    skipped: tuple[SkippedObjective, ...]


def prometheus_duration(length: timedelta) -> str:
    """`length` in Prometheus' duration syntax with one unit: 28d, 6h, 5m or 30s."""
    seconds = int(length.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def rule_period(window: TimeWindow) -> timedelta:
    """The period as a fixed length. Prometheus ranges are fixed, so a calendar window is taken as a rolling
    one of its length, calendar months at their mean length rounded to whole days (1M: 30d, 1Q: 91d)."""
    duration = window.duration
    if duration.is_calendar:
        return timedelta(days=round(duration.months * _DAYS_PER_MONTH))
    return duration.to_timedelta()


def build_rules(objectives: Iterable[Objective]) -> RuleSet:
    """The rule groups for `objectives` (in the loader's order: each SLO's objectives together).

    Raises:
        ConfigError: a seclo source names an SLI the catalog does not have.
    """
    by_slo: dict[str, list[Objective]] = {}
    for objective in objectives:
        by_slo.setdefault(objective.slo_name, []).append(objective)
    groups: list[RuleGroup] = []
    generated: list[ObjectiveRules] = []
    skipped: list[SkippedObjective] = []
    for slo, members in by_slo.items():
        window_rules: list[Rule] = []
        period_rules: list[Rule] = []
        for index, objective in enumerate(members):
            query = sli_query(objective, index)
            if isinstance(query, str):
                skipped.append(SkippedObjective(slo, index, query))
                continue
            period = rule_period(objective.time_window)
            windows = alert_windows(period, objective.alert_tiers)
            tiers = objective.alert_tiers
            absent = None if not tiers else ("ticket" if "ticket" in tiers else "page")
            rules = ObjectiveRules(objective, index, query, period, windows, absent)
            rules = replace(rules, alerts=_alerts(rules))
            generated.append(rules)
            window_rules += _window_rules(rules)
            period_rules += _period_rules(rules)
        if window_rules:
            groups.append(RuleGroup(f"seclo-slo-{slo}", WINDOW_INTERVAL, tuple(window_rules)))
            groups.append(RuleGroup(f"seclo-slo-{slo}-period", PERIOD_INTERVAL, tuple(period_rules)))
    return RuleSet(tuple(groups), tuple(generated), tuple(skipped))


def _window_rules(rules: ObjectiveRules) -> list[Rule]:
    labels = rules.labels
    out: list[Rule] = [
        RecordingRule(names.ERROR_RATIO_RULE.format(window=name), rules.query.error_ratio(name), labels)
        for name, _ in BURN_RATE_WINDOWS
    ]
    return [*out, *rules.alerts]


def _alerts(rules: ObjectiveRules) -> tuple[AlertingRule, ...]:
    out = [_burn_alert(rules, window) for window in rules.windows]
    if rules.absent_severity is not None:
        out.append(_absent_alert(rules, rules.absent_severity))
    return tuple(out)


def _period_rules(rules: ObjectiveRules) -> list[Rule]:
    labels = rules.labels
    target = rules.objective.target
    period = rules.period_window
    out: list[Rule] = []
    if period not in {name for name, _ in BURN_RATE_WINDOWS}:  # else the window group records it already
        out.append(
            RecordingRule(
                names.ERROR_RATIO_RULE.format(window=period), rules.query.error_ratio(period), labels
            )
        )
    matchers = label_matchers(rules.objective, rules.index)
    period_ratio = names.ERROR_RATIO_RULE.format(window=period) + matchers
    out += [
        RecordingRule(names.OBJECTIVE_RULE, f"vector({target!r})", labels),
        RecordingRule(names.ERROR_BUDGET_RULE, f"vector(1 - {target!r})", labels),
        RecordingRule(names.PERIOD_RULE, f"vector({int(rules.period.total_seconds())})", labels),
        RecordingRule(names.BUDGET_REMAINING_RULE, f"1 - ({period_ratio} / (1 - {target!r}))", labels),
    ]
    return out


def _title(objective: Objective) -> str:
    return objective.display_name or objective.slo_display_name or objective.slo_name


def _text(value: str) -> str:
    """User text made literal inside a Prometheus annotation template (`{{` would start an action)."""
    return value.replace("{{", "{{ `{{` }}")


def factor_label(factor: float) -> str:
    """A burn factor for people: 14.4, 6, 0.9333."""
    return f"{factor:.4g}"


def _burn_alert(rules: ObjectiveRules, window: AlertWindow) -> AlertingRule:
    objective = rules.objective
    matchers = label_matchers(objective, rules.index)
    budget = f"(1 - {objective.target!r})"
    long, short = prometheus_duration(window.long), prometheus_duration(window.short)
    # Burn rate = error ratio / error budget (SRE Workbook); both windows must exceed the factor.
    expr = (
        f"({names.ERROR_RATIO_RULE.format(window=long)}{matchers} / {budget} > {window.factor!r})"
        f" and ({names.ERROR_RATIO_RULE.format(window=short)}{matchers} / {budget} > {window.factor!r})"
    )
    factor = factor_label(window.factor)
    labels = {
        "severity": window.severity,
        **rules.labels,
        "long_window": long,
        "short_window": short,
        "burn_factor": factor,
    }
    annotations = {
        "summary": _text(f"{_title(objective)}: error budget burning over {factor}x"),
        "description": _text(
            f"SLO {objective.slo_name} (service {objective.service}, objective {rules.index}, target "
            f"{objective.target:.6g}) spends its error budget faster than {factor}x over both the last {long} "
            f"and {short}: at that rate {window.budget_share:.0%} of the {rules.period_window} budget goes in {long}."
        ),
    }
    if objective.runbook_url:
        annotations["runbook_url"] = _text(objective.runbook_url)
    name = names.ALERT_PAGE if window.severity == "page" else names.ALERT_TICKET
    return AlertingRule(name, expr, labels, annotations)


def _absent_alert(rules: ObjectiveRules, severity: str) -> AlertingRule:
    objective = rules.objective
    where = (
        "Check that Prometheus scrapes `seclo serve` and that it evaluates this SLO."
        if rules.query.source == "seclo"
        else "Check that the SLI's Prometheus query still returns data."
    )
    annotations = {
        "summary": _text(f"{_title(objective)}: no SLI data"),
        "description": _text(
            f"SLO {objective.slo_name} (service {objective.service}, objective {rules.index}) has had no SLI "
            f"series for {ABSENT_FOR}, so its burn-rate alerts cannot fire. {where}"
        ),
    }
    if objective.runbook_url:
        annotations["runbook_url"] = _text(objective.runbook_url)
    labels = {"severity": severity, **rules.labels}
    return AlertingRule(names.ALERT_ABSENT, rules.query.absent, labels, annotations, ABSENT_FOR)
