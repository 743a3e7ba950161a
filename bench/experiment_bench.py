"""Framework overhead of a trivial experiment, seclo against Chaos Toolkit, side by side in one run.

Usage:
    python bench/experiment_bench.py                    # installs chaostoolkit into a temporary venv
    python bench/experiment_bench.py --chaos /path/to/venv/bin/chaos --repeat 5

The experiment is the same JSON file for both: one steady-state probe, one action and one rollback, each a
`true` process (Chaos Toolkit's process provider). Both run from the command line as a user would
(`seclo experiment run` and `chaos run`), in new processes. Overhead = wall time of the whole command minus
the time the three activities themselves took (from each tool's journal). The goal is seclo <= 0.3 s.

CPU is user + system time of the command and its children (the activities' `true` processes included), which
the load of other jobs on the machine inflates far less than wall time. Both tools run from compiled bytecode,
as installed: pip compiles Chaos Toolkit's, and the bench compiles seclo's first (an editable install, or
PYTHONDONTWRITEBYTECODE=1, would otherwise compile seclo's modules from source on every run).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from datetime import datetime
from pathlib import Path

EXPERIMENT = {
    "version": "1.0.0",
    "title": "trivial",
    "description": "One probe, one action, one rollback.",
    "steady-state-hypothesis": {
        "title": "true works",
        "probes": [
            {"type": "probe", "name": "p", "tolerance": 0, "provider": {"type": "process", "path": "true"}}
        ],
    },
    "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
    "rollbacks": [{"type": "action", "name": "r", "provider": {"type": "process", "path": "true"}}],
}


def activity_seconds(journal: dict[str, object]) -> float:
    """Seconds spent inside activities, from a Chaos Toolkit or seclo journal."""

    def span(entry: dict[str, str]) -> float:
        start = datetime.fromisoformat(entry["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(entry["end"].replace("Z", "+00:00"))
        return (end - start).total_seconds()

    entries: list[dict[str, str]] = []
    states = journal.get("steady_states")
    if isinstance(states, dict):
        for state in (states.get("before"), states.get("after")):
            if isinstance(state, dict):
                entries += state.get("probes", [])
    for key in ("run", "rollbacks"):
        value = journal.get(key)
        if isinstance(value, list):
            entries += value
    return sum(span(e) for e in entries)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a command, which must succeed."""
    cpu = _children_cpu()
    began = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return wall, _children_cpu() - cpu


def compile_seclo() -> None:
    """Write seclo's bytecode cache, as `pip install` does for an installed package."""
    import seclo  # noqa: PLC0415 - the seclo that `python -m seclo` runs

    compileall.compile_dir(Path(seclo.__file__).parent, quiet=1)


def install_chaostoolkit(folder: Path) -> Path:
    """A venv with chaostoolkit from PyPI; its `chaos` command."""
    venv.create(folder, with_pip=True)
    pip = folder / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", "chaostoolkit"], check=True)  # noqa: S603
    return folder / "bin" / "chaos"


def main() -> None:
    """Run both tools --repeat times and print median wall, activity time, overhead and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chaos", type=Path, help="A `chaos` executable (default: install into a temp venv)."
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seclo-exp-bench-") as tmp:
        root = Path(tmp)
        (root / "experiments").mkdir()
        path = root / "experiments" / "trivial.json"
        path.write_text(json.dumps(EXPERIMENT, indent=2))
        chaos = args.chaos or install_chaostoolkit(root / "ctk-venv")
        compile_seclo()
        seclo = [sys.executable, "-m", "seclo", "experiment", "run", str(path), "--workspace", str(root)]
        figures: dict[str, list[tuple[float, float, float, float]]] = {"seclo": [], "chaostoolkit": []}
        for n in range(args.repeat + 1):  # the first round warms the file cache and is not counted
            wall, cpu = timed(seclo, root)
            journals = sorted(
                (root / ".seclo" / "experiments" / "journals").glob("*.json"), key=os.path.getmtime
            )
            journal = json.loads(journals[-1].read_text())
            seclo_figure = (wall, activity_seconds(journal), float(journal["duration"]), cpu)
            ctk_journal = root / f"ctk-{n}.json"
            wall, cpu = timed(
                [str(chaos), "--no-version-check", "run", "--journal-path", str(ctk_journal), str(path)], root
            )
            journal = json.loads(ctk_journal.read_text())
            ctk_figure = (wall, activity_seconds(journal), float(journal["duration"]), cpu)
            if n:
                figures["seclo"].append(seclo_figure)
                figures["chaostoolkit"].append(ctk_figure)
    print(f"trivial experiment (1 probe, 1 action, 1 rollback), median of {args.repeat} runs each")
    print(
        "overhead = wall - activities; in-run overhead = the journal's own duration - activities (no start-up)"
    )
    print(
        f"{'tool':<14}{'wall s':>10}{'activities s':>14}{'overhead s':>12}{'in-run overhead s':>20}"
        f"{'cpu s':>8}"
    )
    overhead = {}
    for tool, runs in figures.items():
        wall = statistics.median(w for w, _, _, _ in runs)
        acts = statistics.median(a for _, a, _, _ in runs)
        overhead[tool] = statistics.median(w - a for w, a, _, _ in runs)
        in_run = statistics.median(d - a for _, a, d, _ in runs)
        cpu = statistics.median(c for _, _, _, c in runs)
        print(f"{tool:<14}{wall:>10.3f}{acts:>14.3f}{overhead[tool]:>12.3f}{in_run:>20.3f}{cpu:>8.3f}")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    print(f"seclo / chaostoolkit overhead ratio: {overhead['seclo'] / overhead['chaostoolkit']:.2f}")
    print(f"goal: seclo overhead <= 0.300 s: {'met' if overhead['seclo'] <= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
