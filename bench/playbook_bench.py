"""Trigger-to-action latency: from an Alertmanager webhook arriving to the playbook's first step starting.

Run: `python bench/playbook_bench.py --rate 100 --seconds 10`

After each design the store is checked: the runs recorded (one per webhook) and the audit chain (intact). The
CPU column is this process's user+sys time for the design (the receiver and engine; not the load generator).

The receiver (seclo's AlertmanagerReceiver: uvicorn with seclo's application, on 127.0.0.1) runs in this process; the load
comes from a second process (this script with --load) posting webhooks at --rate per second, each alert with its
own fingerprint. Every alert triggers one automatic playbook whose first step POSTs to a local sink. Two designs
run side by side in the same run:

- seclo: playbooks loaded and the store opened once; each webhook is matched in memory and claimed in the store.
- naive: what a quick script does: per webhook, reload the playbook files and open (and close) the store.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from seclo.playbooks import Occurrence, PlaybookRunner, load_playbooks, verify_chain
from seclo.playbooks.alertmanager import AlertmanagerPayload
from seclo.playbooks.receiver import AlertmanagerReceiver
from seclo.store import open_store
from seclo.workspace import Workspace, init_workspace

PLAYBOOK = """\
apiVersion: seclo/v1
kind: Playbook
metadata: {{name: page}}
spec:
  mode: automatic
  trigger: {{type: alertmanager, labels: {{alertname: Burn*}}}}
  conditions: ["trigger.labels.severity == 'page'"]
  steps:
    - {{name: page, type: http, url: 'http://127.0.0.1:{port}/page', body: {{alert: '{{{{ trigger.fingerprint }}}}'}}}}
"""


class Latencies:
    """Arrival and first-step times per alert fingerprint."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: dict[str, float] = {}
        self.started: dict[str, float] = {}

    def on_arrival(self, payload: AlertmanagerPayload, at: float) -> None:
        with self.lock:
            for alert in payload.alerts:
                self.arrived[alert.identity] = at

    def step_started(self, run_id: str, playbook: str, step: str, occurrence: Occurrence) -> None:
        now = time.perf_counter()
        with self.lock:
            self.started.setdefault(str(occurrence.fields["fingerprint"]), now)

    def received(self) -> int:
        with self.lock:
            return len(self.arrived)

    def millis(self) -> list[float]:
        with self.lock:
            return sorted(
                (self.started[k] - self.arrived[k]) * 1000 for k in self.started if k in self.arrived
            )


class NaiveRunner:
    """Reloads the playbook files and reopens the store for every webhook."""

    def __init__(self, ws: Workspace, observer: Latencies) -> None:
        self.ws = ws
        self.observer = observer
        self.lock = threading.Lock()

    def handle_alertmanager(self, payload: Any, *, dry_run: bool = False) -> Any:
        with self.lock, open_store(self.ws.store_path) as store:
            playbooks = load_playbooks(self.ws.root / "playbooks")
            with PlaybookRunner(self.ws, store, playbooks, env={}, observer=self.observer) as runner:
                return runner.handle_alertmanager(payload)

    def refusal(self) -> str | None:
        """Each webhook opens its own engine: nothing outlives it to refuse."""
        return None


def _sink() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def load(url: str, rate: float, seconds: float, tag: str) -> None:
    """Post `rate` webhooks per second for `seconds` (the second process)."""
    total = int(rate * seconds)
    start = time.perf_counter()

    def send(i: int) -> None:
        alert = {
            "status": "firing",
            "labels": {"alertname": "BurnRateFast", "severity": "page", "slo": f"slo-{i % 7}"},
            "annotations": {},
            "startsAt": "2026-11-23T10:00:00Z",
            "fingerprint": f"{tag}-{i}",
        }
        body = json.dumps(
            {"version": "4", "status": "firing", "receiver": "seclo", "alerts": [alert]}
        ).encode()
        json_type = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=body, headers=json_type, method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            response.read()

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, i))
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        print(f"load: {len(errors)} of {total} webhooks could not be sent: {errors[0]}", file=sys.stderr)


def measure(name: str, root: Path, rate: float, seconds: float, sink_port: int) -> dict[str, float]:
    """Run one design under load and return its latency figures (milliseconds)."""
    init_workspace(root)
    (root / "playbooks" / "page.yaml").write_text(PLAYBOOK.format(port=sink_port), encoding="utf-8")
    ws = Workspace.open(root)
    times = Latencies()
    store = open_store(ws.store_path)
    handler: Any
    if name == "seclo":
        handler = PlaybookRunner(ws, store, load_playbooks(root / "playbooks"), env={}, observer=times)
    else:
        store.close()
        handler = NaiveRunner(ws, times)
    receiver = AlertmanagerReceiver(handler, on_arrival=times.on_arrival).start()
    expected = int(rate * seconds)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    try:
        subprocess.run(  # noqa: S603 - this script, as the load generator
            [
                sys.executable,
                __file__,
                "--load",
                f"http://127.0.0.1:{receiver.port}/",
                "--rate",
                str(rate),
                "--seconds",
                str(seconds),
                "--tag",
                name,
            ],
            check=True,
        )
        deadline = time.monotonic() + 300
        while len(times.millis()) < times.received() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        receiver.close()
        if name == "seclo":
            handler.close()
            store.close()
    used = resource.getrusage(resource.RUSAGE_SELF)
    # Everything must be on disk once the runner is closed: one run per webhook, and the chain intact.
    with open_store(ws.store_path, read_only=True) as check:
        recorded = int(check.conn.execute("SELECT count(*) FROM playbook_runs").fetchall()[0][0])
        chain = verify_chain(check)
    ms = times.millis()
    return {
        "received": times.received(),
        "recorded": recorded,
        "chain_ok": float(chain.ok),
        "audit_records": chain.records,
        "cpu": used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime,
        "webhooks": expected,
        "started": len(ms),
        "p50": statistics.median(ms),
        "p95": ms[int(0.95 * (len(ms) - 1))],
        "p99": ms[int(0.99 * (len(ms) - 1))],
        "max": ms[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="Webhooks per second.")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--design", choices=("seclo", "naive"), action="append", help="Run only this design (repeatable)."
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="x", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args.load, args.rate, args.seconds, args.tag)
        return
    sink = _sink()
    with tempfile.TemporaryDirectory(prefix="seclo-playbook-bench-") as tmp:
        print(
            f"{args.rate:g} webhooks/s for {args.seconds:g} s; latency from webhook arrival to first step start"
        )
        print(
            "| design | webhooks | received | first steps started | p50 ms | p95 ms | p99 ms | max ms | runs recorded "
            "| audit records | chain | receiver CPU s |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name in args.design or ("seclo", "naive"):
            r = measure(name, Path(tmp) / name, args.rate, args.seconds, int(sink.server_address[1]))
            print(
                f"| {name} | {r['webhooks']:.0f} | {r['received']:.0f} | {r['started']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                f"{r['p99']:.1f} | {r['max']:.1f} | {r['recorded']:.0f} | {r['audit_records']:.0f} | "
                f"{'intact' if r['chain_ok'] else 'BROKEN'} | {r['cpu']:.2f} |",
                flush=True,
            )
    sink.shutdown()


if __name__ == "__main__":
    main()
