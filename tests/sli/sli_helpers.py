"""Helpers for SLI tests: times on 2024-01-01 and evaluation of a catalog indicator as plain lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from seclo.sli import Window, get_indicator, indicator_params
from seclo.store import Store

T0 = datetime(2024, 1, 1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def at(hours: float = 0, days: float = 0) -> datetime:
    """A time `hours` and `days` after 2024-01-01 00:00."""
    return T0 + timedelta(hours=hours, days=days)


def counts(store: Store, name: str, window: Window, **params: Any) -> tuple[list[float], list[float]]:
    """Good and total per slice of `window` for the catalog indicator `name` with `params`."""
    indicator = get_indicator(name)
    series = indicator.evaluate(store.conn, indicator_params(indicator, params), window)
    return series.good.tolist(), series.total.tolist()


# Three one-hour slices from 2024-01-01 00:00.
HOURS3 = Window(T0, T0 + 3 * HOUR, HOUR)
