"""`seclo serve` /metrics for 1,000 SLOs under load, against prometheus_client's stock server, in one run.

Usage:
    python bench/serve_bench.py                       # 1,000 SLOs, 20 s per load level, concurrency 1, 2, 4
    python bench/serve_bench.py --slos 1000 --seconds 30 --concurrency 2 --repeat 3

A workspace with a small generated organisation (30 days) and N OpenSLO files cycling over the catalog
SLIs is built in a temporary folder. Two servers export the same figures, each in its own process:

- seclo: `seclo serve --refresh 10s`: the exposition is rendered once per refresh in a background thread
  and every scrape gets the cached bytes (gzip-compressed once).
- stock: prometheus_client's `start_http_server` with a collector over the same figures (read from the store
  once at start, so the store is not part of its cost): the usual way, rendering the text for every scrape.

The load comes from separate processes (multiprocessing), each holding one persistent HTTP/1.1 connection
and asking for gzip as Prometheus does; every response is read in full and checked for status 200.
Latency is per request, measured in the load process. seclo's refreshes keep running during the load (in
their own worker process). The server CPU per request is the serving process's user + system time over the
level divided by its requests: on a shared machine it moves far less than the rate does.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SLIS = (
    ("login_success", "{}", "Occurrences"),
    ("login_success", "{services: [sso]}", "Occurrences"),
    ("brute_force_pressure", "{}", "Occurrences"),
    ("mfa_coverage", "{}", "Occurrences"),
    ("orphaned_accounts", "{}", "Occurrences"),
    ("unexpected_public_ports", "{}", "Occurrences"),
    ("patch_latency", "{}", "Occurrences"),
    ("time_to_detect", "{target: 1h}", "Occurrences"),
)
TARGETS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def slo_file(i: int) -> str:
    """The i-th bench SLO: catalog SLIs in turn, targets and services varying."""
    indicator, params, budgeting = SLIS[i % len(SLIS)]
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: bench-{i:04d}}}
spec:
  service: service-{i % 25:02d}
  indicator:
    metadata: {{name: bench-{i:04d}}}
    spec:
      ratioMetric:
        rawType: success
        raw: {{metricSource: {{type: seclo, spec: {{indicator: {indicator}, params: {params}}}}}}}
  timeWindow: [{{duration: 28d, isRolling: true}}]
  budgetingMethod: {budgeting}
  objectives: [{{target: {TARGETS[i % len(TARGETS)]}}}]
"""


def build_workspace(root: Path, slos: int) -> None:
    """A generated organisation (30 days, 200k logins) and `slos` SLO files."""
    from seclo.demo import import_generated  # noqa: PLC0415
    from seclo.generate import generate_organisation  # noqa: PLC0415
    from seclo.progress import NullReporter  # noqa: PLC0415
    from seclo.workspace import Workspace  # noqa: PLC0415

    (root / "slos").mkdir(parents=True)
    folder = root / "data"
    generate_organisation(folder, days=30, seed=5, auth_events=200_000, reporter=NullReporter())
    import_generated(Workspace.open(root), folder, NullReporter())
    for i in range(slos):
        (root / "slos" / f"bench-{i:04d}.yaml").write_text(slo_file(i), encoding="utf-8")


def stock_server(workspace: Path, port_file: Path) -> None:
    """The competitor: prometheus_client's own HTTP server, rendering the same figures for every scrape."""
    from prometheus_client import start_http_server  # noqa: PLC0415
    from prometheus_client.metrics_core import Metric  # noqa: PLC0415
    from prometheus_client.registry import CollectorRegistry  # noqa: PLC0415

    from seclo.prometheus import exporter  # noqa: PLC0415
    from seclo.prometheus.figures import read_figures  # noqa: PLC0415
    from seclo.store import open_store  # noqa: PLC0415
    from seclo.workspace import Workspace  # noqa: PLC0415

    ws = Workspace.open(workspace)
    with open_store(ws.store_path, read_only=True) as store:
        figures = read_figures(ws, store, datetime.now(UTC).replace(tzinfo=None))
    health = exporter.ExporterHealth(time.time(), 0.0, 0)
    counters = exporter.MonotonicCounters()

    class Collector:
        def collect(self) -> Iterator[Metric]:
            return iter(exporter.metric_families(figures, health, counters))

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    port_file.write_text(str(server.server_port))
    while True:
        time.sleep(3600)


@dataclass(frozen=True, slots=True)
class Level:
    """One load level's figures."""

    server: str
    concurrency: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    body_bytes: int
    cpu_us: float = float("nan")  # the server process's CPU time per request (user + system)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _load(args: tuple[str, int, float, float]) -> tuple[list[float], int, int]:
    """One load process: GET /metrics on one persistent connection from `start` until `stop` (epoch)."""
    host, port, start, stop = args
    connection = http.client.HTTPConnection(host, port, timeout=30)
    latencies: list[float] = []
    errors = size = 0
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        began = time.perf_counter()
        try:
            connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            continue
        latencies.append(time.perf_counter() - began)
        if response.status != 200:
            errors += 1
        size = len(body)
    connection.close()
    return latencies, errors, size


