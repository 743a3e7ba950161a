"""Pydantic models of OpenSLO v1 documents as users write them (field names are OpenSLO's, via aliases).

Only the shapes are checked here; references between documents and metric sources are resolved by
`seclo.slo.loader`. Everything of ours rejects unknown fields; `metadata.labels` and `annotations` are free maps,
and a metric source's `spec` is free for source types other than seclo's own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, model_validator

from seclo.slo.duration import Duration, parse_duration

__all__ = [
    "DOCUMENT_MODELS",
    "AlertConditionDoc",
    "AlertNotificationTargetDoc",
    "AlertPolicyDoc",
    "AlertPolicyItem",
    "AlertPolicySpec",
    "DataSourceDoc",
    "ErrorBudgetPolicyDoc",
    "InlineIndicator",
    "MetricHolder",
    "MetricSource",
    "ObjectiveModel",
    "PrometheusConnection",
    "RatioMetric",
    "SecloSourceSpec",
    "ServiceDoc",
    "SliDoc",
    "SliSpec",
    "SloDoc",
    "SloSpec",
    "SqlSourceSpec",
]

Operator = Literal["lt", "lte", "gt", "gte"]
Description = Annotated[str, Field(max_length=1050)]
# RFC 1123 labels as OpenSLO requires, widened to the characters it encourages (and capitals, which its own
# README uses).
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9._|/\\-]{0,253}[A-Za-z0-9])?$")]
Fraction = Annotated[float, Field(strict=True, gt=0, lt=1)]


def _duration(value: object) -> Duration:
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 5m, 1h, 28d or 1M, written as text")  # noqa: TRY004
    return parse_duration(value)


def _fixed(duration: Duration) -> Duration:
    if duration.is_calendar:
        raise ValueError(f"expected a fixed length (m, h, d or w), not the calendar duration {duration}")
    return duration


def _slice_window(value: object) -> Duration:
    # OpenSLO: "timeSliceWindow: number | duration-shorthand"; a bare number is minutes.
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("expected a positive number of minutes or a duration such as 1m or 5m")
        return Duration(value, "m")
    return _fixed(_duration(value))


def _start_time(value: object) -> datetime:
    # YAML reads `2022-01-01 12:00:00` as a timestamp already; text is accepted in the same format.
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and len(value) >= 16 and value[10] in " T":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected a date and time such as 2024-01-01 00:00:00") from None
    else:
        raise ValueError("expected a date and time such as 2024-01-01 00:00:00")
    if parsed.tzinfo is not None:
        raise ValueError("expected a local date and time without an offset; the zone goes in timeZone")
    return parsed


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("expected an IANA time zone such as Europe/Paris") from None
    return value


DurationText = Annotated[Duration, PlainValidator(_duration)]
FixedDuration = Annotated[Duration, PlainValidator(_duration), AfterValidator(_fixed)]
SliceWindow = Annotated[Duration, PlainValidator(_slice_window)]
StartTime = Annotated[datetime, PlainValidator(_start_time)]
ZoneName = Annotated[str, AfterValidator(_zone)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Metadata(_Strict):
    """metadata: a name, and free labels and annotations."""

    name: Name
    display_name: str | None = Field(None, alias="displayName")
    labels: dict[str, str | list[str]] = {}
    annotations: dict[str, str] = {}


class MetricSource(_Strict):
    """Where a metric comes from; `spec` is checked later against the source type."""

    metric_source_ref: str | None = Field(None, alias="metricSourceRef")
    type: str | None = None
    spec: dict[str, Any] | None = None


class MetricHolder(_Strict):
    """The `{metricSource: ...}` wrapper OpenSLO puts around every source."""

    metric_source: MetricSource = Field(alias="metricSource")


class RatioMetric(_Strict):
    """good/total, bad/total, or a precomputed raw ratio."""

    counter: bool | None = None
    good: MetricHolder | None = None
    bad: MetricHolder | None = None
    total: MetricHolder | None = None
    raw_type: Literal["success", "failure"] | None = Field(None, alias="rawType")
    raw: MetricHolder | None = None

    @model_validator(mode="after")
    def _one_form(self) -> RatioMetric:
        if self.raw is not None:
            if self.good or self.bad or self.total:
                raise ValueError("raw cannot be combined with good, bad or total")
            if self.raw_type is None:
                raise ValueError("rawType (success or failure) is required with raw")
        elif self.raw_type is not None:
            raise ValueError("rawType is only used with raw")
        elif self.total is None or (self.good is None) == (self.bad is None):
            raise ValueError("expected good and total, bad and total, or raw with rawType")
        return self


class SliSpec(_Strict):
    """The spec of an SLI: exactly one of thresholdMetric or ratioMetric."""

    description: Description | None = None
    threshold_metric: MetricHolder | None = Field(None, alias="thresholdMetric")
    ratio_metric: RatioMetric | None = Field(None, alias="ratioMetric")

    @model_validator(mode="after")
    def _one_metric(self) -> SliSpec:
        if (self.threshold_metric is None) == (self.ratio_metric is None):
            raise ValueError("expected exactly one of thresholdMetric or ratioMetric")
        return self


class InlineIndicator(_Strict):
    """An SLI written inside an SLO or objective."""

    kind: Literal["SLI"] | None = None
    metadata: Metadata
    spec: SliSpec


class Calendar(_Strict):
    """Where calendar windows start, in which zone."""

    start_time: StartTime = Field(alias="startTime")
    time_zone: ZoneName = Field(alias="timeZone")


class TimeWindowModel(_Strict):
    """One rolling or calendar-aligned window."""

    duration: DurationText
    is_rolling: bool | None = Field(None, alias="isRolling")
    calendar: Calendar | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TimeWindowModel:
        rolling = self.is_rolling if self.is_rolling is not None else self.calendar is None
        if rolling and self.calendar is not None:
            raise ValueError("a rolling window (isRolling: true) takes no calendar")
        if not rolling and self.calendar is None:
            raise ValueError(
                "a calendar window (isRolling: false) needs calendar.startTime and calendar.timeZone"
            )
        if rolling and self.duration.is_calendar:
            raise ValueError(
                f"a rolling window needs a fixed length (m, h, d, w), not {self.duration}; "
                "months, quarters and years need a calendar window"
            )
        return self

    @property
    def rolling(self) -> bool:
        """Whether the window rolls (OpenSLO: isRolling defaults to false when a calendar is given)."""
        return self.is_rolling if self.is_rolling is not None else self.calendar is None


class ObjectiveModel(_Strict):
    """One objective (OpenSLO calls them thresholds)."""

    display_name: str | None = Field(None, alias="displayName")
    op: Operator | None = None
    value: float | None = Field(None, strict=True)
    target: Fraction | None = None
    target_percent: float | None = Field(None, alias="targetPercent", strict=True, gt=0, lt=100)
    time_slice_target: float | None = Field(None, alias="timeSliceTarget", strict=True, gt=0, le=1)
    time_slice_window: SliceWindow | None = Field(None, alias="timeSliceWindow")
    indicator: InlineIndicator | None = None
    indicator_ref: str | None = Field(None, alias="indicatorRef")
    composite_weight: float | None = Field(None, alias="compositeWeight", strict=True, gt=0)

    @model_validator(mode="after")
    def _one_target(self) -> ObjectiveModel:
        if (self.target is None) == (self.target_percent is None):
            raise ValueError("expected exactly one of target (0 to 1) or targetPercent (0 to 100)")
        if self.indicator is not None and self.indicator_ref is not None:
            raise ValueError("expected indicator or indicatorRef, not both")
        return self

    @property
    def fraction(self) -> float:
        """The target as a fraction in (0, 1)."""
        return self.target if self.target is not None else (self.target_percent or 0.0) / 100


class BurnRateCondition(_Strict):
    """condition: a burn-rate threshold over a lookback window."""

    kind: Literal["burnrate"] = "burnrate"
    op: Operator | None = None
    threshold: float = Field(strict=True)
    lookback_window: FixedDuration = Field(alias="lookbackWindow")
    alert_after: FixedDuration | None = Field(None, alias="alertAfter")


class AlertConditionSpec(_Strict):
    """The spec of an AlertCondition."""

    description: Description | None = None
    severity: str
    condition: BurnRateCondition


class ConditionItem(_Strict):
    """An alert policy's condition: a conditionRef or an inline AlertCondition."""

    condition_ref: str | None = Field(None, alias="conditionRef")
    kind: Literal["AlertCondition"] | None = None
    metadata: Metadata | None = None
    spec: AlertConditionSpec | None = None

    @model_validator(mode="after")
    def _ref_or_inline(self) -> ConditionItem:
        inline = self.metadata is not None and self.spec is not None
        if (self.condition_ref is not None) == inline:
            raise ValueError(
                "expected conditionRef, or an inline AlertCondition with kind, metadata and spec"
            )
        return self


