"""Security chaos experiments: inject a reversible security fault, time detection and remediation, roll back.

See docs/experiments.md for the file format, the faults and probes, verdicts and safety rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# `faults` and `probes` name both a subpackage and a registry function; the function wins, as it always has. The
# subpackages are imported first (they are empty) so that importing one later cannot rebind the name.
import seclo.experiments.faults
import seclo.experiments.probes  # noqa: F401 - see above
from seclo.experiments.registry import faults, get_fault, get_probe, probes
from seclo.lazy import lazy_attributes

if TYPE_CHECKING:
    from seclo.experiments.faults.interface import Fault, FaultError, FaultParams, RollbackConflictError, Undo
    from seclo.experiments.loader import LoadedExperiment, find_experiment, list_experiments, load_experiment
    from seclo.experiments.model import Experiment
    from seclo.experiments.plan import Plan, plan_run
    from seclo.experiments.probes.interface import Observation, Probe, ProbeParams
    from seclo.experiments.recover import Recovery, recover_runs
    from seclo.experiments.result import VERDICTS, RunResult, Timings, Verdict
    from seclo.experiments.runner import Narrator, SilentNarrator, run_plan

__all__ = [
    "VERDICTS",
    "Experiment",
    "Fault",
    "FaultError",
    "FaultParams",
    "LoadedExperiment",
    "Narrator",
    "Observation",
    "Plan",
    "Probe",
    "ProbeParams",
    "Recovery",
    "RollbackConflictError",
    "RunResult",
    "SilentNarrator",
    "Timings",
    "Undo",
    "Verdict",
    "faults",
    "find_experiment",
    "get_fault",
    "get_probe",
    "list_experiments",
    "load_experiment",
    "plan_run",
    "probes",
    "recover_runs",
    "run_plan",
]

# The public names are imported on first use (PEP 562), as in seclo/__init__.py: `seclo experiment run` imports
# seclo.experiments.loader, and that must not load every fault, probe and the recovery code as well.
_LAZY = {
    "Fault": "seclo.experiments.faults.interface",
    "FaultError": "seclo.experiments.faults.interface",
    "FaultParams": "seclo.experiments.faults.interface",
    "RollbackConflictError": "seclo.experiments.faults.interface",
    "Undo": "seclo.experiments.faults.interface",
    "LoadedExperiment": "seclo.experiments.loader",
    "find_experiment": "seclo.experiments.loader",
    "list_experiments": "seclo.experiments.loader",
    "load_experiment": "seclo.experiments.loader",
    "Experiment": "seclo.experiments.model",
    "Plan": "seclo.experiments.plan",
    "plan_run": "seclo.experiments.plan",
    "Observation": "seclo.experiments.probes.interface",
    "Probe": "seclo.experiments.probes.interface",
    "ProbeParams": "seclo.experiments.probes.interface",
    "Recovery": "seclo.experiments.recover",
    "recover_runs": "seclo.experiments.recover",
    "VERDICTS": "seclo.experiments.result",
    "RunResult": "seclo.experiments.result",
    "Timings": "seclo.experiments.result",
    "Verdict": "seclo.experiments.result",
    "Narrator": "seclo.experiments.runner",
    "SilentNarrator": "seclo.experiments.runner",
    "run_plan": "seclo.experiments.runner",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
