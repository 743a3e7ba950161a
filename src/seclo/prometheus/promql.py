"""An objective's SLI as PromQL: the error ratio over any window, or the reason it has none.

Two kinds of metric source can be written in PromQL (docs/prometheus.md, "The PromQL convention"):

- `type: seclo`, a catalog SLI: `seclo serve` exports its good and total counts with the labels slo,
  service and objective (`seclo.prometheus.names`). Events SLIs are counters, taken with `increase`;
  snapshot SLIs are gauges, taken with `avg_over_time` (item-time weighting, as the engine's Occurrences).
- `type: prometheus`: each query either holds the placeholder `{{.window}}` (as Sloth writes it), which
  seclo replaces with each window, or is a plain series selector that seclo wraps: `increase(S[w])` for a
  counter (the default of good, bad and total), `avg_over_time(S[w])` for a gauge (`counter: false`, and
  always for a raw ratio). Good, bad and total are summed, a raw ratio averaged, so each gives one series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from seclo.prometheus import names
from seclo.sli.catalog import get_indicator
from seclo.slo.openslo import (
    MetricShape,
    Objective,
    PrometheusIndicator,
    SecloIndicator,
    SqlIndicator,
    UnsupportedIndicator,
)

__all__ = ["WINDOW", "SeriesHint", "SliQuery", "label_matchers", "sli_query"]

# The placeholder a Prometheus source's query holds where the window goes (Sloth's spelling).
WINDOW = "{{.window}}"
_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
_SELECTOR = re.compile(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)?\s*(\{[^{}]*\})?\s*")
_EQUALITY = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')
SeriesKind = Literal["counter", "gauge"]


@dataclass(frozen=True, slots=True)
class SeriesHint:
    """The raw series behind an SLI, when they are plain series a test can write (promtool input_series).

    Attributes:
        kind: counters (good/bad/total grow by events) or gauges (items, or a ratio).
        good, bad, total, ratio: the series, as `name{label="value"}`; the ones the shape uses are set.
    """

    kind: SeriesKind
    good: str | None = None
    bad: str | None = None
    total: str | None = None
    ratio: str | None = None


@dataclass(frozen=True, slots=True)
class SliQuery:
    """How to compute one objective's error ratio in PromQL over any window.

    Attributes:
        shape: how the queries combine (good/total, bad/total, a success or a failure ratio).
        numerator: the good or bad query with the `{{.window}}` placeholder (None for a raw ratio).
        denominator: the total query, or the raw ratio query, with the placeholder.
        absent: an expression that returns nothing when the SLI's data is missing.
        source: "seclo" or "prometheus".
        series: the raw series when a test can synthesise them (None for a templated query).
    """

    shape: MetricShape
    numerator: str | None
    denominator: str
    absent: str
    source: str
    series: SeriesHint | None = None

    def error_ratio(self, window: str) -> str:
        """The error ratio over `window` (a Prometheus duration such as 5m): 0 is perfect, 1 all bad."""
        total = self.denominator.replace(WINDOW, window)
        if self.shape == "raw_success":
            return f"1 - {total}"
        if self.shape == "raw_failure":
            return total
        part = (self.numerator or "").replace(WINDOW, window)
        return f"1 - ({part} / {total})" if self.shape == "good_total" else f"{part} / {total}"


def label_matchers(objective: Objective, index: int) -> str:
    """`{slo="...",service="...",objective="0"}`: the labels of every series of this objective."""
    values = (objective.slo_name, objective.service, str(index))
    pairs = ",".join(f'{label}="{_escape(value)}"' for label, value in zip(names.LABELS, values, strict=True))
    return "{" + pairs + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sli_query(objective: Objective, index: int) -> SliQuery | str:
    """The objective's SLI in PromQL, or the reason it cannot be written in PromQL.

    Args:
        objective: the resolved objective.
        index: its index in the SLO's spec.objectives (the `objective` label).

    Raises:
        ConfigError: a seclo source names an SLI the catalog does not have.
    """
    spec = objective.indicator
    if objective.budgeting != "Occurrences":
        return (
            f"{objective.budgeting} budgeting counts good time slices, which the generated rules do not "
            "express in PromQL yet (they would need subqueries); use Occurrences for Prometheus rules"
        )
    if isinstance(spec, SecloIndicator):
        return _seclo_query(objective, spec, index)
    if isinstance(spec, PrometheusIndicator):
        return _prometheus_query(spec)
    if isinstance(spec, SqlIndicator):
        return "a sql metric source is evaluated in seclo's store; Prometheus has no series for it"
    if isinstance(spec, UnsupportedIndicator):
        return spec.reason
    raise TypeError(f"unknown indicator spec {type(spec).__name__}")  # pragma: no cover


def _seclo_query(objective: Objective, spec: SecloIndicator, index: int) -> SliQuery:
    kind = get_indicator(spec.indicator).kind
    labels = label_matchers(objective, index)
    if kind == "events":
        good, total = names.GOOD_EVENTS + labels, names.EVENTS + labels
        hint = SeriesHint("counter", good=good, total=total)
        return SliQuery(
            "good_total", _counter(good), _counter(total), f"absent({total})", "seclo", series=hint
        )
    good, total = names.GOOD_ITEMS + labels, names.ITEMS + labels
    hint = SeriesHint("gauge", good=good, total=total)
    return SliQuery("good_total", _gauge(good), _gauge(total), f"absent({total})", "seclo", series=hint)


def _counter(selector: str) -> str:
    return f"sum(increase({selector}[{WINDOW}]))"


def _gauge(selector: str) -> str:
    return f"sum(avg_over_time({selector}[{WINDOW}]))"


def _prometheus_query(spec: PrometheusIndicator) -> SliQuery | str:
    if spec.shape == "threshold":
        return (
            "a thresholdMetric is not written as Prometheus rules; use a ratioMetric (good or bad, and total)"
        )
    raw = spec.shape in {"raw_success", "raw_failure"}
    counter = spec.counter if spec.counter is not None else not raw
    queries = [spec.query] if raw or spec.total_query is None else [spec.query, spec.total_query]
    wrapped: list[str] = []
    plain: list[str | None] = []
    for query in queries:
        if _PLACEHOLDER.search(query):
            body = _PLACEHOLDER.sub(WINDOW, query.strip())
            wrapped.append(f"avg({body})" if raw else f"sum({body})")
            plain.append(None)
        elif _SELECTOR.fullmatch(query) and query.strip():
            selector = query.strip()
            if raw or not counter:
                wrapped.append(f"avg(avg_over_time({selector}[{WINDOW}]))" if raw else _gauge(selector))
            else:
                wrapped.append(_counter(selector))
            plain.append(selector if _writable(selector) else None)
        else:
            return (
                f"its Prometheus query {query.strip()!r} neither holds the {WINDOW} placeholder nor is a "
                "plain series selector, so seclo cannot set its window (see docs/prometheus.md)"
            )
    if raw:
        hint = SeriesHint("gauge", ratio=plain[0]) if plain[0] else None
        absent = f"absent({wrapped[0].replace(WINDOW, '5m')})"
        return SliQuery(spec.shape, None, wrapped[0], absent, "prometheus", series=hint)
    if len(wrapped) != 2:  # the loader always pairs good or bad with total
        return "a Prometheus ratioMetric needs a total query"
    kind: SeriesKind = "counter" if counter else "gauge"
    hint = None
    if plain[0] and plain[1]:
        hint = (
            SeriesHint(kind, good=plain[0], total=plain[1])
            if spec.shape == "good_total"
            else SeriesHint(kind, bad=plain[0], total=plain[1])
        )
    absent = f"absent({wrapped[1].replace(WINDOW, '5m')})"
    return SliQuery(spec.shape, wrapped[0], wrapped[1], absent, "prometheus", series=hint)


def _writable(selector: str) -> bool:
    """True for `name{label="value",...}` with only equality matchers: a series a test can write."""
    match = _SELECTOR.fullmatch(selector)
    if match is None or match.group(1) is None:
        return False
    body = (match.group(2) or "{}")[1:-1].strip().rstrip(",")
    return not body or all(_EQUALITY.fullmatch(part) for part in _split_matchers(body))


def _split_matchers(body: str) -> list[str]:
    """Split `a="x",b="y,z"` on the commas outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in body:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts
