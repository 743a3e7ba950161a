"""Reading a workspace's slos/ folder: every OpenSLO v1 document, validated and resolved into objectives.

Files may hold one document, several separated by `---`, or a YAML list of documents. References
(indicatorRef, alertPolicyRef, conditionRef, metricSourceRef) are followed by name across all files.
Every error names the file, the line, the YAML path and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ValidationError

from seclo.errors import ConfigError
from seclo.slo import openslo_models as m
from seclo.slo.alerting import ALL_TIERS, Severity
from seclo.slo.duration import parse_duration
from seclo.slo.openslo import (
    AlertCondition,
    AlertPolicy,
    IndicatorSpec,
    MetricShape,
    Objective,
    PrometheusIndicator,
    SecloIndicator,
    Service,
    SloCatalog,
    SqlIndicator,
    TimeWindow,
    UnsupportedIndicator,
)
from seclo.slo.policy import ErrorBudgetPolicy, PolicyStep
from seclo.userfile import format_loc, node_path_line, read_user_text, validation_problem, yaml_error

__all__ = ["load_slo_documents", "load_slo_files"]

Loc = tuple[int | str, ...]
# Used when an SLO gives no timeWindow (OpenSLO makes it optional): four whole weeks, rolling.
DEFAULT_WINDOW = TimeWindow(duration=parse_duration("28d"), rolling=True)
# libyaml's parser when PyYAML has it: ten times the pure-Python one on a folder of 1,000 SLOs, with the
# same nodes and line marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a document sits, so that errors can point into it."""

    path: Path
    node: yaml.Node
    prefix: Loc  # (i,) when the file is a YAML list of documents
    number: int | None  # 1-based document number in a multi-document file

    def error(self, loc: Loc, message: str) -> ConfigError:
        full = self.prefix + loc
        line = node_path_line(self.node, full)
        where = f":{line}" if line is not None else ""
        document = f"document {self.number}: " if self.number is not None else ""
        return ConfigError(f"{self.path}{where}: {document}{format_loc(full)}: {message}")

    def validate(self, model: type[BaseModel], data: object, loc: Loc) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            inner, message = validation_problem(exc)
            raise self.error(loc + inner, message) from None


@dataclass(frozen=True, slots=True)
class _Doc(_Place):
    """One validated document and where it sits."""

    model: m.AnyDocument


def load_slo_documents(folder: Path) -> SloCatalog:
    """Load every *.yaml and *.yml file under `folder` (hidden files and folders are skipped).

    Raises:
        ConfigError: the folder is missing, or a file is invalid or refers to something not defined.
    """
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder of SLO files", tip="Run `seclo init` to create one.")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix in {".yaml", ".yml"}
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    return load_slo_files(files)


def load_slo_files(paths: Iterable[Path]) -> SloCatalog:
    """Load and resolve the OpenSLO documents of `paths` as one set."""
    docs = [doc for path in paths for doc in _read_documents(path)]
    return _Resolver(docs).catalog()


