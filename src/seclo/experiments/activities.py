"""Running one activity with Chaos Toolkit's providers (process, http, python) or a seclo probe.

Results have the shapes chaoslib gives them, so tolerances written for Chaos Toolkit work unchanged:
process {status, stdout, stderr}; http {status, headers, body}; python the function's return value; seclo
probes a bool (with the probe's detail kept in the journal).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from seclo.errors import ConfigError, ExperimentError
from seclo.experiments.clock import Clock, iso_ms
from seclo.experiments.context import RunContext
from seclo.experiments.model import (
    Activity,
    HttpProvider,
    ProbeTolerance,
    ProcessProvider,
    Provider,
    PythonProvider,
    SecloProvider,
)
from seclo.experiments.registry import get_probe
from seclo.experiments.tolerance import default_success, within_tolerance
from seclo.experiments.variables import Variables, substitute
from seclo.process_group import ProcessHalted, ProcessTimedOut, communicate
from seclo.userfile import format_loc

__all__ = ["ActivityFailed", "ActivityRun", "execute", "probe_params", "run_provider", "seclo_baseline"]


class ActivityFailed(Exception):  # noqa: N818 - Chaos Toolkit's name for it
    """An activity could not do its job (Chaos Toolkit's ActivityFailed): recorded, not fatal to the run."""


@dataclass(slots=True)
class ActivityRun:
    """One activity's run, as a Chaos Toolkit journal entry.

    Attributes:
        activity: the activity as declared (for the journal).
        status: "succeeded" or "failed".
        output: what the provider returned.
        start, end: wall-clock times; duration in seconds.
        exception: the failure, as text lines.
        tolerance_met: for probes with a tolerance (or watched probes), whether the value was within it.
        detail: a seclo probe's one-line observation.
    """

    activity: dict[str, Any]
    status: str
    output: Any
    start: datetime
    end: datetime
    duration: float
    exception: list[str] | None = None
    tolerance_met: bool | None = None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def journal(self) -> dict[str, Any]:
        """The entry in Chaos Toolkit's journal shape."""
        entry: dict[str, Any] = {
            "activity": self.activity,
            "output": self.output,
            "start": iso_ms(self.start),
            "status": self.status,
            "end": iso_ms(self.end),
            "duration": round(self.duration, 6),
        }
        if self.exception:
            entry["exception"] = self.exception
        if self.tolerance_met is not None:
            entry["tolerance_met"] = self.tolerance_met
        if self.detail:
            entry["detail"] = self.detail
        return entry


def probe_params(provider: SecloProvider, arguments: dict[str, Any]) -> Any:
    """A seclo probe and its validated arguments.

    Raises:
        ConfigError: unknown probe, or arguments that do not fit it.
    """
    probe = get_probe(provider.probe)
    try:
        return probe, probe.params.model_validate(arguments)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(
            f"probe {provider.probe!r}: arguments.{format_loc(tuple(err['loc']))}: {err['msg']}"
        ) from None


def seclo_baseline(provider: Provider, variables: Variables, context: RunContext) -> object:
    """A seclo probe's baseline from just before the injection (None for other providers).

    Raises:
        ExperimentError: the probe failed to take it (nothing has been injected yet).
    """
    if not isinstance(provider, SecloProvider):
        return None
    probe, params = probe_params(provider, substitute(provider.arguments, variables))
    try:
        return probe.baseline(params, context)
    except Exception as exc:  # a plug-in's bug stops the run before the injection, whatever it raised
        raise ExperimentError(
            f"probe {provider.probe!r} could not take its baseline: {type(exc).__name__}: {exc}"
        ) from exc


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _communicate(
    command: str | list[str], shell: bool, limit: float | None, halt: threading.Event | None
) -> tuple[int, bytes, bytes]:
    """Run the command to its end; kill it and its children past `limit` seconds, once `halt` is set (the run
    was stopped while it ran in the background), or when the run is stopped in this thread (RunStopped)."""
    try:
        return communicate(command, shell=shell, limit=limit, halt=halt)
    except ProcessHalted:
        raise ActivityFailed("stopped with the run") from None
    except ProcessTimedOut:
        raise ActivityFailed("process activity took too long to complete") from None


def _process(
    p: ProcessProvider,
    variables: Variables,
    context: RunContext,
    timeout: float | None,
    halt: threading.Event | None = None,
) -> Any:
    arguments = substitute(p.arguments, variables)
    path = shutil.which(os.path.expanduser(p.path))
    if path is None:
        raise ActivityFailed(f"executable {p.path!r} not found")
    shell = isinstance(arguments, str)
    command: str | list[str]
    if isinstance(arguments, str):
        command = f"{path} {arguments}"  # Chaos Toolkit runs string arguments through the shell
    else:
        items = [x for pair in arguments.items() for x in pair] if isinstance(arguments, dict) else arguments
        command = [path, *(str(a) for a in items if a not in (None, ""))]
    status, out, err = _communicate(command, shell, p.timeout or timeout, halt)
    return {"status": status, "stdout": _decode(out), "stderr": _decode(err)}


def _http(p: HttpProvider, variables: Variables, timeout: float | None) -> Any:
    import http.client  # noqa: PLC0415 - loads ssl: only for http activities
    import urllib.error  # noqa: PLC0415 - urllib.request loads http.client and ssl: only for http activities
    import urllib.parse  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    from seclo.redirects import opener  # noqa: PLC0415 - loads urllib.request: only for http activities

    url = str(substitute(p.url, variables))
    headers = {str(k): str(v) for k, v in (substitute(p.headers, variables) or {}).items()}
    arguments = substitute(p.arguments, variables)
    method = p.method.upper()
    data = None
    if arguments and method == "GET":
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(arguments)
    elif arguments is not None:
        if headers.get("Content-Type") == "application/json":
            data = json.dumps(arguments).encode()
        else:
            data = (
                urllib.parse.urlencode(arguments).encode()
                if isinstance(arguments, dict)
                else str(arguments).encode()
            )
    limit = p.timeout[-1] if isinstance(p.timeout, list) else p.timeout
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        # Redirects are followed, as Chaos Toolkit's requests does, but credentials stay on their origin.
        with opener().open(request, timeout=limit or timeout or 30) as response:
            status, reply_headers, raw = int(response.status), dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, reply_headers, raw = int(exc.code), dict(exc.headers), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ActivityFailed(f"failed to connect to {url}: {exc}") from None
    except http.client.HTTPException as exc:
        raise ActivityFailed(f"{url} did not answer HTTP: {type(exc).__name__}: {exc}") from None
    body: Any = _decode(raw)
    if reply_headers.get("Content-Type", "").startswith("application/json"):
        with contextlib.suppress(json.JSONDecodeError):
            body = json.loads(body)
    if p.expected_status is not None and status != p.expected_status:
        raise ActivityFailed(f"{url} answered {status}, expected {p.expected_status}")
    return {"status": status, "headers": reply_headers, "body": body}


def _python(p: PythonProvider, variables: Variables) -> Any:
    try:
        func = getattr(importlib.import_module(p.module), p.func)
    except (ImportError, AttributeError) as exc:
        raise ActivityFailed(f"cannot load {p.module}.{p.func}: {exc}") from None
    arguments = dict(substitute(p.arguments, variables))
    parameters = inspect.signature(func).parameters
    if "configuration" in parameters:
        arguments["configuration"] = dict(variables.configuration)
    if "secrets" in parameters:
        arguments["secrets"] = {
            k: v for scope in p.secrets for k, v in variables.secrets.get(scope, {}).items()
        }
    try:
        return func(**arguments)
    except ExperimentError:
        raise
    except Exception as exc:  # the user's function failed: Chaos Toolkit records it and carries on
        raise ActivityFailed(traceback.format_exception_only(type(exc), exc)[0].strip()) from exc


def run_provider(
    provider: Provider,
    variables: Variables,
    context: RunContext,
    *,
    baseline: object = None,
    timeout: float | None = None,
    halt: threading.Event | None = None,
) -> tuple[Any, str]:
    """Run a provider once; its output, and a seclo probe's detail.

    Raises:
        ActivityFailed: the provider could not do its job.
        ConfigError: a seclo probe's arguments do not fit it.
    """
    if isinstance(provider, ProcessProvider):
        return _process(provider, variables, context, timeout, halt), ""
    if isinstance(provider, HttpProvider):
        return _http(provider, variables, timeout), ""
    if isinstance(provider, PythonProvider):
        return _python(provider, variables), ""
    probe, params = probe_params(provider, substitute(provider.arguments, variables))
    try:
        observation = probe.check(params, baseline, context)
    except Exception as exc:  # a plug-in's bug fails its check, whatever it raised (as a python provider's)
        raise ActivityFailed(f"probe {provider.probe!r} failed: {type(exc).__name__}: {exc}") from exc
    return observation.ok, observation.detail


def execute(
    activity: Activity,
    variables: Variables,
    context: RunContext,
    clock: Clock,
    *,
    baseline: object = None,
    judge: bool = False,
    timeout: float | None = None,
    halt: threading.Event | None = None,
) -> ActivityRun:
    """Run an activity (with its pauses) and record it; `judge` also checks its tolerance (or default).

    A process activity is killed once `halt` is set (for background activities of a stopped run).
    """
    pauses = activity.pauses
    if pauses is not None and pauses.before:
        time.sleep(pauses.before)
    start_mono = clock.monotonic()
    output: Any = None
    detail = ""
    status = "succeeded"
    failure: list[str] | None = None
    try:
        output, detail = run_provider(
            activity.provider,
            variables,
            context,
            baseline=baseline,
            timeout=activity.timeout or timeout,
            halt=halt,
        )
    except ActivityFailed as exc:
        status, failure = "failed", [f"ActivityFailed: {exc}"]
    end_mono = clock.monotonic()
    met: bool | None = None
    if judge:
        if status == "failed":
            met = False
        elif activity.tolerance is None:
            met = default_success(activity.provider.type, output)
        else:
            met = within_tolerance(
                activity.tolerance, output, lambda t, v: _tolerance_probe(t, v, variables, context)
            )
    if pauses is not None and pauses.after:
        time.sleep(pauses.after)
    return ActivityRun(
        activity=activity.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        status=status,
        output=output,
        start=clock.at(start_mono),
        end=clock.at(end_mono),
        duration=end_mono - start_mono,
        exception=failure,
        tolerance_met=met,
        detail=detail,
    )


def _tolerance_probe(tolerance: ProbeTolerance, value: Any, variables: Variables, context: RunContext) -> Any:
    provider = tolerance.provider
    if isinstance(provider, PythonProvider):
        provider = provider.model_copy(update={"arguments": {**provider.arguments, "value": value}})
    try:
        output, _ = run_provider(provider, variables, context)
    except ActivityFailed:
        return False
    return output
