"""Running a planned experiment: steady state, injection, method, detection and remediation, then rollback.

Order of a run (Chaos Toolkit's, with seclo's security steps in the middle):

1. steady state before (if declared); not met: aborted, nothing is injected;
2. the state file is written, then the fault is injected (injected_at is when injection began);
3. the method's activities run, while detection is polled with backoff from injected_at until its deadline,
   then remediation from detected_at until its deadline;
4. steady state after;
5. rollbacks, always: the experiment's rollbacks, then the fault's own undo; the state file is removed once
   all of them have succeeded;
6. the journal is written atomically, and the run is appended to experiment_runs.

SIGINT, SIGTERM or the maximum duration at any point of 1 to 4 skip to 5.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from seclo import __version__
from seclo.errors import SecloError, StoreError
from seclo.experiments.activities import ActivityRun, execute, seclo_baseline
from seclo.experiments.clock import Clock, iso_ms
from seclo.experiments.faults.interface import FaultError, RollbackConflictError, Undo
from seclo.experiments.interrupts import RunStopped, SignalGuard
from seclo.experiments.journal import base_journal, record_run, run_row, timings_document, write_journal
from seclo.experiments.model import Activity, Backoff, Hypothesis, Step, Watch
from seclo.experiments.plan import Plan
from seclo.experiments.result import RunResult, Timings, Verdict
from seclo.experiments.state import FaultState, RunState, remove_state, write_state
from seclo.experiments.variables import Variables
from seclo.experiments.watch import WatchOutcome, poll_until
from seclo.store.pending import write_pending

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["Narrator", "SilentNarrator", "run_plan"]


class Narrator(Protocol):
    """Receives one line per step of a run (already free of secrets)."""

    def say(self, message: str) -> None:
        """Tell the user what the run is doing."""


class SilentNarrator:
    """Says nothing: the default for library callers."""

    def say(self, message: str) -> None:
        """Ignore the message."""


@dataclass(slots=True)
class _Run:
    """The mutable state of a run in progress (private to the runner)."""

    plan: Plan
    clock: Clock
    narrator: Narrator
    variables: Variables
    journal: dict[str, Any]
    verdict: Verdict | None = None
    status: str = "completed"
    reason: str = ""
    injected: float | None = None
    injection_end: float | None = None
    detection: WatchOutcome | None = None
    remediation: WatchOutcome | None = None
    undo: Undo | None = None
    state_written: bool = False
    conflict: str = ""
    halt: threading.Event = field(default_factory=threading.Event)

    def say(self, message: str) -> None:
        self.narrator.say(self.variables.redactor().text(message))

    def resolve(self, step: Step) -> Activity:
        if isinstance(step, Activity):
            return step
        return next(a for a in self.plan.loaded.experiment.activities() if a.name == step.ref)

    def activity(self, activity: Activity, *, judge: bool = False, baseline: object = None) -> ActivityRun:
        self.say(f"{activity.type} {activity.name}")
        return execute(
            activity,
            self.variables,
            self.plan.context,
            self.clock,
            judge=judge,
            baseline=baseline,
            halt=self.halt,
        )


def _hypothesis(run: _Run, hypothesis: Hypothesis, when: str) -> bool:
    runs: list[dict[str, Any]] = []
    met = True
    for step in hypothesis.probes:
        result = run.activity(run.resolve(step), judge=True)
        runs.append(result.journal())
        if not result.tolerance_met:
            met = False
            break
    run.journal["steady_states"][when] = {"steady_state_met": met, "probes": runs}
    run.say(f"steady state {when}: {'met' if met else 'NOT met'}")
    return met


def _inject(run: _Run) -> None:
    plan = run.plan
    exp = plan.loaded.experiment
    faults: list[FaultState] = []
    if plan.fault is not None and plan.fault_params is not None:
        try:
            run.undo = plan.fault.plan(plan.fault_target, plan.fault_params, plan.context)
        except (SecloError, OSError):
            raise
        except Exception as exc:  # a plug-in's bug, whatever it raised: the run is aborted, not crashed
            raise _fault_failed(plan.fault.name, exc) from exc
        faults.append(FaultState(type=plan.fault.name, undo=run.undo.model_dump(mode="json")))
    plan.context.state_folder.mkdir(parents=True, exist_ok=True)
    write_state(
        plan.context.state_folder,
        RunState(
            run_id=plan.run_id,
            title=exp.title,
            experiment=str(plan.loaded.path),
            journal=str(plan.journal),
            started_at=iso_ms(run.clock.at(run.clock.monotonic())),
            injected_at=iso_ms(run.clock.now()),
            pid=os.getpid(),
            faults=faults,
        ),
    )
    run.state_written = True
    run.injected = run.clock.monotonic()
    details: dict[str, str] = {}
    if plan.fault is not None and plan.fault_params is not None and run.undo is not None:
        run.say(f"inject {plan.fault.name} into {plan.fault_target}")
        try:
            details = dict(plan.fault.inject(plan.fault_target, plan.fault_params, run.undo, plan.context))
        except (SecloError, OSError):
            raise
        except Exception as exc:  # a plug-in's bug, whatever it raised: rolled back like any failed injection
            raise _fault_failed(plan.fault.name, exc) from exc
    run.injection_end = run.clock.monotonic()
    run.variables = run.variables.with_injection(plan.run_id, iso_ms(run.clock.at(run.injected)), details)
    run.journal["injection"] = {
        "id": plan.run_id,
        "time": iso_ms(run.clock.at(run.injected)),
        "details": details,
    }


def _fault_failed(name: str, exc: Exception) -> FaultError:
    return FaultError(f"fault {name!r} failed: {type(exc).__name__}: {exc}")


def _watch(run: _Run, baselines: dict[str, object], stop: threading.Event) -> None:
    """Poll detection, then remediation (in the watcher thread)."""
    exp = run.plan.loaded.experiment
    assert exp.detection is not None and run.injected is not None  # noqa: S101, PT018 - checked by the caller
    hard_stop = run.clock.monotonic() + exp.max_duration
    run.detection = _poll(run, exp.detection, baselines["detection"], run.injected, hard_stop, stop)
    if run.detection.seen is not None and exp.remediation is not None:
        start = run.detection.seen
        run.remediation = _poll(run, exp.remediation, baselines["remediation"], start, hard_stop, stop)


def _poll(
    run: _Run, watch: Watch, baseline: object, start: float, hard_stop: float, stop: threading.Event
) -> WatchOutcome:
    probe = watch.probe

    def check() -> ActivityRun:
        return execute(probe, run.variables, run.plan.context, run.clock, judge=True, baseline=baseline)

    deadline = min(start + watch.deadline, hard_stop)
    return poll_until(check, run.clock, deadline, watch.poll if watch.poll else Backoff(), stop)


# How long a stopped run waits for its background activities to end (process ones are killed at once).
_BACKGROUND_GRACE = 5.0


def _method(run: _Run) -> None:
    exp = run.plan.loaded.experiment
    results: list[ActivityRun | Future[ActivityRun]] = []
    pool: ThreadPoolExecutor | None = None
    try:
        for step in exp.method:
            activity = run.resolve(step)
            if activity.background:
                if pool is None:
                    # Imported here: only background activities need a pool (concurrent.futures loads logging).
                    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

                    pool = ThreadPoolExecutor(max_workers=4)
                results.append(pool.submit(run.activity, activity))
            else:
                results.append(run.activity(activity))
        if pool is not None:
            pool.shutdown(wait=True)  # waiting for background activities (a signal may stop the run here)
    except BaseException:
        # The run was stopped: kill background processes, so nothing of the method outlives its rollback.
        run.halt.set()
        if pool is not None:
            from concurrent.futures import wait  # noqa: PLC0415 - loaded already with the pool

            wait([r for r in results if not isinstance(r, ActivityRun)], timeout=_BACKGROUND_GRACE)
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        run.journal["run"] = [
            r.journal() if isinstance(r, ActivityRun) else r.result().journal()
            for r in results
            if isinstance(r, ActivityRun) or r.done()
        ]


def _verdict(run: _Run, after_met: bool | None) -> None:
    exp = run.plan.loaded.experiment
    if exp.detection is not None and (run.detection is None or run.detection.seen is None):
        run.verdict, run.reason = (
            "detection_missed",
            f"nothing detected the fault within {exp.detection.deadline:g} s",
        )
    elif exp.remediation is not None and (run.remediation is None or run.remediation.seen is None):
        run.verdict = "remediation_missed"
        run.reason = f"detected, but not remediated within {exp.remediation.deadline:g} s of detection"
    elif after_met is False:
        run.verdict, run.status = "deviated", "completed"
        run.reason = "the steady state was not met after the experiment"
        run.journal["deviated"] = True
    else:
        run.verdict, run.reason = (
            "passed",
            "detected and remediated within their deadlines" if exp.detection else "completed",
        )


def _experiment(run: _Run, guard: SignalGuard, stop: threading.Event) -> threading.Thread | None:
    """Steps 1 to 4; returns the watcher thread, if one was started."""
    exp = run.plan.loaded.experiment
    hypothesis = exp.steady_state_hypothesis
    if hypothesis is not None and not _hypothesis(run, hypothesis, "before"):
        run.verdict, run.status = "aborted", "failed"
        run.reason = "the steady state was not met before the injection, so nothing was injected"
        return None
    baselines = {
        name: seclo_baseline(watch.probe.provider, run.variables, run.plan.context)
        for name, watch in (("detection", exp.detection), ("remediation", exp.remediation))
        if watch is not None
    }
    _inject(run)
    watcher = None
    if exp.detection is not None:
        watcher = threading.Thread(
            target=_watch, args=(run, baselines, stop), name="seclo-watch", daemon=True
        )
        watcher.start()
    _method(run)
    while watcher is not None and watcher.is_alive():
        watcher.join(0.5)
    after = _hypothesis(run, hypothesis, "after") if hypothesis is not None else None
    _verdict(run, after)
    return watcher


def _rollback(run: _Run) -> bool:
    """Step 5; whether everything was undone."""
    plan = run.plan
    complete = True
    entries: list[dict[str, Any]] = []
    for step in plan.loaded.experiment.rollbacks:
        result = run.activity(run.resolve(step))
        entries.append(result.journal())
    if plan.fault is not None and run.undo is not None:
        start = run.clock.monotonic()
        status, detail = "succeeded", ""
        try:
            detail = plan.fault.rollback(run.undo)
        except RollbackConflictError as exc:
            # Undone as far as it safely can be: nothing is left for `recover`, but a person must merge.
            status, detail = "conflict", str(exc)
            run.conflict = detail
        except (SecloError, OSError) as exc:
            status, detail, complete = "failed", str(exc), False
        except Exception as exc:  # a plug-in's bug: reported, and the state file is kept for `recover`
            status, detail, complete = "failed", f"{type(exc).__name__}: {exc}", False
        end = run.clock.monotonic()
        run.say(f"rollback {plan.fault.name}: {detail or 'nothing left to undo'}")
        entries.append(
            {
                "activity": {
                    "type": "action",
                    "name": f"undo {plan.fault.name}",
                    "provider": {"type": "seclo-fault"},
                },
                "output": detail,
                "start": iso_ms(run.clock.at(start)),
                "status": status,
                "end": iso_ms(run.clock.at(end)),
                "duration": round(end - start, 6),
            }
        )
    run.journal["rollbacks"] = entries
    if complete and run.state_written:
        remove_state(plan.context.state_folder, plan.run_id)
    return complete


def _check_not_stopped(stop: threading.Event | None) -> None:
    """Raise RunStopped if a signal arrived before the run's guard was installed."""
    if stop is not None and stop.is_set():
        raise RunStopped("interrupted by a signal before the injection", "interrupted")


