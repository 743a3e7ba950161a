"""The playbook file: YAML shaped like a Kubernetes object (apiVersion seclo/v1, kind Playbook).

A playbook has a trigger, conditions (all must hold), ordered steps and a mode. The same file moves from
`manual` (a checklist a person walks through) to `approval` (seclo runs it, a person approves destructive
steps) to `automatic` without being rewritten. docs/playbooks.md describes every field.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from seclo.playbooks.durations import Span
from seclo.playbooks.templates import check_expression, check_template

__all__ = [
    "AlertmanagerTrigger",
    "ApprovalStep",
    "BudgetPolicyTrigger",
    "CommandStep",
    "ExperimentStep",
    "ExperimentTrigger",
    "FindingPastSlaTrigger",
    "HttpStep",
    "KnownExploitedTrigger",
    "ManualTrigger",
    "Mode",
    "Playbook",
    "RateLimit",
    "Retry",
    "ScheduleTrigger",
    "SloAlertTrigger",
    "Step",
    "StoreStep",
    "Trigger",
]

Mode = Literal["manual", "approval", "automatic"]
Severity = Literal["critical", "high", "medium", "low"]
# An experiment run's verdicts (seclo.experiments.VERDICTS, repeated so playbooks need not import the experiments
# package), and `failed`: any verdict but passed.
ExperimentOutcome = Literal[
    "failed", "passed", "detection_missed", "remediation_missed", "deviated", "aborted"
]
FAILED_VERDICTS = ("detection_missed", "remediation_missed", "deviated", "aborted")
NAME = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
# Step names are identifiers, so templates can write steps.open_ticket.status.
STEP_NAME = r"^[a-z_][a-z0-9_]*$"
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Triggers ------------------------------------------------------------------------------------------------------


class SloAlertTrigger(_Strict):
    """A burn-rate alert of a tier fires for an SLO (once per firing episode)."""

    type: Literal["slo_alert"]
    slo: str = Field(default="*", description="Glob over SLO names.")
    tier: Literal["page", "ticket", "any"] = "page"


class BudgetPolicyTrigger(_Strict):
    """An error-budget policy step is reached for an SLO (once per episode)."""

    type: Literal["budget_policy"]
    slo: str = "*"
    step: str = Field(description="The policy step's name, such as freeze.")


class ExperimentTrigger(_Strict):
    """An experiment run ended with one of `outcomes` (once per run), read from experiment_runs. `experiment` is a
    glob over experiment titles and file names; the outcome `failed` stands for every verdict but passed."""

    type: Literal["experiment_verdict"]
    experiment: str = "*"
    outcomes: tuple[ExperimentOutcome, ...] = ("failed",)

    def verdicts(self) -> tuple[str, ...]:
        """The verdicts the outcomes stand for."""
        expanded = [v for o in self.outcomes for v in (FAILED_VERDICTS if o == "failed" else (o,))]
        return tuple(dict.fromkeys(expanded))

    within: Span = timedelta(days=7)


class FindingPastSlaTrigger(_Strict):
    """An open finding is past its fix-by date (sla_days in seclo.yaml), once per finding."""

    type: Literal["finding_past_sla"]
    severities: tuple[Severity, ...] = ("critical", "high", "medium", "low")
    known_exploited_only: bool = False


class KnownExploitedTrigger(_Strict):
    """A finding of a known-exploited vulnerability opened within `within` and still open, once per finding."""

    type: Literal["known_exploited"]
    within: Span = timedelta(days=1)


class AlertmanagerTrigger(_Strict):
    """An alert in an Alertmanager webhook (v4) whose labels match, once per alert fingerprint and start."""

    type: Literal["alertmanager"]
    labels: dict[str, str] = Field(default_factory=dict, description="Label name -> glob over its value.")
    status: Literal["firing", "resolved", "any"] = "firing"


class ScheduleTrigger(_Strict):
    """Every `every`, aligned to the Unix epoch (once per slot)."""

    type: Literal["schedule"]
    every: Span


class ManualTrigger(_Strict):
    """Only on demand: `seclo playbook run NAME`."""

    type: Literal["manual"]


Trigger = Annotated[
    SloAlertTrigger
    | BudgetPolicyTrigger
    | ExperimentTrigger
    | FindingPastSlaTrigger
    | KnownExploitedTrigger
    | AlertmanagerTrigger
    | ScheduleTrigger
    | ManualTrigger,
    Field(discriminator="type"),
]
PUSHED_TRIGGERS = frozenset({"alertmanager", "manual"})


# Steps ---------------------------------------------------------------------------------------------------------


def _check_templates(value: Any) -> None:
    if isinstance(value, str):
        check_template(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_templates(k)
            _check_templates(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_templates(v)


class _Step(_Strict):
    name: str = Field(pattern=STEP_NAME)
    description: str | None = None
    destructive: bool = False
    timeout: Span = timedelta(seconds=60)

    @model_validator(mode="after")
    def _templates_parse(self) -> _Step:
        for field in type(self).model_fields:
            if field not in {"name", "type", "timeout", "destructive"}:
                _check_templates(getattr(self, field))
        return self


class CommandStep(_Step):
    """Run a program with an argument list (never a shell string); a non-zero exit fails the step."""

    type: Literal["command"]
    args: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)


class HttpStep(_Step):
    """An HTTP request with a JSON body from a template; retried with exponential backoff on 5xx, 429 and
    network errors."""

    type: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: JsonValue = None
    retries: int = Field(default=3, ge=0, le=10)
    backoff: Span = timedelta(milliseconds=500)
    # A 3xx answer fails the step unless this is set; even then credentials never go to another origin.
    follow_redirects: bool = False


class StoreStep(_Step):
    """Append a record to the store's playbook_records table."""

    type: Literal["store"]
    kind: str = Field(min_length=1)
    subject: str = ""
    fields: dict[str, JsonValue] = Field(default_factory=dict)


