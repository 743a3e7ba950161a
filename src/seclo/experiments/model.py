"""The experiment file: Chaos Toolkit's experiment structure plus seclo's fault, detection and remediation.

A Chaos Toolkit experiment (title, description, configuration, secrets, steady-state-hypothesis, method,
rollbacks; process, http and python providers) validates here as it is. seclo adds:

- `fault`: a built-in or plug-in fault (type, target, parameters, optional MITRE ATT&CK technique id);
- `detection`: a probe that must succeed within a deadline after the injection;
- `remediation`: a probe that must succeed (the fault gone) within a deadline after detection;
- `max_duration`: the longest the run may take before it is aborted and rolled back;
- the `seclo` provider type, which runs a built-in or plug-in probe anywhere a probe is allowed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    field_validator,
    model_validator,
)

from seclo.experiments.durations import Seconds

__all__ = [
    "Activity",
    "ActivityRef",
    "Backoff",
    "EnvValue",
    "Experiment",
    "FaultSpec",
    "HttpProvider",
    "Hypothesis",
    "Pauses",
    "ProcessProvider",
    "Provider",
    "PythonProvider",
    "SecloProvider",
    "Step",
    "Tolerance",
    "Watch",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EnvValue(_Strict):
    """A value read from an environment variable when the run starts (Chaos Toolkit's `type: env`)."""

    type: Literal["env"]
    key: str
    default: Any = None
    env_var_type: Literal["str", "int", "float", "bool", "json"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _mark_default(cls, data: Any) -> Any:
        # A default of null is a default; remember whether one was written at all.
        if isinstance(data, dict) and "default" in data:
            return {**data, "has_default": True}
        return data

    has_default: bool = False


def _env_or_plain(value: Any) -> Any:
    """A mapping with a `type` key must be an env reference (vault and dynamic probes are not supported)."""
    if isinstance(value, dict) and "type" in value:
        if value["type"] != "env":
            raise ValueError(
                f"configuration and secrets may come from the environment (type: env), not {value['type']!r}"
            )
        return EnvValue.model_validate(value)
    return value


ConfigValue = Annotated[Any, Field(description="A literal value or an env reference.")]


class ProcessProvider(_Strict):
    """Run an executable; the result is {status, stdout, stderr} (Chaos Toolkit's process provider)."""

    type: Literal["process"]
    path: str
    arguments: str | list[Any] | dict[str, Any] = Field(default_factory=list)
    timeout: float | None = None
    secrets: list[str] = Field(default_factory=list)


class HttpProvider(_Strict):
    """Call an HTTP endpoint; the result is {status, headers, body} (Chaos Toolkit's http provider)."""

    type: Literal["http"]
    url: str
    method: str = "GET"
    headers: dict[str, Any] | None = None
    arguments: Any = None
    timeout: float | list[float] | None = None
    verify_tls: bool = True
    max_retries: int = 0
    expected_status: int | None = None
    secrets: list[str] = Field(default_factory=list)


class PythonProvider(_Strict):
    """Call `module.func(**arguments)`; the result is what it returns (Chaos Toolkit's python provider)."""

    type: Literal["python"]
    module: str
    func: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)


class SecloProvider(_Strict):
    """Run a seclo probe (built in, or from the "seclo.probes" entry point group); the result is a bool."""

    type: Literal["seclo"]
    probe: str
    arguments: dict[str, Any] = Field(default_factory=dict)


Provider = Annotated[
    ProcessProvider | HttpProvider | PythonProvider | SecloProvider, Field(discriminator="type")
]


class RegexTolerance(_Strict):
    """The probe's value (or its `target` key) matches `pattern`."""

    type: Literal["regex"]
    pattern: str
    target: str | None = None


class RangeTolerance(_Strict):
    """The probe's value (or its `target` key) lies in [low, high]."""

    type: Literal["range"]
    range: tuple[float, float]
    target: str | None = None


class ProbeTolerance(_Strict):
    """Another probe, called with `value` added to its arguments, decides; truthy means within tolerance."""

    type: Literal["probe"]
    name: str = "tolerance"
    provider: Provider


Tolerance = (
    StrictBool
    | StrictInt
    | StrictFloat
    | StrictStr
    | list[Any]
    | Annotated[RegexTolerance | RangeTolerance | ProbeTolerance, Field(discriminator="type")]
)


class Pauses(_Strict):
    """Seconds to wait before and after an activity."""

    before: float | None = None
    after: float | None = None


class Activity(_Strict):
    """A probe (observes) or an action (changes something), as Chaos Toolkit defines them."""

    type: Literal["probe", "action"]
    name: str
    provider: Provider
    tolerance: Tolerance | None = None
    pauses: Pauses | None = None
    background: bool = False
    timeout: float | None = None
    controls: list[Any] | None = None

    @field_validator("controls")
    @classmethod
    def _no_controls(cls, value: list[Any] | None) -> list[Any] | None:
        if value:
            raise ValueError("Chaos Toolkit controls are not supported by seclo; remove them to run here")
        return value


class ActivityRef(_Strict):
    """A reference to an activity declared earlier, by name."""

    ref: str


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "ref" if "ref" in value else "activity"
    return "ref" if isinstance(value, ActivityRef) else "activity"


Step = Annotated[
    Annotated[Activity, Tag("activity")] | Annotated[ActivityRef, Tag("ref")], Discriminator(_step_kind)
]


class Hypothesis(_Strict):
    """The steady state: probes whose values must be within tolerance before and after the experiment."""

    title: str
    probes: list[Step] = Field(default_factory=list)


class FaultSpec(_Strict):
    """The security fault to inject."""

    type: str = Field(description="A built-in fault or one from the seclo.faults entry point group.")
    target: str = Field(description="What the fault touches: host:port, a file, a URL, or `store`.")
    parameters: dict[str, Any] = Field(default_factory=dict)
    technique: str | None = Field(
        default=None, pattern=r"^T\d{4}(\.\d{3})?$", description="MITRE ATT&CK technique id."
    )


class Backoff(_Strict):
    """How often a detection or remediation probe is polled: `initial`, times `factor` each poll, up to `max`."""

    initial: Seconds = 0.01
    factor: float = Field(default=2.0, ge=1.0)
    max: Seconds = 0.25


class WatchProbe(Activity):
    """The probe a detection or remediation watches (a probe activity; type and name may be left out)."""

    type: Literal["probe", "action"] = "probe"
    name: str = ""


class Watch(_Strict):
    """A probe that must succeed within `deadline`, polled with backoff."""

    probe: WatchProbe
    deadline: Seconds
    poll: Backoff = Backoff()


class Experiment(_Strict):
    """A security chaos experiment (a Chaos Toolkit experiment with seclo's security fields)."""

    api_version: Literal["seclo/v1"] | None = Field(default=None, alias="apiVersion")
    kind: Literal["Experiment"] | None = None
    version: str | None = None
    title: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    contributions: dict[str, str] = Field(default_factory=dict)
    configuration: dict[str, ConfigValue] = Field(default_factory=dict)
    secrets: dict[str, dict[str, ConfigValue]] = Field(default_factory=dict)
    extensions: list[dict[str, Any]] = Field(default_factory=list)
    runtime: dict[str, Any] = Field(default_factory=dict)
    steady_state_hypothesis: Hypothesis | None = Field(default=None, alias="steady-state-hypothesis")
    method: list[Step] = Field(default_factory=list)
    rollbacks: list[Step] = Field(default_factory=list)
    fault: FaultSpec | None = None
    detection: Watch | None = None
    remediation: Watch | None = None
    max_duration: Seconds = Field(default=900.0, gt=0)
    controls: list[Any] | None = None

    @field_validator("configuration")
    @classmethod
    def _configuration(cls, value: dict[str, Any]) -> dict[str, Any]:
        return {k: _env_or_plain(v) for k, v in value.items()}

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {scope: {k: _env_or_plain(v) for k, v in values.items()} for scope, values in value.items()}

    @field_validator("controls")
    @classmethod
    def _no_controls(cls, value: list[Any] | None) -> list[Any] | None:
        if value:
            raise ValueError("Chaos Toolkit controls are not supported by seclo; remove them to run here")
        return value

    @model_validator(mode="after")
    def _something_to_do(self) -> Experiment:
        if not self.method and self.fault is None:
            raise ValueError("an experiment needs a `method` or a `fault` (or both)")
        if self.remediation is not None and self.detection is None:
            raise ValueError("`remediation` is timed from detection, so it needs a `detection` too")
        return self

    def activities(self) -> list[Activity]:
        """Every activity declared in full, in file order (what ActivityRef names resolve against)."""
        found: list[Activity] = []
        hypothesis = self.steady_state_hypothesis.probes if self.steady_state_hypothesis else []
        for step in [*hypothesis, *self.method, *self.rollbacks]:
            if isinstance(step, Activity):
                found.append(step)
        return found
