"""`promtool test rules` unit tests for generated rules: synthetic series that prove each alert's threshold.

For every objective whose SLI reads plain series (seclo's exported counters and gauges, or a Prometheus
source written as plain selectors), the tests feed series with a chosen error ratio per minute and state
what Prometheus must compute:

- the recording rules: every window's error ratio and the metadata series, exactly (the ratios are powers
  of two, so no rounding differs between Python and Go);
- each burn-rate alert: firing when the budget burns at 1.01x its factor, silent at 0.99x, and silent once
  the problem has stopped for the short window although the long window still burns (the multi-window
  part). The expected set of each alert name is computed from the same series, so an alert of another
  window of that severity firing too is stated, not ignored;
- the absent-data alert: firing for every objective when there are no series, and not for an objective
  that has them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seclo.prometheus import names
from seclo.prometheus.promql import SeriesHint, label_matchers
from seclo.prometheus.rule_file import dump_yaml
from seclo.prometheus.rules import AlertingRule, ObjectiveRules, RuleSet, prometheus_duration
from seclo.slo.alerting import AlertWindow
from seclo.slo.burn_rate import BURN_RATE_WINDOWS

__all__ = ["ABOVE", "BELOW", "render_rule_tests", "rule_tests_document"]

ABOVE = 1.01  # burn this much above a factor: the alert fires
BELOW = 0.99  # and this much below: it stays silent
_EVENTS_PER_MINUTE = 1000.0  # counters: events per minute; gauges: items
_EXACT_BAD = 1 / 64  # an error ratio that is exact in binary, for the recording-rule checks
_RECORDING_MINUTES = 60
_TIE = 1e-6  # a burn rate this close to a factor could fall either way: the generator refuses it


@dataclass(frozen=True, slots=True)
class _Series:
    """The samples (one a minute from 0) of each raw series of one objective's SLI."""

    values: dict[str, list[float]]

    def input_series(self) -> list[dict[str, str]]:
        return [{"series": name, "values": _notation(samples)} for name, samples in self.values.items()]


def render_rule_tests(rule_set: RuleSet, rule_file: Path, tests_file: Path) -> str:
    """The unit-test file for `rule_set`, naming `rule_file` relative to where `tests_file` is."""
    relative = os.path.relpath(rule_file.resolve(), tests_file.resolve().parent)
    return dump_yaml(rule_tests_document(rule_set, relative))


def rule_tests_document(rule_set: RuleSet, rule_file: str) -> dict[str, Any]:
    """The unit tests as a `promtool test rules` document loading `rule_file`."""
    tests: list[dict[str, Any]] = []
    absent = [rules for rules in rule_set.objectives if rules.absent_severity is not None]
    if absent:
        tests.append(
            {
                "name": "every objective without data raises the absent-data alert",
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [  # after the alert's 10m `for`
                    {"eval_time": "15m", "alertname": names.ALERT_ABSENT, "exp_alerts": _absent(absent)}
                ],
            }
        )
    testable = [rules for rules in rule_set.objectives if rules.query.series is not None]
    for rules in testable:
        others = [r for r in absent if r is not rules]
        tests.append(_recording_test(rules, others, testable))
        for window in rules.windows:
            tests += _alert_tests(rules, window)
    # Rules are evaluated every 5 minutes of test time: every eval_time here is a multiple of 5m, and the
    # series have a sample a minute, so each window holds whole minutes of data.
    return {"rule_files": [rule_file], "evaluation_interval": "5m", "tests": tests}


def _name(rules: ObjectiveRules) -> str:
    return f"{rules.objective.slo_name} objective {rules.index}"


def _hint(rules: ObjectiveRules) -> SeriesHint:
    hint = rules.query.series
    if hint is None:  # only objectives with series reach here
        raise ValueError(f"{_name(rules)} has no plain series to synthesise")
    return hint


