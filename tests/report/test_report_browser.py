"""The demo's HTML report in a real headless browser (Debian's chromium, which scripts/test.sh installs).

Acceptance for the report: it renders with no console error or warning and no network request, and its
charts are visible in a screenshot. There is no skip: without chromium this test fails, as it should.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pinned_clock import PINNED_NOW
from playwright.sync_api import ConsoleMessage, FloatRect, Request, Route, sync_playwright

from seclo.demo import run_demo

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WHITE = np.array([255, 255, 255], dtype=np.uint8)
ANALYTICS = ("persistence", "sla", "kpi", "dora", "together")  # the analytics sections' anchors


def _ink(image: Image.Image) -> tuple[int, float]:
    """Distinct colours in an image and the share of its pixels that are not white background."""
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours = np.unique(pixels, axis=0)
    return len(colours), float((pixels != WHITE).any(axis=1).mean()) if pixels.size else 0.0


@dataclass
class Visit:
    """What happened when chromium opened the report."""

    url: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    page_size: dict[str, Any] = field(default_factory=dict)
    chart_boxes: list[FloatRect | None] = field(default_factory=list)
    risk_charts: int = 0
    analytics_charts: dict[str, int] = field(default_factory=dict)
    title: str = ""
    headings: list[str] = field(default_factory=list)


def _visit(report: Path, screenshot: Path) -> Visit:
    """Open `report` in Debian's chromium, recording console messages, page errors and every request."""
    visit = Visit(report.resolve().as_uri())

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            visit.console.append(f"{message.type}: {message.text}")

    def on_request(request: Request) -> None:
        visit.requests.append(request.url)

    def route(route: Route) -> None:
        # Only the report itself may load; anything else is recorded as a failure and refused.
        if route.request.url == visit.url:
            route.continue_()
        else:
            visit.blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", on_console)
            page.on("pageerror", lambda error: visit.errors.append(str(error)))
            page.on("request", on_request)
            page.route("**/*", route)
            page.goto(visit.url, wait_until="load")
            visit.screenshot = page.screenshot(path=str(screenshot), full_page=True)
            visit.page_size = page.evaluate(
                "({width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight})"
            )
            charts = page.locator("figure.chart svg")
            visit.chart_boxes = [charts.nth(i).bounding_box() for i in range(charts.count())]
            risk = page.locator("section[id^=risk] figure.chart svg")
            visit.risk_charts = risk.count()
            visit.analytics_charts = {
                anchor: page.locator(f"section#{anchor} figure.chart svg").count() for anchor in ANALYTICS
            }
            visit.title = page.title()
            visit.headings = page.locator("section h2").all_inner_texts()
        finally:
            browser.close()
    return visit


def test_report_renders_offline_with_visible_charts(tmp_path: Path) -> None:
    """Chromium shows the demo report without errors or requests, and its charts are drawn where they sit."""
    demo = run_demo(tmp_path / "demo", days=4, seed=3, auth_events=40_000, end=PINNED_NOW)
    assert "breached" in {r.state for r in demo.slos}, "the demo should show a breached objective"
    assert demo.report is not None
    shot_path = tmp_path / "report.png"
    visit = _visit(demo.report, shot_path)

    assert visit.console == []
    assert visit.errors == []
    assert visit.blocked == []
    assert visit.requests == [visit.url]
    assert visit.title == "Security Level Objectives"
    assert any("breached" in heading for heading in visit.headings)

    # Two charts for each objective with data, the analytics charts (at least one per analysis: survival
    # curves, burn-down, KPI histograms, DORA, the per-team scatter), and the risk charts of the starter
    # scenarios (exceedance curves, a histogram per category side by side, before/after for the treated
    # breach), each laid out with a real size inside the page.
    with_data = [r for r in demo.slos if r.status is not None and r.status.state != "no_data"]
    boxes = [box for box in visit.chart_boxes if box is not None]
    assert visit.risk_charts == 4
    assert all(visit.analytics_charts[anchor] >= 1 for anchor in ANALYTICS), visit.analytics_charts
    analytics = sum(visit.analytics_charts.values())
    assert len(boxes) == len(visit.chart_boxes) == 2 * len(with_data) + analytics + visit.risk_charts
    width, height = visit.page_size["width"], visit.page_size["height"]
    for box in boxes:
        assert box["width"] > 250
        assert box["height"] > 100
        assert box["x"] >= 0
        assert box["y"] >= 0
        assert box["x"] + box["width"] <= width + 1
        assert box["y"] + box["height"] <= height + 1

    # The screenshot shows ink inside the first charts' boxes: lines, labels and shading in several colours.
    assert shot_path.is_file()
    image = Image.open(io.BytesIO(visit.screenshot))
    assert image.size[1] >= height - 1
    for box in boxes[:4]:
        crop = image.crop(
            (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
        )
        colours, inked = _ink(crop)
        assert colours > 20, "a chart should draw lines, fills and text in several colours"
        assert inked > 0.03, "a chart should not be blank"


def test_analytics_page_renders_offline_with_visible_charts(tmp_path: Path) -> None:
    """`seclo analyze together --html` (every analysis as a section) renders in chromium without errors or
    requests, with a chart per figure laid out inside the page."""
    from click.testing import CliRunner  # noqa: PLC0415

    from seclo.cli import cli  # noqa: PLC0415

    demo = run_demo(tmp_path / "demo", days=30, seed=3, auth_events=20_000, end=PINNED_NOW)
    page = tmp_path / "analytics.html"
    at = "--at=" + max(t.last for t in demo.summary.tables if t.last is not None).isoformat()
    result = CliRunner().invoke(
        cli, ["analyze", "together", "-w", str(demo.workspace), at, "--html", str(page)]
    )
    assert result.exit_code == 0, result.output
    visit = _visit(page, tmp_path / "analytics.png")
    assert visit.console == []
    assert visit.errors == []
    assert visit.blocked == []
    assert visit.requests == [visit.url]
    assert visit.title == "Security performance analytics"
    assert visit.headings[:2] == ["Delivery and security together", "Flaw persistence (Kaplan-Meier)"]
    boxes = [box for box in visit.chart_boxes if box is not None]
    assert len(boxes) == len(visit.chart_boxes) >= 7
    image = Image.open(io.BytesIO(visit.screenshot))
    for box in boxes:
        assert box["width"] > 300
        assert box["height"] > 100
        crop = image.crop(
            (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
        )
        colours, inked = _ink(crop)
        assert colours > 10
        assert inked > 0.02