def run_plan(
    plan: Plan, narrator: Narrator | None = None, *, stop: threading.Event | None = None
) -> RunResult:
    """Run a planned experiment to its verdict, always rolling back.

    Args:
        plan: the checked experiment.
        narrator: told each step.
        stop: set when a signal arrived before the run's own signal guard was installed (continuous mode);
            the run then ends as interrupted before injecting anything.

    Returns:
        The verdict, the timings and where the journal is. An interrupted run (SIGINT, SIGTERM) returns
        after rollback with status "interrupted"; the caller decides how to exit.
    """
    clock = Clock()
    started = clock.monotonic()
    exp = plan.loaded.experiment
    redactor = plan.variables.redactor()
    journal = base_journal(plan.loaded.document, __version__)
    journal["start"] = iso_ms(clock.at(started))
    run = _Run(plan, clock, narrator or SilentNarrator(), plan.variables, journal)
    halt = run.halt  # tells the watcher thread to stop polling, and background processes to end
    watcher: threading.Thread | None = None
    rolled_back: float | None = None
    complete = False
    with SignalGuard(exp.max_duration) as guard:
        try:
            _check_not_stopped(stop)
            watcher = _experiment(run, guard, halt)
        except RunStopped as stopped:
            run.verdict, run.status, run.reason = "aborted", stopped.status, stopped.reason
        except (SecloError, OSError) as exc:
            run.verdict, run.status, run.reason = "aborted", "aborted", str(exc)
        finally:
            guard.rolling_back()
            halt.set()
            complete = _rollback(run)
            rolled_back = clock.monotonic()
            if not complete:
                run.reason += "; a rollback failed: run `seclo experiment recover` once the cause is fixed"
            if run.conflict:
                run.reason += f"; rollback conflict: {run.conflict}"
            if guard.deferred and run.status == "completed":
                run.status = "interrupted"
    del watcher
    ended = clock.monotonic()
    result = replace(_result(run, started, ended, rolled_back), restored=complete, conflict=run.conflict)
    _finish_journal(run, result, ended - started)
    plan.journal.parent.mkdir(parents=True, exist_ok=True)
    write_journal(plan.journal, run.journal, redactor)
    try:
        record_run(plan.context.store_path, result)
    except StoreError as exc:
        # Another process holds the store: keep the row beside it for the next writer to load.
        try:
            kept = write_pending(plan.context.store_path, "experiment_runs", run_row(result))
        except OSError as error:
            run.say(
                f"the run was not recorded in the store ({exc}) nor kept ({error}); journal: {plan.journal}"
            )
        else:
            run.say(f"the store is busy ({exc}); the run waits in {kept} for the next command that writes it")
        return _replace_recorded(result)
    return result


