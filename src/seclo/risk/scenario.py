"""Risk scenario files (YAML in the workspace's risk/ folder), validated and resolved into variants.

    apiVersion: seclo/v1
    kind: RiskScenario
    metadata: {name: data-breach, displayName: Customer data breach}
    spec:
      category: security                   # security | outage | other
      preset: iris-2022-breach             # optional; anything below overrides it
      frequency: {annualProbability: 0.13} # or {rate: 0.14}; optional dispersion
      severity: {p05: 20000, p95: 5.0e7}   # or p50+p95, low+high (90%), meanlog+sdlog; optional cap
      treatments:
        - name: mfa-everywhere
          annualCost: 150000
          frequencyFactor: 0.6             # or a whole frequency / severity of its own

See docs/risk-model.md for every field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seclo.errors import ConfigError
from seclo.risk.distributions import (
    Frequency,
    Lognormal,
    lognormal_from_interval,
    lognormal_from_median,
    rate_from_probability,
)
from seclo.risk.presets import PRESETS
from seclo.risk.tolerance import Tolerance, ToleranceFile
from seclo.userfile import load_model, read_user_text

__all__ = [
    "Correlation",
    "Scenario",
    "ScenarioFile",
    "Variant",
    "load_scenario",
    "load_scenarios",
    "load_tolerance",
    "preset_scenario",
]

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
# A p50 that differs from the fitted median by more than this share is reported as inconsistent.
P50_TOLERANCE = 0.10


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Dispersion(_Strict):
    """Year-to-year variation of the rate: a gamma mixture (negative binomial counts) or a lognormal one."""

    model: Literal["negativeBinomial", "poissonLognormal"]
    shape: Positive | None = Field(None, description="gamma shape k (negativeBinomial); smaller spreads more")
    sdlog: Positive | None = Field(None, description="sdlog of the rate (poissonLognormal)")

    @model_validator(mode="after")
    def _parameter(self) -> Dispersion:
        needed = "shape" if self.model == "negativeBinomial" else "sdlog"
        if getattr(self, needed) is None:
            raise ValueError(f"expected {needed} for the {self.model} model")
        return self


class FrequencyModel(_Strict):
    """Events per year: a Poisson `rate` or an `annualProbability` of at least one event."""

    rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    annual_probability: Annotated[float, Field(gt=0, lt=1)] | None = Field(None, alias="annualProbability")
    dispersion: Dispersion | None = None

    @model_validator(mode="after")
    def _one(self) -> FrequencyModel:
        if (self.rate is None) == (self.annual_probability is None):
            raise ValueError("expected rate or annualProbability (one of them)")
        return self

    def resolve(self) -> Frequency:
        """The frequency; an annual probability p becomes the rate -ln(1 - p) exactly."""
        rate = self.rate if self.rate is not None else rate_from_probability(self.annual_probability or 0.5)
        if self.dispersion is None:
            return Frequency(rate)
        if self.dispersion.model == "negativeBinomial":
            return Frequency(rate, "gamma", self.dispersion.shape or 1.0)
        return Frequency(rate, "lognormal", self.dispersion.sdlog or 1.0)


class SeverityModel(_Strict):
    """A lognormal loss per event from one pair of figures, in money or in `unit` times `costPerUnit`."""

    meanlog: float | None = None
    sdlog: Positive | None = None
    p05: Positive | None = None
    p50: Positive | None = None
    p95: Positive | None = None
    low: Positive | None = Field(None, description="lower end of a 90% interval")
    high: Positive | None = Field(None, description="upper end of a 90% interval")
    unit: str = "money"
    cost_per_unit: Positive | None = Field(None, alias="costPerUnit")
    cap: Positive | None = Field(None, description="largest loss a single event can cause")

    @model_validator(mode="after")
    def _one_pair(self) -> SeverityModel:
        pairs = {
            "meanlog and sdlog": self.meanlog is not None or self.sdlog is not None,
            "p05 and p95": self.p05 is not None,
            "low and high": self.low is not None or self.high is not None,
        }
        given = [name for name, present in pairs.items() if present]
        if not given and not (self.p50 is not None and self.p95 is not None):
            raise ValueError("expected meanlog and sdlog, p05 and p95, p50 and p95, or low and high")
        if len(given) > 1:
            raise ValueError(f"expected one way to give the severity, not {' and '.join(given)}")
        if (self.meanlog is None) != (self.sdlog is None) or (self.low is None) != (self.high is None):
            raise ValueError(f"expected both of {given[0]}")
        if self.p05 is not None and self.p95 is None:
            raise ValueError("expected p95 with p05")
        quantiles = (self.p05, self.p50, self.p95)
        if self.meanlog is not None and any(q is not None for q in quantiles):
            raise ValueError("expected no p05, p50 or p95 with meanlog and sdlog")
        if self.low is not None and self.p95 is not None:
            raise ValueError("expected no p95 with low and high (a 90% interval is p05 and p95 already)")
        return self

    def fit(self) -> tuple[float, float]:
        """(meanlog, sdlog) in the severity's own unit."""
        if self.meanlog is not None and self.sdlog is not None:
            return self.meanlog, self.sdlog
        if self.low is not None and self.high is not None:
            return lognormal_from_interval(self.low, self.high)
        if self.p05 is not None and self.p95 is not None:
            return lognormal_from_interval(self.p05, self.p95)
        return lognormal_from_median(self.p50 or 1.0, self.p95 or 2.0)

    def p50_warning(self) -> str | None:
        """A warning when a given p50 disagrees with the median fitted from the other two figures."""
        if self.p50 is None or (self.p05 is None and self.low is None):
            return None
        fitted = math.exp(self.fit()[0])
        if abs(self.p50 - fitted) > P50_TOLERANCE * fitted:
            return (
                f"p50 {self.p50:,.0f} disagrees with the median {fitted:,.0f} that the 90% interval implies "
                "(a lognormal's median is the geometric mean of p05 and p95); the fit uses the interval"
            )
        return None


