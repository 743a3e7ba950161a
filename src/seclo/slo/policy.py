"""Error budget policies: named steps a team agrees to take as an objective's budget runs down.

A policy is a seclo document in the workspace's slos/ folder, next to the OpenSLO files:

    apiVersion: seclo/v1
    kind: ErrorBudgetPolicy
    metadata: {name: default}
    spec:
      appliesTo: {slos: ["*"]}          # globs on SLO names and/or services; default: every SLO
      steps:                            # mildest first
        - name: notify
          when: {budgetRemainingBelow: 0.5}
          action: Tell the owning team; review what changed.
        - name: freeze
          when: {budgetExhausted: true}
          action: Freeze risky changes until the budget recovers.

A step is reached when every condition of its `when` holds at the evaluation time. The current step of an
objective is the last reached step in file order. Objectives with no data (or too little) reach no step:
no data is not a reason to freeze changes, nor a sign that all is well. See docs/slo-status.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from seclo.slo.evaluation import SloStatus

__all__ = [
    "ErrorBudgetPolicy",
    "PolicyEvaluation",
    "PolicyStep",
    "StepState",
    "evaluate_policy",
    "policy_for",
]

AlertTier = Literal["page", "ticket", "any"]


@dataclass(frozen=True, slots=True)
class PolicyStep:
    """One named step and the conditions that reach it (None: not part of the condition).

    Attributes:
        name: the step's name, such as "notify" or "freeze".
        action: what the team does at this step, in words (playbooks may act on the name).
        budget_remaining_below: reached when the remaining budget fraction is below this (0 to 1).
        budget_exhausted: reached when nothing of the budget is left (remaining fraction <= 0).
        burn_rate_above: reached when the burn rate over `burn_rate_window` exceeds this.
        burn_rate_window: one of the burn-rate windows (5m, 30m, 1h, 2h, 6h, 1d, 3d).
        alert_firing: reached while an alert of this tier fires ("any": either tier).
    """

    name: str
    action: str
    budget_remaining_below: float | None = None
    budget_exhausted: bool = False
    burn_rate_above: float | None = None
    burn_rate_window: str = "1h"
    alert_firing: AlertTier | None = None

    @property
    def condition(self) -> str:
        """The step's conditions in words, for tables and reports."""
        parts = []
        if self.budget_remaining_below is not None:
            parts.append(f"budget below {self.budget_remaining_below:.0%}")
        if self.budget_exhausted:
            parts.append("budget exhausted")
        if self.burn_rate_above is not None:
            parts.append(f"burn rate over {self.burn_rate_window} above {self.burn_rate_above:g}x")
        if self.alert_firing is not None:
            tier = "an" if self.alert_firing == "any" else f"a {self.alert_firing}"
            parts.append(f"{tier} alert firing")
        return " and ".join(parts)

    def reached(self, status: SloStatus) -> bool:
        """Whether every condition holds for `status` (never with no or too little data)."""
        if status.state not in ("met", "breached"):
            return False
        remaining = status.budget.remaining_fraction
        if self.budget_remaining_below is not None and not remaining < self.budget_remaining_below:
            return False
        if self.budget_exhausted and not remaining <= 0:
            return False
        if self.burn_rate_above is not None:
            rate = status.burn_rate(self.burn_rate_window)
            if math.isnan(rate) or not rate > self.burn_rate_above:
                return False
        return self.alert_firing is None or any(
            self.alert_firing in ("any", alert.window.severity) for alert in status.firing
        )


@dataclass(frozen=True, slots=True)
class ErrorBudgetPolicy:
    """A named, ordered list of steps and the objectives it applies to.

    Attributes:
        name: metadata.name.
        steps: mildest first.
        slos: globs matched against SLO names (empty with `services` empty: every SLO).
        services: globs matched against SLO services.
        display_name: metadata.displayName.
        description: spec.description.
    """

    name: str
    steps: tuple[PolicyStep, ...]
    slos: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    display_name: str | None = None
    description: str | None = None

    def applies_to(self, slo: str, service: str) -> bool:
        """Whether the policy covers the SLO named `slo` of `service`."""
        if not self.slos and not self.services:
            return True
        return any(fnmatchcase(slo, p) for p in self.slos) or any(
            fnmatchcase(service, p) for p in self.services
        )


@dataclass(frozen=True, slots=True)
class StepState:
    """A step evaluated for one objective."""

    step: PolicyStep
    reached: bool


@dataclass(frozen=True, slots=True)
class PolicyEvaluation:
    """A policy evaluated for one objective: every step and whether it is reached."""

    policy: ErrorBudgetPolicy
    steps: tuple[StepState, ...]

    @property
    def current(self) -> PolicyStep | None:
        """The last reached step (the most severe, as steps are listed mildest first), or None."""
        reached = [state.step for state in self.steps if state.reached]
        return reached[-1] if reached else None


def policy_for(policies: Sequence[ErrorBudgetPolicy], slo: str, service: str) -> ErrorBudgetPolicy | None:
    """The first policy (in file order) that applies to the SLO, or None."""
    return next((p for p in policies if p.applies_to(slo, service)), None)


def evaluate_policy(policy: ErrorBudgetPolicy, status: SloStatus) -> PolicyEvaluation:
    """Evaluate each step of `policy` against one objective's status."""
    return PolicyEvaluation(policy, tuple(StepState(step, step.reached(status)) for step in policy.steps))
