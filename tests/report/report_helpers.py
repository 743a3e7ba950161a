"""Helpers for report tests: SLO results built from hand-made series, and a parser for what HTML loads."""

from __future__ import annotations

from datetime import datetime, timedelta
from html.parser import HTMLParser

import numpy as np

from seclo.sli.interface import SliKind, SliSeries, Window
from seclo.slo.budget import Budgeting
from seclo.slo.evaluation import Period, evaluate_objective
from seclo.slo.policy import ErrorBudgetPolicy, PolicyStep, evaluate_policy
from seclo.slo.status import SloResult

AT = datetime(2024, 3, 2)
PERIOD = timedelta(days=28)
STEP = timedelta(hours=1)
# The series starts 3 days before the period, as evaluate_objective_in_store queries it.
START = AT - PERIOD - timedelta(days=3)
SLICES = int((AT - START) / STEP)

POLICY = ErrorBudgetPolicy(
    name="default",
    steps=(
        PolicyStep("notify", "Tell the owning team.", budget_remaining_below=0.5),
        PolicyStep("freeze", "Freeze risky changes until the budget recovers.", budget_exhausted=True),
    ),
)


def result(
    name: str = "login-success",
    *,
    bad_share: float = 0.0,
    last_hours_bad: int = 0,
    target: float = 0.95,
    kind: SliKind = "events",
    budgeting: Budgeting = "Occurrences",
    empty: bool = False,
    display_name: str | None = None,
    description: str | None = None,
    policy: ErrorBudgetPolicy | None = None,
) -> SloResult:
    """An evaluated SLO over an hourly series of 100 events per hour: `bad_share` of every hour bad, and
    every event of the last `last_hours_bad` hours bad; `empty` gives a series without any data."""
    total = np.zeros(SLICES) if empty else np.full(SLICES, 100.0)
    good = total * (1.0 - bad_share)
    if last_hours_bad:
        good[-last_hours_bad:] = 0.0
    if kind == "snapshot":
        # One inventory scan a day: the other slices carry the scan forward.
        keep = np.arange(SLICES) % 24 == 0
        good, total = np.where(keep, good, 0.0), np.where(keep, total, 0.0)
    series = SliSeries(Window(START, AT, STEP), good, total, kind)
    period = Period(PERIOD)
    slice_target = 0.9 if budgeting == "Timeslices" else None
    status = evaluate_objective(
        series, target=target, budgeting=budgeting, at=AT, period=period, time_slice_target=slice_target
    )
    return SloResult(
        name=name,
        service="identity",
        display_name=display_name,
        indicator="login_success",
        target=target,
        budgeting=budgeting,
        window="28d rolling",
        status=status,
        policy=None if policy is None else evaluate_policy(policy, status),
        series=series,
        period=period,
        time_slice_target=slice_target,
        description=description,
    )


def unsupported(name: str = "api-latency") -> SloResult:
    """An objective seclo could not evaluate (a Prometheus source)."""
    return SloResult(
        name=name,
        service="api",
        display_name=None,
        indicator="prometheus",
        target=0.99,
        budgeting="Occurrences",
        window="1d rolling",
        status=None,
        error="a Prometheus metric source is not evaluated from the store",
    )


# Attributes through which a page loads or links to something.
_URL_ATTRIBUTES = {
    "src",
    "href",
    "xlink:href",
    "srcset",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "cite",
    "longdesc",
    "manifest",
    "ping",
    "content",
}


class Loads(HTMLParser):
    """Collects every URL an HTML page could fetch or link to, and every tag and element id it holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.ids: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record the tag, its id, its URL attributes and the url(...) in its style attribute."""
        self.tags.append(tag)
        self._in_style = tag == "style"
        for key, value in attrs:
            if value is None:
                continue
            if key == "id":
                self.ids.append(value)
            if key == "style" or key in {"clip-path", "fill", "stroke", "mask", "filter"}:
                self.urls += _css_urls(value)
            if key in _URL_ATTRIBUTES and not (tag == "meta" and key == "content"):
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        """Leave a style element."""
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        """url(...) and @import inside a style sheet."""
        if self._in_style:
            self.urls += _css_urls(data)
            if "@import" in data:
                self.urls.append("@import")


def _css_urls(text: str) -> list[str]:
    found = []
    rest = text
    while "url(" in rest:
        rest = rest.split("url(", 1)[1]
        found.append(rest.split(")", 1)[0].strip("'\" "))
    return found


def loads(page: str) -> Loads:
    """Parse `page` and return what it loads."""
    parser = Loads()
    parser.feed(page)
    parser.close()
    return parser