class ApprovalStep(_Step):
    """Wait until a person approves (`seclo playbook approve RUN_ID STEP`); automatic playbooks pass it."""

    type: Literal["approval"]
    message: str = ""


class ExperimentStep(_Step):
    """Run a security chaos experiment: `seclo experiment run NAME` as a subprocess."""

    type: Literal["experiment"]
    experiment: str = Field(min_length=1)


Step = Annotated[
    CommandStep | HttpStep | StoreStep | ApprovalStep | ExperimentStep, Field(discriminator="type")
]


# The playbook --------------------------------------------------------------------------------------------------


class RateLimit(_Strict):
    """At most `max_runs` runs started within any `per`."""

    max_runs: int = Field(ge=1)
    per: Span


class Retry(_Strict):
    """How often an occurrence whose run failed runs again: `attempts` runs in all, attempt n + 1 no earlier
    than `backoff x 2^(n - 1)` after attempt n failed (seclo.playbooks.claims)."""

    attempts: int = Field(default=3, ge=1, le=20)
    backoff: Span = timedelta(seconds=30)


class Metadata(_Strict):
    """Kubernetes-style metadata."""

    name: str = Field(pattern=NAME, max_length=63)
    description: str | None = None


class PlaybookSpec(_Strict):
    """What triggers the playbook, what must hold, and what it does."""

    mode: Mode = "manual"
    trigger: Trigger
    conditions: list[str] = Field(default_factory=list)
    secrets: list[Annotated[str, Field(pattern=ENV_NAME)]] = Field(default_factory=list)
    rate_limit: RateLimit | None = None
    retry: Retry = Field(default_factory=Retry)
    # An approval not given within this long expires: the run ends `expired` and can no longer be approved.
    approval_timeout: Span = timedelta(hours=24)
    steps: list[Step] = Field(min_length=1)

    @field_validator("conditions")
    @classmethod
    def _conditions_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            check_expression(text)
        return value

    @field_validator("steps")
    @classmethod
    def _unique_names(cls, value: list[Step]) -> list[Step]:
        seen: set[str] = set()
        for step in value:
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}; step names must be unique")
            seen.add(step.name)
        return value


class Playbook(_Strict):
    """A playbook file."""

    apiVersion: Literal["seclo/v1"]  # noqa: N815 - Kubernetes-style field name users write
    kind: Literal["Playbook"]
    metadata: Metadata
    spec: PlaybookSpec

    @property
    def name(self) -> str:
        """metadata.name."""
        return self.metadata.name

    def step_index(self, name_or_number: str) -> int:
        """The 0-based index of a step given by name or 1-based number; ValueError when there is none."""
        for index, step in enumerate(self.spec.steps):
            if step.name == name_or_number:
                return index
        if name_or_number.isdigit() and 1 <= int(name_or_number) <= len(self.spec.steps):
            return int(name_or_number) - 1
        raise ValueError(name_or_number)
