"""Security chaos experiments: inject a reversible security fault, time detection and remediation, roll back.

See docs/experiments.md for the file format, the faults and probes, verdicts and safety rules.
"""

from seclo.experiments.faults.interface import Fault, FaultError, FaultParams, Undo
from seclo.experiments.loader import LoadedExperiment, find_experiment, list_experiments, load_experiment
from seclo.experiments.model import Experiment
from seclo.experiments.plan import Plan, plan_run
from seclo.experiments.probes.interface import Observation, Probe, ProbeParams
from seclo.experiments.recover import Recovery, recover_runs
from seclo.experiments.registry import faults, get_fault, get_probe, probes
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
