"""Run the real promtool (Debian's prometheus package, which scripts/test.sh installs) on generated rules."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from seclo.prometheus.rule_file import render_rule_file
from seclo.prometheus.rule_tests import render_rule_tests
from seclo.prometheus.rules import build_rules
from seclo.slo.openslo import Objective


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run promtool; the tests need it, so a missing one fails them rather than skipping."""
    binary = shutil.which("promtool")
    assert binary is not None, "promtool is missing: run scripts/test.sh, which installs Debian's prometheus"
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, check=False)


def write_rules_and_tests(folder: Path, objectives: Iterable[Objective]) -> list[tuple[Path, Path]]:
    """One rule file and one unit-test file per SLO (promtool evaluates every rule of the file at every step
    of every test, so per-SLO files keep the tests quick)."""
    by_slo: dict[str, list[Objective]] = {}
    for objective in objectives:
        by_slo.setdefault(objective.slo_name, []).append(objective)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for slo, members in by_slo.items():
        rule_set = build_rules(members)
        if not rule_set.objectives:
            continue
        rules, tests = folder / f"{slo}.rules.yaml", folder / f"{slo}.test.yaml"
        rules.write_text(render_rule_file(rule_set), encoding="utf-8")
        tests.write_text(render_rule_tests(rule_set, rules, tests), encoding="utf-8")
        written.append((rules, tests))
    return written


def check_and_test(folder: Path, objectives: Iterable[Objective]) -> list[tuple[Path, Path]]:
    """Write per-SLO rules and tests, and assert that `promtool check rules` and `promtool test rules` pass."""
    written = write_rules_and_tests(folder, objectives)
    assert written
    checked = promtool("check", "rules", *(rules for rules, _ in written))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", *(tests for _, tests in written))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(written)
    return written
