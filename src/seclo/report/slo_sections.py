"""The SLO part of the report: a summary of every objective, then a section per objective.

Written for a reader who does not live in SRE vocabulary: each figure comes with a sentence saying what it
means, states are words and colours, and objectives without data say so instead of showing empty charts.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from seclo.report.html import Cell, esc, table
from seclo.report.interface import Section
from seclo.report.slo_charts import budget_chart, sli_chart
from seclo.slo.evaluation import SloStatus
from seclo.slo.status import SloResult

__all__ = ["SloSection", "SummarySection", "fmt_time", "slo_anchor", "state_badges"]

_STATE_WORDS = {
    "met": ("met", "met"),
    "breached": ("breached", "breached"),
    "no_data": ("no data", "nodata"),
    "insufficient_data": ("too little data", "nodata"),
    "unsupported": ("not evaluated", "nodata"),
}
_UNITS = {"m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month", "Q": "quarter", "Y": "year"}
_DURATION = re.compile(r"^(\d+)([mhdwMQY])$")


def fmt_time(moment: datetime) -> str:
    """A UTC time for people: 2024-03-01 12:00 UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _pct(value: float, digits: int = 2) -> str:
    """A fraction as a percentage ("" for NaN, which means no data)."""
    return "" if math.isnan(value) else f"{value * 100:.{digits}f}%"


def _target(value: float) -> str:
    """A target without trailing zeros: 0.95 -> 95%, 0.999 -> 99.9%."""
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def _rate(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.1f}x"


def _span(length: timedelta) -> str:
    minutes = int(length / timedelta(minutes=1))
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _slice_words(length: timedelta) -> str:
    """'5-minute', '1-hour', '1-day': a slice length as an adjective."""
    text = _span(length)
    return f"{text[:-1]}-{_UNITS[text[-1]]}"


def _duration_words(text: str) -> str:
    """'28d' -> '28 days', '1M' -> '1 month'; anything else as written."""
    match = _DURATION.match(text)
    if match is None:
        return text
    count, unit = int(match.group(1)), _UNITS[match.group(2)]
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _window_words(window: str) -> str:
    """The SLO's window in words: 'the last 28 days (rolling)' or 'each calendar month (Europe/Berlin)'."""
    duration, _, rest = window.partition(" ")
    words = _duration_words(duration)
    if rest == "rolling":
        return f"the last {words} (a rolling window)"
    zone = rest.removeprefix("calendar").strip()
    if words.startswith("1 "):
        words = words[2:]
    return f"each calendar {words} {zone}".strip()


def slo_anchor(index: int, result: SloResult) -> str:
    """A page-unique element id for the objective's section."""
    return f"slo-{index + 1}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", result.name).strip("-")


def state_badges(result: SloResult) -> str:
    """The state as coloured badges: met / breached / no data..., plus 'alerting' while an alert fires."""
    words, css = _STATE_WORDS[result.state]
    badges = f'<span class="badge {css}">{words}</span>'
    if result.status is not None and result.status.firing:
        badges += ' <span class="badge alert">alerting</span>'
    return badges


def _fastest(result: SloResult) -> str:
    if result.status is None:
        return ""
    rates = [b for b in result.status.burn_rates if not math.isnan(b.rate)]
    fastest = max(rates, key=lambda b: b.rate, default=None)
    return "" if fastest is None else f"{fastest.rate:.1f}x over {fastest.name}"


def _firing(result: SloResult) -> str:
    """Firing alerts counted by severity: '2 page, 1 ticket'."""
    if result.status is None:
        return ""
    severities = [a.window.severity for a in result.status.firing]
    return ", ".join(f"{severities.count(s)} {s}" for s in dict.fromkeys(severities))


def _policy_step(result: SloResult) -> str:
    current = None if result.policy is None else result.policy.current
    return "" if current is None else current.name


def _title(result: SloResult) -> str:
    return result.display_name or result.name


