"""`seclo demo`: generate an organisation, import it, summarise it, evaluate its SecLOs, run the security
performance analytics and write the HTML report (report.html in the workspace), as library calls.

Later capabilities (objectives, experiments, analytics, risk) add their steps here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from seclo.analytics.interface import Window
from seclo.analytics.overview import AnalyticsOverview, analyze_overview
from seclo.experiments.example import run_example
from seclo.experiments.result import RunResult
from seclo.generate import generate_organisation
from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
from seclo.playbooks.demo import DemoPlaybooks, run_demo_playbooks
from seclo.progress import NullReporter, Reporter
from seclo.report import write_slo_report
from seclo.report.analytics_report import overview_sections
from seclo.report.risk_report import workspace_risk_sections
from seclo.slo.status import SloResult, evaluate_workspace
from seclo.store.connection import open_store
from seclo.store.schema import table
from seclo.summary import StoreSummary, summarise
from seclo.workspace import Workspace, init_workspace

__all__ = ["DemoResult", "import_generated", "run_demo"]


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Where the demo ran and what it found."""

    workspace: Path
    imports: tuple[ImportResult, ...]
    summary: StoreSummary
    slos: tuple[SloResult, ...] = ()
    report: Path | None = None
    experiment: RunResult | None = None
    playbooks: DemoPlaybooks | None = None
    analytics: AnalyticsOverview | None = None


def import_generated(
    workspace: Workspace, folder: Path, reporter: Reporter | None = None
) -> list[ImportResult]:
    """Import every Parquet file `seclo generate` wrote into `folder`, each into the table it is named after."""
    results: list[ImportResult] = []
    settings = workspace.settings.store
    with open_store(
        workspace.store_path, memory_limit=settings.memory_limit, threads=settings.threads
    ) as store:
        for path in sorted(folder.glob("*.parquet")):
            name = path.stem.split("-")[0]
            kind = table(name).kinds[0]
            results.append(import_path(store, get_importer(kind), path, ImportOptions(), reporter))
    return results


def run_demo(
    root: Path | None = None,
    *,
    days: int = 30,
    seed: int = 7,
    auth_events: int | None = None,
    end: datetime | None = None,
    reporter: Reporter | None = None,
) -> DemoResult:
    """Run the demo in `root` (a new temporary folder when None) and return what it did.

    `end` is the demo's "now": the generated data ends there, and the SecLOs, analytics and playbooks are
    judged there (by default the current minute). The same seed and end give the same figures.
    """
    reporter = reporter or NullReporter()
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="seclo-demo-"))
    init_workspace(root)
    workspace = Workspace.open(root)
    folder = root / "data" / "generated"
    generated = generate_organisation(
        folder, days=days, seed=seed, auth_events=auth_events, end=end, reporter=reporter
    )
    results = import_generated(workspace, folder, reporter)
    with open_store(workspace.store_path) as store:
        summary = summarise(store)
        # The starter SecLOs `init` wrote, judged at the end of the generated data ("now" for the demo).
        slos = evaluate_workspace(workspace, store, at=generated.end)
        # Flaw persistence, patch SLAs, incident KPIs and DORA over the generated period.
        analytics = analyze_overview(store, Window.ending(generated.end, days), workspace.settings.sla_days)
    risk = workspace_risk_sections(root / "risk")
    extra = [*overview_sections(analytics), *risk]
    report = write_slo_report(root / "report.html", slos, at=generated.end, workspace=root, extra=extra)
    # The passing example experiment (examples/experiments), against its detector, in this workspace.
    experiment = run_example(workspace)
    # One playbook for real against a local receiver (pages for the burning SecLOs), one as a dry run.
    playbooks = run_demo_playbooks(workspace, slos, generated.end)
    return DemoResult(root, tuple(results), summary, slos, report, experiment, playbooks, analytics)
