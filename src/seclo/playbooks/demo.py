"""The playbooks part of `seclo demo`: one playbook run for real against a local HTTP receiver, one dry run.

The demo writes two playbooks into the workspace's playbooks/ folder: `page-on-burn` pages (an HTTP POST to a
receiver on 127.0.0.1 that stands in for a pager) for every SecLO whose page-tier burn-rate alert fires, and
`ticket-past-sla` would open a ticket for each critical or high finding past its SLA, shown as a dry run that
sends nothing. Both are audited in the store like any run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from seclo.atomic import write_text_atomic
from seclo.playbooks.engine import PlaybookRunner
from seclo.playbooks.loader import load_playbooks
from seclo.playbooks.outcomes import RunOutcome
from seclo.slo.status import SloResult
from seclo.store import open_store
from seclo.workspace import Workspace

__all__ = ["DemoPlaybooks", "run_demo_playbooks"]

_PAGE = """\
# Written by `seclo demo`: page the on-call person when a SecLO burns its error budget fast.
apiVersion: seclo/v1
kind: Playbook
metadata:
  name: page-on-burn
  description: Page on a fast error-budget burn (the demo's pager is a local HTTP receiver).
spec:
  mode: automatic
  trigger: {type: slo_alert, slo: "*", tier: page}
  steps:
    - name: page
      type: http
      method: POST
      url: URL/page
      body:
        summary: "SecLO {{ trigger.slo }}: {{ trigger.alert }} burning {{ '%.1f' | format(trigger.long_burn_rate) }}x"
        severity: critical
        source: seclo
"""

_TICKET = """\
# Written by `seclo demo`: a ticket for each critical or high finding past its SLA (shown as a dry run).
apiVersion: seclo/v1
kind: Playbook
metadata:
  name: ticket-past-sla
  description: Open a ticket for findings past their SLA.
spec:
  mode: automatic
  trigger: {type: finding_past_sla, severities: [critical, high]}
  steps:
    - name: open_ticket
      type: http
      url: URL/tickets
      body:
        title: "{{ trigger.severity | upper }} {{ trigger.vuln_id }} on {{ trigger.asset_id }} is past its SLA"
"""


@dataclass(frozen=True, slots=True)
class DemoPlaybooks:
    """What the demo's playbooks did.

    Attributes:
        real: the outcomes of `page-on-burn`, run for real.
        dry: the outcomes of `ticket-past-sla`, as a dry run.
        received: the requests the local receiver got (the real pages; a dry run sends none).
    """

    real: tuple[RunOutcome, ...]
    dry: tuple[RunOutcome, ...]
    received: int


@dataclass
class _Receiver:
    url: str
    paths: list[str]


@contextmanager
def _receiver() -> Iterator[_Receiver]:
    """An HTTP server on 127.0.0.1 that answers 200 to every POST and records the paths."""
    paths: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the demo prints its own summary."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _Receiver(f"http://127.0.0.1:{server.server_address[1]}", paths)
    finally:
        server.shutdown()
        server.server_close()


def run_demo_playbooks(workspace: Workspace, slos: Sequence[SloResult], at: datetime) -> DemoPlaybooks:
    """Write the demo's playbooks, then run `page-on-burn` for real and `ticket-past-sla` as a dry run at `at`."""
    folder = workspace.root / "playbooks"
    with _receiver() as receiver:
        for name, text in (("page-on-burn.yaml", _PAGE), ("ticket-past-sla.yaml", _TICKET)):
            write_text_atomic(folder / name, text.replace("URL", receiver.url))
        with (
            open_store(workspace.store_path) as store,
            PlaybookRunner(
                workspace, store, load_playbooks(folder), env={}, slo_results=lambda: list(slos)
            ) as runner,
        ):
            real = runner.run("page-on-burn", at=at)
            dry = runner.run("ticket-past-sla", at=at, dry_run=True)
        return DemoPlaybooks(tuple(real), tuple(dry), len(receiver.paths))