def objective_words(result: SloResult) -> str:
    """The objective as a sentence (plain text, to be escaped)."""
    target, window = _target(result.target), _window_words(result.window)
    series = result.series
    slices = f"{_slice_words(series.window.step)} time slices" if series is not None else "time slices"
    if result.budgeting == "Timeslices":
        per_slice = "" if result.time_slice_target is None else _target(result.time_slice_target)
        return (
            f"At least {target} of {slices} are good over {window}; "
            f"a slice is good when at least {per_slice} of its events are good."
        )
    if result.budgeting == "RatioTimeslices":
        return f"Over {window}, {slices} reach a good share of at least {target} on average."
    if series is not None and series.kind == "snapshot":
        return (
            f"At least {target} of the items in the inventory are good over {window}, "
            "each counted for as long as it stays that way."
        )
    return f"At least {target} of events are good over {window}."


class SummarySection(Section):
    """Counts of met, breached, alerting and data-less objectives, and a table of every objective."""

    anchor = "summary"
    title = "Summary"

    def __init__(self, results: tuple[SloResult, ...], at: datetime, workspace: str) -> None:
        self.results = results
        self.at = at
        self.workspace = workspace

    def html(self) -> str:
        """Cards with the counts, a sentence of context, and the table."""
        states = [r.state for r in self.results]
        cards = [
            ("met", states.count("met"), "met", "objectives meeting their target"),
            ("breached", states.count("breached"), "breached", "error budget spent: below target"),
            (
                "alert",
                sum(1 for r in self.results if r.status is not None and r.status.firing),
                "alerting",
                "budget burning fast right now",
            ),
            (
                "nodata",
                states.count("no_data") + states.count("insufficient_data"),
                "without data",
                "nothing (or too little) to judge",
            ),
        ]
        if "unsupported" in states:
            cards.append(("nodata", states.count("unsupported"), "not evaluated", "source seclo cannot read"))
        card_html = "".join(
            f'<div class="card {css}"><div class="count">{count}</div><strong>{esc(label)}</strong>'
            f"<div>{esc(hint)}</div></div>"
            for css, count, label, hint in cards
        )
        intro = (
            f"<p>{len(self.results)} objectives evaluated at <strong>{esc(fmt_time(self.at))}</strong> "
            f"from the workspace <code>{esc(self.workspace)}</code>.</p>"
        )
        rows: list[tuple[list[Cell], str]] = []
        for index, r in enumerate(self.results):
            status = r.status
            rows.append(
                (
                    [
                        f'<a href="#{esc(slo_anchor(index, r))}">{esc(_title(r))}</a>',
                        esc(r.service),
                        f"<code>{esc(r.indicator)}</code>",
                        state_badges(r),
                        (esc(_target(r.target)), "num"),
                        (esc(_pct(status.attainment)) if status else "", "num"),
                        (esc(_pct(status.budget.remaining_fraction, 0)) if status else "", "num"),
                        esc(_fastest(r)),
                        esc(_firing(r)),
                        esc(_policy_step(r)),
                    ],
                    "",
                )
            )
        headers: list[Cell] = [
            "SLO",
            "service",
            "SLI",
            "state",
            ("target", "num"),
            ("attainment", "num"),
            ("budget left", "num"),
            "fastest burn",
            "firing alerts",
            "policy step",
        ]
        return f'<div class="cards">{card_html}</div>{intro}{table(headers, rows)}'


_UNIT_WORDS = {
    "events": "events",
    "minutes": "minutes",
    "item_minutes": "item-minutes",
}
_UNIT_HINTS = {
    "events": "Each bad event spends one unit of budget.",
    "minutes": "Each bad time slice spends its length in minutes.",
    "item_minutes": "An item (an account, a port...) that is bad for one minute spends one item-minute.",
}


def _amount(value: float, unit: str) -> str:
    text = f"{value:,.0f}"
    if unit == "minutes" and abs(value) >= 120:
        text += f" ({value / 60:,.1f} h)"
    return text