class NotificationTargetSpec(_Strict):
    """The spec of an AlertNotificationTarget."""

    description: Description | None = None
    target: str


class TargetItem(_Strict):
    """An alert policy's notification target: a targetRef or an inline AlertNotificationTarget."""

    target_ref: str | None = Field(None, alias="targetRef")
    kind: Literal["AlertNotificationTarget"] | None = None
    metadata: Metadata | None = None
    spec: NotificationTargetSpec | None = None

    @model_validator(mode="after")
    def _ref_or_inline(self) -> TargetItem:
        inline = self.metadata is not None and self.spec is not None
        if (self.target_ref is not None) == inline:
            raise ValueError(
                "expected targetRef, or an inline AlertNotificationTarget with kind, metadata and spec"
            )
        return self


class AlertPolicySpec(_Strict):
    """The spec of an AlertPolicy (OpenSLO v1 allows one condition)."""

    description: Description | None = None
    alert_when_no_data: bool = Field(False, alias="alertWhenNoData")
    alert_when_resolved: bool = Field(False, alias="alertWhenResolved")
    alert_when_breaching: bool = Field(False, alias="alertWhenBreaching")
    conditions: list[ConditionItem] = Field(min_length=1, max_length=1)
    notification_targets: list[TargetItem] = Field(alias="notificationTargets")