def _replace_recorded(result: RunResult) -> RunResult:
    return replace(result, recorded=False)


def _ms(a: float | None, b: float | None) -> int | None:
    return None if a is None or b is None else round((b - a) * 1000)


def _result(run: _Run, started: float, ended: float, rolled_back: float | None) -> RunResult:
    clock, plan = run.clock, run.plan
    exp = plan.loaded.experiment
    detected = run.detection.seen if run.detection else None
    remediated = run.remediation.seen if run.remediation else None

    def at(mono: float | None) -> Any:
        return None if mono is None else clock.at(mono)

    timings = Timings(
        started_at=clock.at(started),
        ended_at=clock.at(ended),
        injected_at=at(run.injected),
        detected_at=at(detected),
        remediated_at=at(remediated),
        rolled_back_at=at(rolled_back),
        time_to_detect_ms=_ms(run.injected, detected),
        time_to_remediate_ms=_ms(detected, remediated),
        injection_ms=_ms(run.injected, run.injection_end),
    )
    return RunResult(
        run_id=plan.run_id,
        title=exp.title,
        verdict=run.verdict or "aborted",
        status=run.status,
        # An error's message may quote a substituted target or argument: the reason is printed, so redact it.
        reason=run.variables.redactor().text(run.reason),
        fault=exp.fault.type if exp.fault else None,
        technique=exp.fault.technique if exp.fault else None,
        timings=timings,
        journal=plan.journal,
        name=plan.loaded.path.stem,
    )