def _series(rules: ObjectiveRules, error_ratio: Sequence[float]) -> _Series:
    """Series for one error ratio per minute: `error_ratio[i]` applies to the minute ending at sample i+1."""
    hint = _hint(rules)
    if hint.kind == "gauge":
        per_sample = [error_ratio[0], *error_ratio]
        if hint.ratio is not None:
            success = rules.query.shape == "raw_success"
            return _Series({hint.ratio: [(1 - r) if success else r for r in per_sample]})
        total = [_EVENTS_PER_MINUTE] * len(per_sample)
        part = [_EVENTS_PER_MINUTE * (r if hint.bad else 1 - r) for r in per_sample]
    else:
        total, part = [0.0], [0.0]
        for r in error_ratio:
            total.append(total[-1] + _EVENTS_PER_MINUTE)
            part.append(part[-1] + _EVENTS_PER_MINUTE * (r if hint.bad else 1 - r))
    part_name = hint.bad or hint.good
    if part_name is None or hint.total is None:
        raise ValueError(f"{_name(rules)}: a ratio needs good or bad, and total series")
    return _Series({part_name: part, hint.total: total})


def _window_ratio(rules: ObjectiveRules, series: _Series, minutes: int) -> float:
    """The error ratio Prometheus computes over the last `minutes` at the last sample (ranges include both
    ends; a counter that starts at 0 needs no extrapolation)."""
    hint = _hint(rules)

    def over(name: str | None) -> float:
        samples = series.values[name or ""]
        first = max(0, len(samples) - 1 - minutes)
        if hint.kind == "counter":
            return samples[-1] - samples[first]
        window = samples[first:]
        return sum(window) / len(window)

    shape = rules.query.shape
    if shape == "raw_success":
        return 1 - over(hint.ratio)
    if shape == "raw_failure":
        return over(hint.ratio)
    total = over(hint.total)
    if shape == "good_total":
        return 1 - (over(hint.good) / total)
    return over(hint.bad) / total


def _minutes(window: str) -> int:
    units = {"m": 1, "h": 60, "d": 1440}
    return int(window[:-1]) * units[window[-1]]


def _annotations(rule: AlertingRule) -> dict[str, str]:
    """Annotations as Prometheus renders them (the rules escape `{{` in user text)."""
    return {key: value.replace("{{ `{{` }}", "{{") for key, value in rule.annotations.items()}


def _expected_alerts(rules: ObjectiveRules, series: _Series, severity: str) -> list[dict[str, Any]]:
    """Every alert of this severity the series make fire, with its labels and annotations."""
    expected = []
    for window in rules.windows:
        if window.severity != severity:
            continue
        budget = 1 - rules.objective.target
        rates = [
            _window_ratio(rules, series, _minutes(prometheus_duration(w))) / budget
            for w in (window.long, window.short)
        ]
        if any(abs(rate - window.factor) <= _TIE * window.factor for rate in rates):
            raise ValueError(f"{_name(rules)} {window.name}: a burn rate of the test sits on the factor")
        if all(rate > window.factor for rate in rates):
            rule = _alert_rule(rules, window)
            expected.append({"exp_labels": dict(rule.labels), "exp_annotations": _annotations(rule)})
    return expected


def _alert_rule(rules: ObjectiveRules, window: AlertWindow) -> AlertingRule:
    """The burn-rate alert written for `window` (alerts come in the order of `rules.windows`)."""
    return rules.alerts[rules.windows.index(window)]