class AlertPolicyItem(_Strict):
    """An SLO's alert policy: an alertPolicyRef or an inline AlertPolicy."""

    alert_policy_ref: str | None = Field(None, alias="alertPolicyRef")
    kind: Literal["AlertPolicy"] | None = None
    metadata: Metadata | None = None
    spec: AlertPolicySpec | None = None

    @model_validator(mode="after")
    def _ref_or_inline(self) -> AlertPolicyItem:
        inline = self.metadata is not None and self.spec is not None
        if (self.alert_policy_ref is not None) == inline:
            raise ValueError("expected alertPolicyRef, or an inline AlertPolicy with kind, metadata and spec")
        return self


class SloSpec(_Strict):
    """The spec of an SLO."""

    description: Description | None = None
    service: str
    indicator: InlineIndicator | None = None
    indicator_ref: str | None = Field(None, alias="indicatorRef")
    time_window: list[TimeWindowModel] | None = Field(None, alias="timeWindow", min_length=1, max_length=1)
    budgeting_method: Literal["Occurrences", "Timeslices", "RatioTimeslices"] = Field(alias="budgetingMethod")
    objectives: list[ObjectiveModel] = Field(min_length=1)
    alert_policies: list[AlertPolicyItem] | None = Field(None, alias="alertPolicies")

    @model_validator(mode="after")
    def _one_indicator(self) -> SloSpec:
        if self.indicator is not None and self.indicator_ref is not None:
            raise ValueError("expected indicator or indicatorRef, not both")
        return self


class ServiceSpec(_Strict):
    """The spec of a Service."""

    description: Description | None = None


class DataSourceSpec(_Strict):
    """The spec of a DataSource; connection details are the source's own business."""

    description: Description | None = None
    type: str
    connection_details: Any = Field(None, alias="connectionDetails")


class PrometheusConnection(_Strict):
    """connectionDetails of a Prometheus DataSource: the base URL of its HTTP API."""

    url: str = Field(pattern=r"^https?://[^\s]+$")


class _Document(_Strict):
    api_version: Literal["openslo/v1"] = Field(alias="apiVersion")
    metadata: Metadata


class SloDoc(_Document):
    """kind: SLO."""

    kind: Literal["SLO"]
    spec: SloSpec


class SliDoc(_Document):
    """kind: SLI."""

    kind: Literal["SLI"]
    spec: SliSpec