class TreatmentModel(_Strict):
    """A variant of the scenario after a control improves, and what it costs per year."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    description: str | None = None
    annual_cost: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(0.0, alias="annualCost")
    frequency: FrequencyModel | None = None
    severity: SeverityModel | None = None
    frequency_factor: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        None, alias="frequencyFactor"
    )
    severity_factor: Positive | None = Field(None, alias="severityFactor")


class CorrelationModel(_Strict):
    """Scenarios in the same group have correlated annual frequencies (a one-factor Gaussian copula)."""

    group: Annotated[str, Field(min_length=1)]
    rho: Annotated[float, Field(ge=0, lt=1)]


class ScenarioSpec(_Strict):
    """The spec of a RiskScenario."""

    description: str | None = None
    category: Literal["security", "outage", "other"] | None = None
    preset: str | None = None
    frequency: FrequencyModel | None = None
    severity: SeverityModel | None = None
    correlation: CorrelationModel | None = None
    treatments: list[TreatmentModel] = []

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, preset: str | None) -> str | None:
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"expected one of the presets {', '.join(PRESETS)}")
        return preset

    @model_validator(mode="after")
    def _complete(self) -> ScenarioSpec:
        if self.preset is None and (self.frequency is None or self.severity is None):
            raise ValueError("expected frequency and severity, or a preset")
        names = [t.name for t in self.treatments]
        if len(set(names)) != len(names):
            raise ValueError("expected treatments with unique names")
        return self


class Metadata(_Strict):
    """metadata: the scenario's name."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    display_name: str | None = Field(None, alias="displayName")


class ScenarioFile(_Strict):
    """A RiskScenario document."""

    api_version: Literal["seclo/v1"] = Field(alias="apiVersion")
    kind: Literal["RiskScenario"]
    metadata: Metadata
    spec: ScenarioSpec


