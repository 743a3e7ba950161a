"""The starter Security Level Objectives `seclo init` writes into slos/: one OpenSLO v1 file per SecLO.

Each uses a catalog SLI (metricSource type `seclo`) with its default parameters; edit the files to taste.
"""

from __future__ import annotations

from pathlib import Path

from seclo.atomic import write_missing

__all__ = ["STARTER_SLOS", "write_starter_slos"]


def _slo(
    name: str,
    title: str,
    description: str,
    indicator: str,
    target: float,
    window: str = "28d",
    params: str = "{}",
    min_events: int = 0,
) -> str:
    guard = (
        "\n  annotations:\n"
        '    # Fewer events than this in the window: "insufficient_data", which never alerts.\n'
        f'    seclo/min-events: "{min_events}"'
    )
    annotations = guard if min_events else ""
    return f"""\
# {title}. Written by `seclo init`; an OpenSLO v1 file (https://openslo.com), edit freely.
# The catalog SLI `{indicator}` yields good and total per timeslice; see docs/sli-catalog.md for its params.
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
  displayName: {title}{annotations}
spec:
  description: {description}
  service: security
  indicator:
    metadata:
      name: {name}
    spec:
      ratioMetric:
        rawType: success
        raw:
          metricSource:
            type: seclo
            spec:
              indicator: {indicator}
              params: {params}
  timeWindow:
    - duration: {window}
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: {title}
      target: {target}
"""


_LOGIN = """\
# Login success. Written by `seclo init`; an OpenSLO v1 file (https://openslo.com), edit freely.
# The catalog SLI `login_success` yields successful and all logins per timeslice; a 5-minute slice is good
# when at least 90% of its logins succeed, so a burst of failures spends budget even on a quiet day. At night
# a slice holds only a few logins and one mistyped password can fail it, hence 95% of slices, not 99%.
apiVersion: openslo/v1
kind: SLO
metadata:
  name: login-success
  displayName: Login success
  annotations:
    # Below 1,000 logins in the window the figure says little: "insufficient_data", which never alerts.
    seclo/min-events: "1000"
spec:
  description: Logins succeed; a surge of failures signals credential stuffing or a broken identity provider.
  service: identity
  indicator:
    metadata:
      name: login-success
    spec:
      ratioMetric:
        rawType: success
        raw:
          metricSource:
            type: seclo
            spec:
              indicator: login_success
              params: {}
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Timeslices
  objectives:
    - displayName: Login success
      target: 0.95
      timeSliceTarget: 0.9
      timeSliceWindow: 5m
"""

_POLICY = """\
# Error budget policy. Written by `seclo init`; a seclo document (not OpenSLO) read with the SLO files.
# Steps run mildest first; an SLO's current step is the last one reached. Edit the actions to match what
# your team agreed; playbooks can act on the step names. See docs/slo-status.md.
apiVersion: seclo/v1
kind: ErrorBudgetPolicy
metadata:
  name: default
  displayName: Default error budget policy
spec:
  description: What the team does as an objective's error budget runs down.
  appliesTo:
    slos: ["*"]
  steps:
    - name: notify
      when:
        budgetRemainingBelow: 0.5
      action: Tell the owning team; review what changed recently and whether the trend continues.
    - name: prioritise
      when:
        budgetRemainingBelow: 0.25
      action: Put the fix ahead of feature work in the next planning; name an owner.
    - name: freeze
      when:
        budgetExhausted: true
      action: Freeze risky changes to the affected systems until the budget recovers; write a postmortem.
"""

# File name -> contents. The names are stable so that `seclo init` never writes the same SecLO twice.
STARTER_SLOS: dict[str, str] = {
    "login-success.yaml": _LOGIN,
    "mfa-coverage.yaml": _slo(
        "mfa-coverage",
        "MFA coverage",
        "At least 98% of active accounts have multi-factor authentication enabled.",
        "mfa_coverage",
        0.98,
    ),
    "orphaned-accounts.yaml": _slo(
        "orphaned-accounts",
        "No orphaned accounts",
        "Accounts whose owner has left are disabled; 99% of enabled accounts have an active owner.",
        "orphaned_accounts",
        0.99,
    ),
    "patch-latency.yaml": _slo(
        "patch-latency",
        "Patch latency within SLA",
        "95% of vulnerability findings are fixed within the SLA days for their severity (seclo.yaml sla_days).",
        "patch_latency",
        0.95,
        "90d",
    ),
    "mttd.yaml": _slo(
        "mttd",
        "Security incidents detected within 1h",
        "90% of security incidents are detected within one hour of occurring.",
        "time_to_detect",
        0.9,
        "90d",
        "{target: 1h, kind: security}",
        min_events=5,
    ),
    "unexpected-public-ports.yaml": _slo(
        "unexpected-public-ports",
        "No unexpected public ports",
        "99% of public assets expose only the ports they are expected to.",
        "unexpected_public_ports",
        0.99,
    ),
    "error-budget-policy.yaml": _POLICY,
}


def write_starter_slos(folder: Path) -> list[Path]:
    """Write the starter SecLOs into `folder` (created if needed), keeping any file that already exists.

    Returns:
        The files written.
    """
    return write_missing(folder, STARTER_SLOS)