class ServiceDoc(_Document):
    """kind: Service."""

    kind: Literal["Service"]
    spec: ServiceSpec = ServiceSpec()


class AlertPolicyDoc(_Document):
    """kind: AlertPolicy."""

    kind: Literal["AlertPolicy"]
    spec: AlertPolicySpec


class AlertConditionDoc(_Document):
    """kind: AlertCondition."""

    kind: Literal["AlertCondition"]
    spec: AlertConditionSpec


class AlertNotificationTargetDoc(_Document):
    """kind: AlertNotificationTarget."""

    kind: Literal["AlertNotificationTarget"]
    spec: NotificationTargetSpec


class DataSourceDoc(_Document):
    """kind: DataSource."""

    kind: Literal["DataSource"]
    spec: DataSourceSpec


class BurnRateAbove(_Strict):
    """when.burnRateAbove: the burn rate over one of the standard windows exceeds `rate`."""

    window: Literal["5m", "30m", "1h", "2h", "6h", "1d", "3d"] = "1h"
    rate: float = Field(gt=0)


class StepCondition(_Strict):
    """A policy step's `when`: every condition given must hold."""

    budget_remaining_below: float | None = Field(None, alias="budgetRemainingBelow", gt=0, le=1)
    budget_exhausted: bool = Field(False, alias="budgetExhausted")
    burn_rate_above: BurnRateAbove | None = Field(None, alias="burnRateAbove")
    alert_firing: Literal["page", "ticket", "any"] | None = Field(None, alias="alertFiring")

    @model_validator(mode="after")
    def _some_condition(self) -> StepCondition:
        if (
            self.budget_remaining_below is None
            and not self.budget_exhausted
            and self.burn_rate_above is None
            and self.alert_firing is None
        ):
            raise ValueError(
                "expected at least one of budgetRemainingBelow, budgetExhausted: true, burnRateAbove, alertFiring"
            )
        return self


class PolicyStepModel(_Strict):
    """One step of an error budget policy."""

    name: Name
    action: Annotated[str, Field(min_length=1, max_length=1050)]
    when: StepCondition


class AppliesTo(_Strict):
    """Which SLOs a policy covers: globs on SLO names and on services (none given: every SLO)."""

    slos: list[str] = []
    services: list[str] = []


class ErrorBudgetPolicySpec(_Strict):
    """The spec of a seclo ErrorBudgetPolicy."""

    description: Description | None = None
    applies_to: AppliesTo = Field(AppliesTo(), alias="appliesTo")
    steps: list[PolicyStepModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_steps(self) -> ErrorBudgetPolicySpec:
        names = [step.name for step in self.steps]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"expected unique step names (repeated: {', '.join(repeated)})")
        return self


class ErrorBudgetPolicyDoc(_Strict):
    """kind: ErrorBudgetPolicy (apiVersion seclo/v1): seclo's own document, kept beside the OpenSLO files."""

    api_version: Literal["seclo/v1"] = Field(alias="apiVersion")
    kind: Literal["ErrorBudgetPolicy"]
    metadata: Metadata
    spec: ErrorBudgetPolicySpec


AnyDocument = (
    SloDoc
    | SliDoc
    | ServiceDoc
    | AlertPolicyDoc
    | AlertConditionDoc
    | AlertNotificationTargetDoc
    | DataSourceDoc
    | ErrorBudgetPolicyDoc
)

# The model for each kind; the loader picks one by `kind` so that error paths carry no union tags.
DOCUMENT_MODELS: dict[str, type[AnyDocument]] = {
    "SLO": SloDoc,
    "SLI": SliDoc,
    "Service": ServiceDoc,
    "AlertPolicy": AlertPolicyDoc,
    "AlertCondition": AlertConditionDoc,
    "AlertNotificationTarget": AlertNotificationTargetDoc,
    "DataSource": DataSourceDoc,
    "ErrorBudgetPolicy": ErrorBudgetPolicyDoc,
}


class SecloSourceSpec(_Strict):
    """spec of `metricSource: {type: seclo}`: a catalog SLI and its parameters."""

    indicator: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    params: dict[str, Any] | None = None


class SqlSourceSpec(_Strict):
    """spec of `metricSource: {type: sql}`: one query over the store."""

    query: Annotated[str, Field(min_length=1)]
