"""`seclo slo rules` for 1,000 SLOs: seclo's renderer against a naive per-SLO yaml.safe_dump, in one run.

Usage:
    python bench/rules_bench.py                  # 1,000 SLOs, best of 3
    python bench/rules_bench.py --slos 5000 --repeat 5

1,000 OpenSLO files are synthesised into a temporary workspace: a mix of seclo events SLIs, seclo snapshot
SLIs, Prometheus counters and templated Prometheus queries, over 28d, 30d and 90d rolling and 1M calendar
windows, with all tiers, page only and no alerts. seclo's figure is the whole command as a user runs it:
read and validate the files (`load_slo_documents`), build the rules and render the file.

The competitor renders the same rules the way a script without seclo's renderer would: one
`yaml.safe_dump` per SLO (PyYAML's pure-Python emitter), the documents concatenated. Both outputs are
parsed back and compared, so the comparison is like for like. `promtool check rules` on the output is
timed too, for scale (it is what Prometheus does when it loads the file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml

from seclo.prometheus.rule_file import render_rule_file, rule_group_document
from seclo.prometheus.rules import RuleSet, build_rules
from seclo.slo.loader import load_slo_documents

GOAL_SECONDS = 2.0
T = TypeVar("T")
_SOURCES = (
    "{ratioMetric: {rawType: success, raw: {metricSource: {type: seclo, spec: {indicator: login_success}}}}}",
    "{ratioMetric: {rawType: success, raw: {metricSource: {type: seclo, spec: {indicator: mfa_coverage}}}}}",
    "{ratioMetric: {good: {metricSource: {type: prometheus, spec: {query: 'ok_total{svc=\"s%d\"}'}}},"
    " total: {metricSource: {type: prometheus, spec: {query: 'all_total{svc=\"s%d\"}'}}}}}",
    '{ratioMetric: {bad: {metricSource: {type: prometheus, spec: {query: \'sum(rate(http_requests_total{svc="s%d",code=~"5.."}[{{.window}}]))\'}}},'
    " total: {metricSource: {type: prometheus, spec: {query: 'sum(rate(http_requests_total{svc=\"s%d\"}[{{.window}}]))'}}}}}",
)
_WINDOWS = (
    "[{duration: 28d, isRolling: true}]",
    "[{duration: 30d, isRolling: true}]",
    "[{duration: 90d, isRolling: true}]",
    "[{duration: 1M, calendar: {startTime: '2024-01-01 00:00:00', timeZone: UTC}}]",
)
_TIERS = ('"page,ticket"', "page", '"none"')


def write_slos(folder: Path, count: int) -> None:
    """`count` OpenSLO files, one SLO each, cycling through sources, windows and alert tiers."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        source = _SOURCES[i % len(_SOURCES)].replace("%d", str(i))
        text = f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: slo-{i:05d}
  displayName: Bench SLO {i}
  annotations: {{seclo/alert-tiers: {_TIERS[i % len(_TIERS)]}, seclo/runbook-url: "https://runbooks.example/{i}"}}
spec:
  service: service-{i % 50}
  indicator: {{metadata: {{name: slo-{i:05d}}}, spec: {source}}}
  timeWindow: {_WINDOWS[(i // len(_SOURCES)) % len(_WINDOWS)]}
  budgetingMethod: Occurrences
  objectives: [{{target: {0.99 if i % 2 else 0.995}}}]
"""
        (folder / f"slo-{i:05d}.yaml").write_text(text, encoding="utf-8")


def seclo_rules(folder: Path) -> tuple[str, RuleSet]:
    """What `seclo slo rules` does: load the files, build the rules, render one file."""
    rule_set = build_rules(load_slo_documents(folder).objectives)
    return render_rule_file(rule_set), rule_set


def naive_render(rule_set: RuleSet) -> str:
    """The competitor: one pure-Python yaml.safe_dump per SLO, concatenated under one `groups:` key."""
    by_slo: dict[str, list[object]] = {}
    for group in rule_set.groups:
        by_slo.setdefault(group.name.removesuffix("-period"), []).append(rule_group_document(group))
    parts = ["groups:\n"]
    for groups in by_slo.values():
        dumped = yaml.safe_dump(groups, sort_keys=False, default_flow_style=False, width=1 << 20)
        parts.append("".join("  " + line + "\n" for line in dumped.splitlines()))
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Timing:
    """A run's wall time and this process's CPU time (the second suffers less from other jobs on the
    machine; generating rules is single-threaded)."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def best_of(repeat: int, func: Callable[[], T]) -> tuple[Timing, T]:
    """The fastest of `repeat` runs (at least one), by wall time, and the last result."""
    best: Timing | None = None
    for _ in range(max(1, repeat)):
        wall, cpu = time.perf_counter(), time.process_time()
        result = func()
        run = Timing(time.perf_counter() - wall, time.process_time() - cpu)
        best = run if best is None or run.wall < best.wall else best
    assert best is not None
    return best, result


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seclo-rules-bench-") as tmp:
        folder = Path(tmp) / "slos"
        write_slos(folder, args.slos)
        load, _ = best_of(args.repeat, lambda: load_slo_documents(folder))
        total, (text, rule_set) = best_of(args.repeat, lambda: seclo_rules(folder))
        render, _ = best_of(args.repeat, lambda: render_rule_file(rule_set))
        naive, naive_text = best_of(args.repeat, lambda: naive_render(rule_set))
        assert yaml.load(text, yaml.CSafeLoader) == yaml.load(naive_text, yaml.CSafeLoader), (
            "the renderings differ"
        )
        rules = sum(len(g.rules) for g in rule_set.groups)
        rule_file = Path(tmp) / "rules.yaml"
        rule_file.write_text(text, encoding="utf-8")
        promtool = shutil.which("promtool")
        check = "promtool not installed"
        if promtool is not None:
            start = time.perf_counter()
            done = subprocess.run(  # noqa: S603 - promtool from PATH on our own output
                [promtool, "check", "rules", str(rule_file)], capture_output=True, check=False
            )
            status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
            check = f"{time.perf_counter() - start:.2f} s ({status})"
    met = "met" if total.wall <= GOAL_SECONDS else "NOT met"
    print(
        f"SLOs: {args.slos:,}; objectives written: {len(rule_set.objectives):,}; rules: {rules:,}; "
        f"file: {len(text) / 1e6:.1f} MB; best of {args.repeat}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"seclo slo rules, end to end (load + build + render): {total} (goal <= {GOAL_SECONDS:.0f} s wall: {met})"
    )
    print(f"  loading and validating the OpenSLO files:          {load}")
    print(f"render only, seclo (YAML events, libyaml emitter):   {render}")
    print(
        f"render only, naive (yaml.safe_dump per SLO):         {naive} ({naive.wall / render.wall:.1f}x seclo's wall)"
    )
    print(f"promtool check rules on the output, for scale:       {check}")


if __name__ == "__main__":
    main()