class SloSection(Section):
    """One objective: state, the objective in words, attainment, budget, burn rates, alerts, policy, charts."""

    def __init__(self, index: int, result: SloResult) -> None:
        self.result = result
        self.anchor = slo_anchor(index, result)
        self.title = _title(result)

    def heading(self) -> str:
        """The objective's name with its state badges."""
        return f"{esc(self.title)} {state_badges(self.result)}"

    def html(self) -> str:
        """The body; objectives without a status or without data say so instead of showing figures."""
        r = self.result
        parts = [
            f'<p class="meta"><code>{esc(r.name)}</code> · service <strong>{esc(r.service)}</strong> · '
            f"SLI <code>{esc(r.indicator)}</code> · {esc(r.window)} · {esc(r.budgeting)}</p>",
        ]
        if r.description:
            parts.append(f"<p>{esc(r.description)}</p>")
        parts.append(f'<p class="objective"><strong>Objective:</strong> {esc(objective_words(r))}</p>')
        status = r.status
        if status is None:
            reason = r.error or "its metric source is not supported"
            parts.append(f'<p class="note">seclo could not evaluate this objective: {esc(reason)}</p>')
            return "".join(parts)
        period = f"{esc(fmt_time(status.period_start))} to {esc(fmt_time(status.at))}"
        if status.state == "no_data":
            parts.append(
                f'<p class="note"><strong>No data.</strong> The store holds nothing for this SLI from {period}, '
                "so the objective is neither met nor breached and raises no alert. "
                "Check that the data it needs is being imported.</p>"
            )
            parts.append(self._policy())
            return "".join(parts)
        if status.state == "insufficient_data":
            parts.append(
                f'<p class="note"><strong>Too little data</strong> to judge from {period} '
                f"({status.events:,.0f} counted); alerts stay off until there is more.</p>"
            )
        parts += [self._attainment(status, period), self._budget(status), self._charts()]
        parts += [self._burn_rates(status), self._alerts(status), self._policy()]
        return "".join(parts)

    def _attainment(self, status: SloStatus, period: str) -> str:
        r = self.result
        gap = (status.attainment - r.target) * 100
        if status.state == "breached":
            verdict = f'<span class="bad">breached: {abs(gap):.2f} percentage points below</span>'
        elif status.state == "met":
            verdict = f'<span class="good">met: {gap:.2f} percentage points above</span>'
        else:
            verdict = "not judged"
        return (
            f"<h3>Attainment</h3><p><strong>{esc(_pct(status.attainment))}</strong> against a target of "
            f"<strong>{esc(_target(r.target))}</strong>, {verdict}. Measured from {period}"
            f" ({status.events:,.0f} {'items in the latest snapshot' if self._snapshot else 'events'}).</p>"
        )

    @property
    def _snapshot(self) -> bool:
        return self.result.series is not None and self.result.series.kind == "snapshot"

    def _budget(self, status: SloStatus) -> str:
        budget, unit = status.budget, status.budget.unit
        css = "bad" if budget.remaining < 0 else "good"
        left = _pct(budget.remaining_fraction, 0)
        rows: list[tuple[list[Cell], str]] = [
            (
                [
                    (esc(_amount(budget.allowed, unit)), "num"),
                    (esc(_amount(budget.consumed, unit)), "num"),
                    (f'<span class="{css}">{esc(_amount(budget.remaining, unit))}</span>', "num"),
                    (f'<span class="{css}">{esc(left)}</span>', "num"),
                    esc(_UNIT_WORDS[unit]),
                ],
                "",
            )
        ]
        headers: list[Cell] = [("allowed", "num"), ("consumed", "num"), ("remaining", "num"), ("left", "num")]
        summary = (
            "The budget is spent: the objective is breached until bad periods roll out of the window."
            if budget.remaining < 0
            else f"{left} of the budget is left for the rest of the period."
        )
        return (
            f"<h3>Error budget</h3><p>The error budget is how much may go wrong while the objective is still "
            f"met. {esc(summary)} {esc(_UNIT_HINTS[unit])}</p>{table([*headers, 'unit'], rows)}"
        )

    def _burn_rates(self, status: SloStatus) -> str:
        headers: list[Cell] = [("window", ""), *((esc(b.name), "num") for b in status.burn_rates)]
        cells: list[Cell] = [
            "burn rate",
            *(
                (
                    f'<span class="bad">{esc(_rate(b.rate))}</span>' if b.rate > 1 else esc(_rate(b.rate)),
                    "num",
                )
                for b in status.burn_rates
            ),
        ]
        return (
            "<h3>Burn rates</h3><p>How fast the budget is being spent over the last 5 minutes to 3 days. "
            "At 1x the budget lasts exactly the period; above 1x it runs out early. "
            "Blank: no data in that window.</p>" + table(headers, [(cells, "")])
        )

    def _alerts(self, status: SloStatus) -> str:
        if not status.alerts:
            return "<h3>Alerts</h3><p>No burn-rate alert window fits this objective's period.</p>"
        rows: list[tuple[list[Cell], str]] = [
            (
                [
                    esc(a.window.name),
                    esc(a.window.severity),
                    esc(f"{_span(a.window.long)} and {_span(a.window.short)}"),
                    (esc(f"{a.window.factor:.2f}x"), "num"),
                    (esc(_rate(a.long_rate)), "num"),
                    (esc(_rate(a.short_rate)), "num"),
                    '<span class="bad">FIRING</span>' if a.firing else "quiet",
                ],
                "firing" if a.firing else "",
            )
            for a in status.alerts
        ]
        headers: list[Cell] = [
            "alert",
            "severity",
            "windows",
            ("fires above", "num"),
            ("long window", "num"),
            ("short window", "num"),
            "now",
        ]
        firing = len(status.firing)
        lead = (
            f"{firing} alert{'s' if firing > 1 else ''} firing: both windows burn faster than the threshold."
            if firing
            else "No alert is firing."
        )
        return (
            f"<h3>Alerts</h3><p>{esc(lead)} A page wakes someone up; a ticket waits for working hours.</p>"
            + table(headers, rows)
        )

    def _policy(self) -> str:
        policy = self.result.policy
        if policy is None:
            return "<h3>Error budget policy</h3><p>No error budget policy applies to this objective.</p>"
        current = policy.current
        rows: list[tuple[list[Cell], str]] = []
        for state in policy.steps:
            step = state.step
            is_current = current is not None and step is current
            mark = "current step" if is_current else "reached" if state.reached else "not reached"
            css = "current" if is_current else "reached" if state.reached else ""
            rows.append(([esc(step.name), esc(step.condition), esc(step.action), esc(mark)], css))
        name = policy.policy.display_name or policy.policy.name
        lead = (
            f"The current step is <strong>{esc(current.name)}</strong>: {esc(current.action)}"
            if current is not None
            else "No step is reached."
        )
        return f"<h3>Error budget policy: {esc(name)}</h3><p>{lead}</p>" + table(
            ["step", "when", "what the team does", "now"], rows
        )

    def _charts(self) -> str:
        r = self.result
        figures = []
        budget = budget_chart(r, f"{self.anchor}-budget")
        thresholds = r.policy is not None and any(
            s.step.budget_remaining_below is not None for s in r.policy.steps
        )
        steps = " Dashed lines mark the error budget policy's steps." if thresholds else ""
        if budget is not None:
            figures.append(
                f'<figure class="chart">{budget}<figcaption>Error budget left over the period, from '
                f"100% (nothing spent) down to 0% (objective breached).{steps}</figcaption></figure>"
            )
        sli = sli_chart(r, f"{self.anchor}-sli")
        if sli is not None:
            figures.append(
                f'<figure class="chart">{sli}<figcaption>The SLI over the period: the share of good '
                "events (or items) against the target. Shaded: below the target.</figcaption></figure>"
            )
        if not figures:
            return ""
        return f'<h3>Over the period</h3><div class="figures">{"".join(figures)}</div>'