def _alert_tests(rules: ObjectiveRules, window: AlertWindow) -> list[dict[str, Any]]:
    """Three cases for one alert window. Series start at 0, so a window longer than the data reads all of it
    (as Prometheus does after a restart); twice the short window of data is enough to test the threshold."""
    budget = 1 - rules.objective.target
    short = _minutes(prometheus_duration(window.short))
    alertname = names.ALERT_PAGE if window.severity == "page" else names.ALERT_TICKET
    steady = max(2 * short, 10)
    cases: list[tuple[str, list[float]]] = []
    above = ABOVE * window.factor * budget
    if above < 1:
        cases.append((f"fires at {ABOVE}x its factor", [above] * steady))
    else:
        cases.append(("cannot fire: its factor needs an error ratio above 1", [1.0] * steady))
    cases.append(
        (f"stays silent at {BELOW}x its factor", [min(1.0, BELOW * window.factor * budget)] * steady)
    )
    # A burst long enough for the long window to burn above the factor, then a clean short window: the
    # problem has stopped, so the alert must not fire (the point of the short window).
    long = _minutes(prometheus_duration(window.long))
    for bursts in (1, long // short - 1):
        burst = ABOVE * window.factor * budget * (bursts + 1) / bursts
        if burst < 1:
            profile = [burst] * (bursts * short) + [0.0] * short
            cases.append(("stays silent once the short window is clean", profile))
            break
    tests = []
    for what, ratios in cases:
        series = _series(rules, ratios)
        tests.append(
            {
                "name": f"{_name(rules)} {window.name} ({prometheus_duration(window.long)}/{prometheus_duration(window.short)} at {window.factor:.4g}x) {what}",
                "interval": "1m",
                "input_series": series.input_series(),
                "alert_rule_test": [
                    {
                        "eval_time": f"{len(ratios)}m",
                        "alertname": alertname,
                        "exp_alerts": _expected_alerts(rules, series, window.severity),
                    }
                ],
            }
        )
    return tests


def _recording_test(
    rules: ObjectiveRules, others: list[ObjectiveRules], testable: list[ObjectiveRules]
) -> dict[str, Any]:
    series = _series(rules, [_EXACT_BAD] * _RECORDING_MINUTES)
    matchers = label_matchers(rules.objective, rules.index)
    target = rules.objective.target
    windows = [name for name, _ in BURN_RATE_WINDOWS]
    if rules.period_window not in windows:
        windows.append(rules.period_window)
    period_ratio = _window_ratio(rules, series, _minutes(rules.period_window))
    expected: list[tuple[str, float]] = [
        (names.ERROR_RATIO_RULE.format(window=w), _window_ratio(rules, series, _minutes(w))) for w in windows
    ]
    expected += [
        (names.OBJECTIVE_RULE, target),
        (names.ERROR_BUDGET_RULE, 1 - target),
        (names.PERIOD_RULE, rules.period.total_seconds()),
        (names.BUDGET_REMAINING_RULE, 1 - (period_ratio / (1 - target))),
    ]
    eval_time = f"{_RECORDING_MINUTES}m"
    test: dict[str, Any] = {
        "name": f"{_name(rules)}: recording rules at an error ratio of 1/64",
        "interval": "1m",
        "input_series": series.input_series(),
        "promql_expr_test": [
            {
                "expr": name + matchers,
                "eval_time": eval_time,
                "exp_samples": [{"labels": name + matchers, "value": value}],
            }
            for name, value in expected
        ],
    }
    fed = set(series.values)
    # Another objective reading the same series (or a templated query seclo cannot see into) may have data too.
    clear = all(r.query.series is not None and not fed & _series_names(r) for r in others) and all(
        r in testable for r in others
    )
    if rules.absent_severity is not None and clear:
        test["alert_rule_test"] = [
            {"eval_time": eval_time, "alertname": names.ALERT_ABSENT, "exp_alerts": _absent(others)}
        ]
    return test


def _series_names(rules: ObjectiveRules) -> set[str]:
    hint = _hint(rules)
    return {name for name in (hint.good, hint.bad, hint.total, hint.ratio) if name}


def _absent(objectives: list[ObjectiveRules]) -> list[dict[str, Any]]:
    expected = []
    for rules in objectives:
        for rule in rules.alerts:
            if rule.alert == names.ALERT_ABSENT:
                expected.append({"exp_labels": dict(rule.labels), "exp_annotations": _annotations(rule)})
    return expected


def _notation(samples: Sequence[float]) -> str:
    """promtool's expanding notation: runs of equal steps as `start+stepxN`."""
    parts: list[str] = []
    i = 0
    while i < len(samples):
        j = i + 1
        if j < len(samples):
            step = samples[j] - samples[i]
            while j + 1 < len(samples) and abs((samples[j + 1] - samples[j]) - step) <= 1e-9 * max(
                1.0, abs(step)
            ):
                j += 1
            parts.append(f"{_number(samples[i])}+{_number(step)}x{j - i}")
            i = j + 1
        else:
            parts.append(_number(samples[i]))
            i = j
    return " ".join(parts)


def _number(value: float) -> str:
    return repr(value) if "e" not in repr(value) else f"{value:.12f}"
