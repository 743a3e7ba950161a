"""Prometheus as an SLI source: an OpenSLO `prometheus` metric source read into good and total per slice.

Each query is evaluated at the end of every whole slice of the window (query_range with step = the slice
length), and the value is turned into the slice's amount in one of three ways:

- The query holds `{{.window}}` (Sloth's placeholder), replaced by the slice length: its value at a slice's
  end is that slice's amount, as in `sum(increase(logins_total[{{.window}}]))`.
- The ratioMetric says `counter: true` and the query has no placeholder: the query is a running total (a
  counter such as `sum(seclo_sli_events_total{slo="x"})`), and a slice's amount is the growth from the
  previous slice end to this one. A drop is a counter reset (the amount is the new value); a gap in the
  samples is bridged by the last value seen, so the growth across it lands in the slice where it reappears.
  The slice in which a counter first appears counts nothing: there is no value at its start to grow from
  (Prometheus' own `increase()` likewise ignores a new series' first value).
- Otherwise the value at the slice's end is the amount itself (a gauge, or a recording rule per slice).

Ratio shapes: good/total, or bad/total (good = total - bad). A raw ratio (rawType success or failure) and a
thresholdMetric make each slice with a value one event: good is the ratio (success) or 1 - ratio, or 1 when
the value meets the objective's op and value.
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from seclo.errors import ConfigError
from seclo.prometheus.http_api import PrometheusClient
from seclo.sli.interface import SliSeries, Window
from seclo.slo.openslo import Operator, PrometheusIndicator

__all__ = ["WINDOW_PLACEHOLDER", "amounts", "expand_window", "prometheus_series", "promql_duration"]

WINDOW_PLACEHOLDER = "{{.window}}"
_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
Floats = npt.NDArray[np.float64]


def promql_duration(length: timedelta) -> str:
    """A length as a PromQL duration in its largest whole unit: 5m, 1h, 1d, 90s."""
    seconds = int(length.total_seconds())
    if seconds <= 0 or seconds != length.total_seconds():
        raise ValueError(f"a PromQL window must be a whole number of seconds, not {length}")
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def expand_window(query: str, step: timedelta) -> tuple[str, bool]:
    """The query with `{{.window}}` replaced by the slice length, and whether it held the placeholder."""
    expanded, count = _PLACEHOLDER.subn(promql_duration(step), query)
    return expanded, count > 0


def amounts(values: Floats, *, cumulative: bool) -> Floats:
    """Per-slice amounts from the values at slice ends (NaN: no value).

    Args:
        values: with `cumulative`, one more value than slices: the running total at the window's start,
            then at each slice's end. Otherwise the value at each slice's end, taken as is.
        cumulative: the values are a counter's running total (see the module docstring).
    """
    if not cumulative:
        return np.where(np.isnan(values), 0.0, values)
    present = ~np.isnan(values)
    # Carry the last value seen across gaps (the index of the latest present value, running maximum).
    last = np.maximum.accumulate(np.where(present, np.arange(len(values)), -1))
    filled = np.where(last >= 0, values[np.maximum(last, 0)], np.nan)
    before, after = filled[:-1], filled[1:]
    growth = np.where(after >= before, after - before, after)  # a drop is a counter reset
    return np.where(np.isnan(before) | np.isnan(after), 0.0, growth)


def _compare(values: Floats, op: Operator, threshold: float) -> npt.NDArray[np.bool_]:
    if op == "lt":
        return values < threshold
    if op == "lte":
        return values <= threshold
    if op == "gt":
        return values > threshold
    return values >= threshold


def prometheus_series(
    spec: PrometheusIndicator,
    window: Window,
    client: PrometheusClient,
    *,
    op: Operator | None = None,
    value: float | None = None,
) -> SliSeries:
    """Good and total per slice of `window` from Prometheus (slices that have not ended yet are 0/0).

    Args:
        spec: the metric source's queries and shape.
        window: the slices; the queries run at each whole slice's end.
        client: the Prometheus to ask.
        op, value: the objective's comparison, for a thresholdMetric.

    Raises:
        ConfigError: a query is rejected or returns several series; a thresholdMetric without op/value.
        InputError: Prometheus cannot be reached or fails.
    """
    n = window.slices
    whole = (window.end - window.start) // window.step
    good = np.zeros(n)
    total = np.zeros(n)
    if whole <= 0:
        return SliSeries(window, good, total, "events")

    def read(query: str) -> tuple[Floats, npt.NDArray[np.bool_]]:
        expanded, windowed = expand_window(query, window.step)
        cumulative = bool(spec.counter) and not windowed
        first = window.start if cumulative else window.start + window.step
        values = client.query_range(expanded, first, whole + 1 if cumulative else whole, window.step)
        seen = ~np.isnan(values[1:] if cumulative else values)
        return amounts(values, cumulative=cumulative), seen

    if spec.shape in {"good_total", "bad_total"} and spec.total_query is not None:
        part, _ = read(spec.query)
        all_, _ = read(spec.total_query)
        ok = part if spec.shape == "good_total" else all_ - part
        total[:whole] = np.maximum(all_, 0.0)
        good[:whole] = np.clip(ok, 0.0, total[:whole])
    elif spec.shape in {"raw_success", "raw_failure"}:
        ratio, seen = read(spec.query)
        ratio = np.clip(ratio, 0.0, 1.0)
        total[:whole] = seen
        good[:whole] = np.where(seen, ratio if spec.shape == "raw_success" else 1.0 - ratio, 0.0)
    else:  # threshold
        if op is None or value is None:
            raise ConfigError(
                "a thresholdMetric objective needs op and value (the threshold a good slice meets)"
            )
        raw, seen = read(spec.query)
        total[:whole] = seen
        good[:whole] = seen & _compare(raw, op, value)
    return SliSeries(window, good, total, "events")