def _watch_document(outcome: WatchOutcome | None, watch: Watch | None, clock: Clock) -> dict[str, Any] | None:
    if watch is None:
        return None
    if outcome is None:
        return {"deadline_ms": round(watch.deadline * 1000), "polls": 0, "seen_at": None}
    return {
        "deadline_ms": round(watch.deadline * 1000),
        "polls": outcome.polls,
        "seen_at": None if outcome.seen is None else iso_ms(clock.at(outcome.seen)),
        # The condition became true between the last poll that missed and the first that saw it.
        "not_seen_at": None if outcome.last_miss is None else iso_ms(clock.at(outcome.last_miss)),
        "last": None if outcome.last is None else outcome.last.journal(),
    }


def _finish_journal(run: _Run, result: RunResult, duration: float) -> None:
    exp = run.plan.loaded.experiment
    journal = run.journal
    journal["end"] = iso_ms(result.timings.ended_at)
    journal["duration"] = round(duration, 3)
    journal["status"] = result.status
    journal["run_id"] = result.run_id
    journal["verdict"] = result.verdict
    journal["reason"] = result.reason
    if result.conflict:
        journal["rollback_conflict"] = result.conflict
    journal["timings"] = timings_document(result.timings)
    if exp.fault is not None:
        journal["fault"] = {
            "type": exp.fault.type,
            "target": run.plan.fault_target,
            "technique": exp.fault.technique,
            "parameters": run.plan.fault_params.model_dump(mode="json") if run.plan.fault_params else {},
        }
    journal["detection"] = _watch_document(run.detection, exp.detection, run.clock)
    journal["remediation"] = _watch_document(run.remediation, exp.remediation, run.clock)
