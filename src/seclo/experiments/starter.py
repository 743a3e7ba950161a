"""The starter experiments `seclo init` writes into experiments/, with the example detector they run against.

`open-port` and `failed-logins` are the two experiments the README runs. They target the small detector of
examples/experiments (`detector.py`, standard library only), which `seclo init` copies beside them, so a
fresh workspace can run a real experiment on 127.0.0.1 at once:

    python experiments/detector.py --dir var &
    seclo experiment run open-port

Every address, port and folder can be moved with environment variables (SECLO_EXAMPLE_*), as in the
examples, and all of them are inside the default allowlist of seclo.yaml.
"""

from __future__ import annotations

from pathlib import Path

import seclo
from seclo.atomic import write_bytes_atomic, write_missing

__all__ = ["DETECTOR", "STARTER_EXPERIMENTS", "example_folder", "write_starter_experiments"]

DETECTOR = "detector.py"

_HEADER = """\
# Written by `seclo init`; see docs/experiments.md for every key. It runs against the example detector:
#   python experiments/detector.py --dir var &       (from the workspace; it watches ports 18000-18019)
# SECLO_EXAMPLE_VAR, SECLO_EXAMPLE_HEALTH and SECLO_EXAMPLE_PORT move its folder, health URL and port.
"""

STARTER_EXPERIMENTS: dict[str, str] = {
    "open-port.yaml": _HEADER
    + """\
# An unexpected service starts listening on a loopback port the detector watches: its port watcher must
# raise an unexpected-port alert within 1 s. Expected verdict: passed (exit 0).
apiVersion: seclo/v1
kind: Experiment
title: An unexpected listening port is detected
description: >
  A listener is started on 127.0.0.1:18010 for the duration of the run. The detector's port watcher should
  raise an unexpected-port alert for it within 1 s.
tags: [starter, exposure]
configuration:
  var: {type: env, key: SECLO_EXAMPLE_VAR, default: var}
  port: {type: env, key: SECLO_EXAMPLE_PORT, default: 18010, env_var_type: int}
  health_url: {type: env, key: SECLO_EXAMPLE_HEALTH, default: "http://127.0.0.1:18099/health"}
steady-state-hypothesis:
  title: The detector is up
  probes:
    - type: probe
      name: detector-health
      tolerance: 200
      provider: {type: http, url: "${health_url}", timeout: 2}
fault:
  type: listening_port
  target: 127.0.0.1:${port}
  technique: T1571
detection:
  deadline: 1s
  poll: {initial: 5ms, max: 20ms}
  probe:
    name: unexpected-port alert
    provider:
      type: seclo
      probe: log_line
      arguments:
        path: ${var}/detector.log
        pattern: "ALERT unexpected-port port=${port}$"
max_duration: 1m
""",
    "failed-logins.yaml": _HEADER
    + """\
# A burst of failed SSH logins is written into the auth log the detector follows. It must raise a
# brute-force alert for this injection's user within 2 s, and block it within 2 s of the alert.
# Expected verdict: passed (exit 0).
apiVersion: seclo/v1
kind: Experiment
title: Brute-force logins are detected and blocked
description: >
  Ten failed OpenSSH logins for a user that exists only in this run (chaos-<injection id>) are appended to
  the auth log. The detector's auth-log watcher should alert and add a deny rule.
tags: [starter, authentication]
configuration:
  var: {type: env, key: SECLO_EXAMPLE_VAR, default: var}
  health_url: {type: env, key: SECLO_EXAMPLE_HEALTH, default: "http://127.0.0.1:18099/health"}
steady-state-hypothesis:
  title: The detector is up
  probes:
    - type: probe
      name: detector-health
      tolerance: 200
      provider: {type: http, url: "${health_url}", timeout: 2}
fault:
  type: failed_logins
  target: ${var}/auth.log
  technique: T1110.001
  parameters:
    count: 10
detection:
  deadline: 2s
  poll: {initial: 5ms, max: 20ms}
  probe:
    name: brute-force alert for this injection
    provider:
      type: seclo
      probe: log_line
      arguments:
        path: ${var}/detector.log
        pattern: "ALERT brute-force src=127.0.0.1 user=${injection.user} "
remediation:
  deadline: 2s
  poll: {initial: 5ms, max: 20ms}
  probe:
    name: deny rule for this injection
    provider:
      type: seclo
      probe: log_line
      arguments:
        path: ${var}/blocklist
        pattern: "^deny src=127.0.0.1 user=${injection.user}$"
max_duration: 1m
""",
}


def example_folder() -> Path | None:
    """examples/experiments in a source checkout, or as packaged in the wheel; None when absent."""
    package = Path(seclo.__file__).parent
    for folder in (package / "examples" / "experiments", package.parents[1] / "examples" / "experiments"):
        if (folder / DETECTOR).is_file():
            return folder
    return None


def write_starter_experiments(folder: Path) -> list[Path]:
    """Write the starter experiments and the example detector into `folder`, keeping any file that exists.

    Returns:
        The files written (the detector only when this installation ships it).
    """
    written = write_missing(folder, STARTER_EXPERIMENTS)
    examples = example_folder()
    detector = folder / DETECTOR
    if examples is not None and not detector.exists():
        write_bytes_atomic(detector, (examples / DETECTOR).read_bytes(), shared=True)
        written.append(detector)
    return written