@dataclass(frozen=True, slots=True)
class Variant:
    """One way the world could be: a frequency, a severity in money, and what it costs to be in it."""

    name: str
    frequency: Frequency
    severity: Lognormal
    annual_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class Correlation:
    """The scenario's correlation group and its pairwise correlation of frequency."""

    group: str
    rho: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """A resolved scenario: the baseline, its treatments and what to tell the user about the inputs."""

    name: str
    display_name: str | None
    category: str
    baseline: Variant
    treatments: tuple[Variant, ...] = ()
    correlation: Correlation | None = None
    warnings: tuple[str, ...] = ()
    source: Path | None = None

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The baseline then each treatment."""
        return (self.baseline, *self.treatments)


def _severity(model: SeverityModel) -> Lognormal:
    meanlog, sdlog = model.fit()
    if model.cost_per_unit is not None:
        meanlog += math.log(model.cost_per_unit)
    return Lognormal(meanlog, sdlog, model.cap)


def _treatment(base: Variant, model: TreatmentModel) -> Variant:
    frequency = base.frequency if model.frequency is None else model.frequency.resolve()
    severity = base.severity if model.severity is None else _severity(model.severity)
    if model.frequency_factor is not None:
        frequency = replace(frequency, rate=frequency.rate * model.frequency_factor)
    if model.severity_factor is not None:
        severity = replace(severity, meanlog=severity.meanlog + math.log(model.severity_factor))
    return Variant(model.name, frequency, severity, model.annual_cost)


def resolve(doc: ScenarioFile, source: Path | None = None) -> Scenario:
    """The scenario a validated file describes, its preset filled in."""
    spec = doc.spec
    preset = PRESETS.get(spec.preset or "")
    warnings: list[str] = []
    if spec.frequency is not None:
        frequency = spec.frequency.resolve()
    elif preset is not None:
        frequency = Frequency(preset.rate)
    if spec.severity is not None:
        severity = _severity(spec.severity)
        warning = spec.severity.p50_warning()
        if warning:
            warnings.append(warning)
    elif preset is not None:
        scale = math.log(preset.cost_per_unit) if preset.cost_per_unit else 0.0
        severity = Lognormal(preset.meanlog + scale, preset.sdlog)
    category = spec.category or (preset.category if preset is not None else "other")
    baseline = Variant("baseline", frequency, severity)
    correlation = (
        None if spec.correlation is None else Correlation(spec.correlation.group, spec.correlation.rho)
    )
    return Scenario(
        name=doc.metadata.name,
        display_name=doc.metadata.display_name,
        category=category,
        baseline=baseline,
        treatments=tuple(_treatment(baseline, t) for t in spec.treatments),
        correlation=correlation,
        warnings=tuple(warnings),
        source=source,
    )


def load_scenario(path: Path) -> Scenario:
    """Read one scenario file.

    Raises:
        ConfigError: the file is missing or invalid (the message names file, line and YAML path).
    """
    return resolve(load_model(path, ScenarioFile), path)


def _files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
        else:
            files.append(path)
    return files


def _kind(path: Path) -> object:
    """The `kind` a YAML file declares (None when it is not a mapping or not YAML: validation says why)."""
    try:
        data = yaml.safe_load(read_user_text(path))
    except yaml.YAMLError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def load_tolerance(paths: Iterable[Path]) -> Tolerance | None:
    """The RiskTolerance document among `paths` (folders stand for their YAML files), or None.

    Raises:
        ConfigError: it is invalid, or there are two.
    """
    found = [path for path in _files(paths) if _kind(path) == "RiskTolerance"]
    if len(found) > 1:
        raise ConfigError(f"{found[1]}: a second RiskTolerance (the first is {found[0]}); keep one")
    return Tolerance.from_file(load_model(found[0], ToleranceFile)) if found else None


def load_scenarios(paths: Iterable[Path]) -> tuple[Scenario, ...]:
    """Read scenario files; a folder stands for its *.yaml and *.yml files (a RiskTolerance among them is
    left for load_tolerance).

    Raises:
        ConfigError: a file is invalid, or two scenarios share a name.
    """
    files = [path for path in _files(paths) if _kind(path) != "RiskTolerance"]
    scenarios = tuple(load_scenario(path) for path in files)
    seen: dict[str, Path | None] = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise ConfigError(
                f"{scenario.source}: scenario {scenario.name!r} is already defined in {seen[scenario.name]}"
            )
        seen[scenario.name] = scenario.source
    return scenarios


def preset_scenario(
    preset: str, *, name: str | None = None, rate: float | None = None, cost_per_unit: float | None = None
) -> Scenario:
    """A scenario straight from a preset, with its rate or cost per unit (per outage hour) replaced.

    Raises:
        ConfigError: no such preset.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown risk preset {preset!r}; known presets: {', '.join(PRESETS)}")
    found = PRESETS[preset]
    cost = cost_per_unit if cost_per_unit is not None else found.cost_per_unit
    meanlog = found.meanlog + (math.log(cost) if cost else 0.0)
    frequency = Frequency(found.rate if rate is None else rate)
    return Scenario(
        name=name or preset,
        display_name=None,
        category=found.category,
        baseline=Variant("baseline", frequency, Lognormal(meanlog, found.sdlog)),
    )