def _read_documents(path: Path) -> list[_Doc]:
    text = read_user_text(path)
    loader = _LOADER(text)
    found: list[tuple[yaml.Node, object]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                found.append((node, loader.construct_document(node)))
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    finally:
        loader.dispose()
    multi = len(found) > 1
    docs: list[_Doc] = []
    for number, (node, data) in enumerate(found, start=1):
        if data is None:
            continue
        items: list[tuple[object, Loc]] = [(data, ())]
        if isinstance(data, list) and isinstance(node, yaml.SequenceNode):
            items = [(item, (i,)) for i, item in enumerate(data)]
        for item, prefix in items:
            docs.append(_parse(_Place(path, node, prefix, number if multi else None), item))
    return docs


def _parse(doc: _Place, data: object) -> _Doc:
    if not isinstance(data, dict):
        raise doc.error(
            (), "expected an OpenSLO document (a mapping with apiVersion, kind, metadata and spec)"
        )
    kind = data.get("kind")
    model = m.DOCUMENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise doc.error(("kind",), f"expected one of {', '.join(m.DOCUMENT_MODELS)} (got {kind!r})")
    return _Doc(doc.path, doc.node, doc.prefix, doc.number, doc.validate(model, data, ()))


def _where(doc: _Place) -> str:
    line = node_path_line(doc.node, (*doc.prefix, "metadata", "name"))
    return f"{doc.path}:{line}" if line is not None else str(doc.path)


class _Resolver:
    """Indexes documents by kind and name, then follows references."""

    def __init__(self, docs: Sequence[_Doc]) -> None:
        self.docs = docs
        self.by_kind: dict[str, dict[str, _Doc]] = {kind: {} for kind in m.DOCUMENT_MODELS}
        for doc in docs:
            names = self.by_kind[doc.model.kind]
            name = doc.model.metadata.name
            if name in names:
                raise doc.error(
                    ("metadata", "name"),
                    f"expected a unique name, but {doc.model.kind} {name!r} is already defined at {_where(names[name])}",
                )
            names[name] = doc
        self.indicators: dict[str, IndicatorSpec] = {}
        self.policies: dict[str, AlertPolicy] = {}

    def catalog(self) -> SloCatalog:
        for name, doc in self.by_kind["SLI"].items():
            if isinstance(doc.model, m.SliDoc):
                self.indicators[name] = self._indicator(doc, name, doc.model.spec, ("spec",))
        for name, doc in self.by_kind["AlertPolicy"].items():
            if isinstance(doc.model, m.AlertPolicyDoc):
                self.policies[name] = self._policy(doc, doc.model.metadata, doc.model.spec, ("spec",))
        services = tuple(
            Service(d.model.metadata.name, d.model.metadata.display_name, d.model.spec.description)
            for d in self.by_kind["Service"].values()
            if isinstance(d.model, m.ServiceDoc)
        )
        objectives = tuple(
            objective
            for doc in self.by_kind["SLO"].values()
            if isinstance(doc.model, m.SloDoc)
            for objective in self._objectives(doc, doc.model)
        )
        budget_policies = tuple(
            _budget_policy(doc.model)
            for doc in self.by_kind["ErrorBudgetPolicy"].values()
            if isinstance(doc.model, m.ErrorBudgetPolicyDoc)
        )
        return SloCatalog(
            objectives,
            tuple(self.indicators.values()),
            tuple(self.policies.values()),
            services,
            budget_policies,
        )

    def _objectives(self, doc: _Doc, slo: m.SloDoc) -> list[Objective]:
        spec = slo.spec
        default = self._slo_indicator(doc, spec)
        window = DEFAULT_WINDOW if spec.time_window is None else _window(spec.time_window[0])
        policies = tuple(
            self._policy_item(doc, item, ("spec", "alertPolicies", i))
            for i, item in enumerate(spec.alert_policies or [])
        )
        min_events, tiers = _annotations(doc, slo.metadata.annotations)
        out = []
        for i, obj in enumerate(spec.objectives):
            loc: Loc = ("spec", "objectives", i)
            if obj.indicator is not None:
                name = obj.indicator.metadata.name
                indicator = self._indicator(doc, name, obj.indicator.spec, (*loc, "indicator", "spec"))
            elif obj.indicator_ref is not None:
                indicator = self._ref(doc, obj.indicator_ref, (*loc, "indicatorRef"))
            elif default is not None:
                indicator = default
            else:
                raise doc.error(
                    ("spec",), "expected indicator or indicatorRef (on the SLO or on each objective)"
                )
            self._check_budgeting(doc, spec.budgeting_method, obj, loc)
            out.append(
                Objective(
                    slo_name=slo.metadata.name,
                    service=spec.service,
                    display_name=obj.display_name,
                    target=obj.fraction,
                    indicator=indicator,
                    budgeting=spec.budgeting_method,
                    time_window=window,
                    op=obj.op,
                    value=obj.value,
                    time_slice_target=obj.time_slice_target,
                    time_slice_window=None
                    if obj.time_slice_window is None
                    else obj.time_slice_window.to_timedelta(),
                    alert_policies=policies,
                    slo_display_name=slo.metadata.display_name,
                    description=spec.description,
                    source=doc.path,
                    min_events=min_events,
                    alert_tiers=tiers,
                    runbook_url=slo.metadata.annotations.get(RUNBOOK_URL) or None,
                )
            )
        return out

    def _slo_indicator(self, doc: _Doc, spec: m.SloSpec) -> IndicatorSpec | None:
        if spec.indicator is not None:
            name = spec.indicator.metadata.name
            return self._indicator(doc, name, spec.indicator.spec, ("spec", "indicator", "spec"))
        if spec.indicator_ref is not None:
            return self._ref(doc, spec.indicator_ref, ("spec", "indicatorRef"))
        return None

    def _ref(self, doc: _Doc, name: str, loc: Loc) -> IndicatorSpec:
        if name not in self.indicators:
            known = ", ".join(sorted(self.indicators)) or "none"
            raise doc.error(
                loc, f"expected the name of an SLI defined in the SLO files (got {name!r}; known: {known})"
            )
        return self.indicators[name]

    @staticmethod
    def _check_budgeting(doc: _Doc, method: str, obj: m.ObjectiveModel, loc: Loc) -> None:
        if method == "Timeslices":
            for field, value in (
                ("timeSliceTarget", obj.time_slice_target),
                ("timeSliceWindow", obj.time_slice_window),
            ):
                if value is None:
                    raise doc.error(loc, f"expected {field}: budgetingMethod Timeslices needs it")
        elif obj.time_slice_target is not None:
            raise doc.error(
                (*loc, "timeSliceTarget"), f"expected no timeSliceTarget with budgetingMethod {method}"
            )
        if method == "RatioTimeslices" and obj.time_slice_window is None:
            raise doc.error(loc, "expected timeSliceWindow: budgetingMethod RatioTimeslices needs it")
        if method == "Occurrences" and obj.time_slice_window is not None:
            raise doc.error(
                (*loc, "timeSliceWindow"), "expected no timeSliceWindow with budgetingMethod Occurrences"
            )

    def _indicator(self, doc: _Doc, name: str, spec: m.SliSpec, loc: Loc) -> IndicatorSpec:
        shape, base, sources = _sources(doc, spec, loc)
        counter = spec.ratio_metric.counter if spec.ratio_metric is not None else None
        types = [self._source_type(holder.metric_source) for _, holder in sources]
        for (role, _), kind in zip(sources[1:], types[1:], strict=True):
            if kind != types[0]:
                raise doc.error(
                    (*base, role, "metricSource", "type"),
                    f"expected the same source type as the first ({types[0]!r})",
                )
        kind = types[0]
        if kind is None:
            return UnsupportedIndicator(name, None, "its metricSource has no type and names no DataSource")
        specs = [
            (holder.metric_source.spec, (*base, role, "metricSource", "spec")) for role, holder in sources
        ]
        if kind.casefold() == "seclo":
            if shape != "raw_success":
                raise doc.error(
                    base,
                    "expected a seclo source under ratioMetric.raw with rawType: success (the catalog SLI yields good and total itself)",
                )
            data, where = specs[0]
            parsed: m.SecloSourceSpec = doc.validate(m.SecloSourceSpec, data or {}, where)
            return SecloIndicator(name, parsed.indicator, MappingProxyType(dict(parsed.params or {})))
        if kind.casefold() == "sql":
            if shape not in {"threshold", "good_total", "bad_total"}:
                raise doc.error(
                    base,
                    "expected a sql source in thresholdMetric, or in ratioMetric good (or bad) and total",
                )
            queries = [doc.validate(m.SqlSourceSpec, data or {}, where).query for data, where in specs]
            return SqlIndicator(name, shape, queries[0], queries[1] if len(queries) > 1 else None)
        if kind.casefold() == "prometheus":
            texts = [(data or {}).get("query") for data, _ in specs]
            if all(isinstance(text, str) and text for text in texts):
                url = self._prometheus_url(sources[0][1].metric_source)
                return PrometheusIndicator(
                    name, shape, str(texts[0]), str(texts[1]) if len(texts) > 1 else None, counter, url
                )
            return UnsupportedIndicator(name, kind, "a Prometheus source needs spec.query")
        return UnsupportedIndicator(
            name, kind, f"seclo cannot read metric source type {kind!r} (it reads seclo, sql and Prometheus)"
        )

    def _prometheus_url(self, source: m.MetricSource) -> str | None:
        """connectionDetails.url of the DataSource a Prometheus metric source names, if it names one."""
        ref = self.by_kind["DataSource"].get(source.metric_source_ref or "")
        if ref is None or not isinstance(ref.model, m.DataSourceDoc):
            return None
        details = ref.model.spec.connection_details
        if details is None:
            return None
        parsed: m.PrometheusConnection = ref.validate(
            m.PrometheusConnection, details, ("spec", "connectionDetails")
        )
        return parsed.url

    def _source_type(self, source: m.MetricSource) -> str | None:
        if source.type is not None:
            return source.type
        ref = self.by_kind["DataSource"].get(source.metric_source_ref or "")
        return ref.model.spec.type if ref is not None and isinstance(ref.model, m.DataSourceDoc) else None

    def _policy_item(self, doc: _Doc, item: m.AlertPolicyItem, loc: Loc) -> AlertPolicy:
        if item.alert_policy_ref is not None:
            if item.alert_policy_ref not in self.policies:
                known = ", ".join(sorted(self.policies)) or "none"
                raise doc.error(
                    (*loc, "alertPolicyRef"),
                    f"expected the name of an AlertPolicy defined in the SLO files (got {item.alert_policy_ref!r}; known: {known})",
                )
            return self.policies[item.alert_policy_ref]
        if item.metadata is None or item.spec is None:  # AlertPolicyItem already refuses this
            raise doc.error(loc, "expected alertPolicyRef or an inline AlertPolicy")
        return self._policy(doc, item.metadata, item.spec, (*loc, "spec"))

    def _policy(self, doc: _Doc, meta: m.Metadata, spec: m.AlertPolicySpec, loc: Loc) -> AlertPolicy:
        conditions = []
        for i, item in enumerate(spec.conditions):
            if item.condition_ref is not None:
                found = self.by_kind["AlertCondition"].get(item.condition_ref)
                if found is None or not isinstance(found.model, m.AlertConditionDoc):
                    known = ", ".join(sorted(self.by_kind["AlertCondition"])) or "none"
                    raise doc.error(
                        (*loc, "conditions", i, "conditionRef"),
                        f"expected the name of an AlertCondition defined in the SLO files (got {item.condition_ref!r}; known: {known})",
                    )
                conditions.append(_condition(found.model.metadata.name, found.model.spec))
            elif item.metadata is not None and item.spec is not None:
                conditions.append(_condition(item.metadata.name, item.spec))
        targets = tuple(
            t.target_ref or (t.metadata.name if t.metadata else "") for t in spec.notification_targets
        )
        return AlertPolicy(
            name=meta.name,
            conditions=tuple(conditions),
            notification_targets=targets,
            alert_when_breaching=spec.alert_when_breaching,
            alert_when_resolved=spec.alert_when_resolved,
            alert_when_no_data=spec.alert_when_no_data,
            display_name=meta.display_name,
        )


def _sources(
    doc: _Doc, spec: m.SliSpec, loc: Loc
) -> tuple[MetricShape, Loc, list[tuple[str, m.MetricHolder]]]:
    """The metric's shape, its YAML location and its sources by role (good, bad, total, raw, thresholdMetric)."""
    if spec.threshold_metric is not None:
        return "threshold", (*loc, "thresholdMetric"), [("thresholdMetric", spec.threshold_metric)]
    ratio = spec.ratio_metric
    base: Loc = (*loc, "ratioMetric")
    if ratio is not None and ratio.raw is not None:
        return ("raw_success" if ratio.raw_type == "success" else "raw_failure"), base, [("raw", ratio.raw)]
    if ratio is not None and ratio.total is not None:
        if ratio.good is not None:
            return "good_total", base, [("good", ratio.good), ("total", ratio.total)]
        if ratio.bad is not None:
            return "bad_total", base, [("bad", ratio.bad), ("total", ratio.total)]
    # SliSpec and RatioMetric already refuse every other combination.
    raise doc.error(loc, "expected thresholdMetric, or ratioMetric with good (or bad) and total, or raw")


MIN_EVENTS = "seclo/min-events"
ALERT_TIERS = "seclo/alert-tiers"
RUNBOOK_URL = "seclo/runbook-url"


def _annotations(doc: _Doc, annotations: dict[str, str]) -> tuple[float, frozenset[Severity]]:
    """The SLO's seclo settings from its annotations: the minimum-events guard and the alert tiers."""
    min_events = 0.0
    text = annotations.get(MIN_EVENTS)
    if text is not None:
        try:
            min_events = float(text)
        except ValueError:
            min_events = -1.0
        if not min_events >= 0 or min_events == float("inf"):
            raise doc.error(
                ("metadata", "annotations", MIN_EVENTS),
                f'expected a number of events, 0 or more, written as text such as "100" (got {text!r})',
            )
    tiers = ALL_TIERS
    text = annotations.get(ALERT_TIERS)
    if text is not None:
        words = {word.strip() for word in text.split(",") if word.strip()}
        if words == {"none"}:
            tiers = frozenset()
        elif words and words <= ALL_TIERS:
            tiers = frozenset(w for w in ALL_TIERS if w in words)
        else:
            raise doc.error(
                ("metadata", "annotations", ALERT_TIERS),
                f'expected "page,ticket", "page", "ticket" or "none" (got {text!r})',
            )
    return min_events, tiers


def _budget_policy(doc: m.ErrorBudgetPolicyDoc) -> ErrorBudgetPolicy:
    spec = doc.spec
    steps = tuple(
        PolicyStep(
            name=step.name,
            action=step.action,
            budget_remaining_below=step.when.budget_remaining_below,
            budget_exhausted=step.when.budget_exhausted,
            burn_rate_above=None if step.when.burn_rate_above is None else step.when.burn_rate_above.rate,
            burn_rate_window="1h" if step.when.burn_rate_above is None else step.when.burn_rate_above.window,
            alert_firing=step.when.alert_firing,
        )
        for step in spec.steps
    )
    return ErrorBudgetPolicy(
        name=doc.metadata.name,
        steps=steps,
        slos=tuple(spec.applies_to.slos),
        services=tuple(spec.applies_to.services),
        display_name=doc.metadata.display_name,
        description=spec.description,
    )


def _condition(name: str, spec: m.AlertConditionSpec) -> AlertCondition:
    c = spec.condition
    return AlertCondition(
        name=name,
        severity=spec.severity,
        threshold=c.threshold,
        lookback_window=c.lookback_window.to_timedelta(),
        alert_after=timedelta(0) if c.alert_after is None else c.alert_after.to_timedelta(),
        op=c.op,
    )


def _window(model: m.TimeWindowModel) -> TimeWindow:
    if model.calendar is None:
        return TimeWindow(duration=model.duration, rolling=model.rolling)
    zone = model.calendar.time_zone
    start = model.calendar.start_time.replace(tzinfo=ZoneInfo(zone))
    return TimeWindow(duration=model.duration, rolling=False, calendar_start=start, time_zone=zone)