def run_level(name: str, url: str, concurrency: int, seconds: float) -> Level:
    """`concurrency` load processes for `seconds` against `url`'s /metrics."""
    host, port = url.removeprefix("http://").split(":")
    start = time.time() + 1.0
    with multiprocessing.get_context("spawn").Pool(concurrency) as pool:
        parts = pool.map(_load, [(host, int(port), start, start + seconds)] * concurrency)
    latencies = sorted(x for part in parts for x in part[0])
    errors = sum(part[1] for part in parts)
    if not latencies:
        return Level(name, concurrency, 0, seconds, 0, 0, 0, errors, 0)
    return Level(
        server=name,
        concurrency=concurrency,
        requests=len(latencies),
        seconds=seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        max_ms=latencies[-1] * 1000,
        errors=errors,
        body_bytes=max(part[2] for part in parts),
    )


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for_metrics(url: str, needle: bytes, deadline: float = 600.0) -> bytes:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=30) as response:  # noqa: S310 - loopback
                body: bytes = response.read()
            if needle in body:
                return body
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url}/metrics never showed {needle!r}")


def _health(body: bytes, name: bytes) -> float:
    line = next(line for line in body.splitlines() if line.startswith(name + b" "))
    return float(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=1, help="Rounds of all levels (servers alternate).")
    parser.add_argument("--workspace", type=Path, help="Reuse a workspace built by an earlier run.")
    parser.add_argument("--stock-server", nargs=2, metavar=("WORKSPACE", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stock_server:
        stock_server(Path(args.stock_server[0]), Path(args.stock_server[1]))
        return
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        workspace = args.workspace or Path(tmp) / "ws"
        if not (workspace / "slos").exists():
            began = time.perf_counter()
            build_workspace(workspace, args.slos)
            print(f"workspace: {args.slos} SLOs, built in {time.perf_counter() - began:.1f} s", flush=True)
        log = (Path(tmp) / "serve.log").open("w")
        seclo = subprocess.Popen(  # noqa: S603 - seclo's own CLI
            [sys.executable, "-m", "seclo", "serve", "--port", "0", "--refresh", "10s", "-w", str(workspace)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        port_file = Path(tmp) / "stock.port"
        stock = subprocess.Popen(  # noqa: S603 - this script
            [sys.executable, __file__, "--stock-server", str(workspace), str(port_file)], stderr=log
        )
        try:
            assert seclo.stdout is not None
            seclo_url = seclo.stdout.readline().split("listening on ", 1)[1].split()[0]
            body = _wait_for_metrics(seclo_url, b"seclo_slo_burn_rate{")
            refresh = _health(body, b"seclo_exporter_refresh_duration_seconds")
            series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
            print(
                f"seclo serve: first refresh {refresh:.1f} s, {series:,} series, {len(body):,} bytes plain",
                flush=True,
            )
            while not port_file.exists():
                time.sleep(0.2)
            stock_url = f"http://127.0.0.1:{port_file.read_text()}"
            _wait_for_metrics(stock_url, b"seclo_slo_burn_rate{")
            results: list[Level] = []
            for _ in range(args.repeat):
                for concurrency in args.concurrency:
                    for name, url, pid in (
                        ("seclo serve", seclo_url, seclo.pid),
                        ("prometheus_client stock", stock_url, stock.pid),
                    ):
                        cpu = process_cpu(pid)
                        level = run_level(name, url, concurrency, args.seconds)
                        cpu_us = (process_cpu(pid) - cpu) / max(level.requests, 1) * 1e6
                        level = dataclasses.replace(level, cpu_us=cpu_us)
                        results.append(level)
                        print(
                            f"{level.server:24} c={level.concurrency}  {level.rate:8.1f} req/s  "
                            f"p50 {level.p50_ms:6.1f} ms  p99 {level.p99_ms:7.1f} ms  max {level.max_ms:7.1f} ms  "
                            f"errors {level.errors}  body {level.body_bytes:,} B gzip  "
                            f"server CPU {level.cpu_us:,.0f} us/request",
                            flush=True,
                        )
            body = _wait_for_metrics(seclo_url, b"seclo_slo_burn_rate{")
            print(
                f"seclo serve refreshes during the run: last took "
                f"{_health(body, b'seclo_exporter_refresh_duration_seconds'):.1f} s, errors "
                f"{_health(body, b'seclo_exporter_refresh_errors_total'):.0f}; load average {os.getloadavg()}",
                flush=True,
            )
        finally:
            for process in (seclo, stock):
                process.terminate()
                process.wait(timeout=30)
            log.close()


if __name__ == "__main__":
    main()
