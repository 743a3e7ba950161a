"""`prometheus_query` and `alertmanager_alert`: evidence from Prometheus and Alertmanager HTTP APIs."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, ClassVar, Literal

from pydantic import Field

from seclo.experiments.context import RunContext
from seclo.experiments.durations import Seconds
from seclo.experiments.probes.http import fetch
from seclo.experiments.probes.interface import Observation, Probe, ProbeParams, narrow

__all__ = ["AlertmanagerAlert", "AlertmanagerAlertParams", "PrometheusQuery", "PrometheusQueryParams"]


def _get_json(url: str, timeout: float) -> tuple[Any, str]:
    """The decoded JSON at `url`, or None and a reason."""
    try:
        status, body = fetch(url, timeout=timeout)
    except OSError as exc:
        return None, f"cannot connect to {url} ({exc})"
    if status != 200:
        return None, f"{url} answered {status}"
    try:
        return json.loads(body), ""
    except json.JSONDecodeError:
        return None, f"{url} did not answer JSON"


class PrometheusQueryParams(ProbeParams):
    """Arguments of `prometheus_query`."""

    url: str = "http://127.0.0.1:9090"
    query: str
    expect: Literal["any", "none"] = "any"
    timeout: Seconds = 2.0


class PrometheusQuery(Probe):
    """An instant PromQL query (/api/v1/query) returns series (or none, with `expect: none`)."""

    name: ClassVar[str] = "prometheus_query"
    summary: ClassVar[str] = "A PromQL instant query returns at least one series (or none)."
    params: ClassVar[type[ProbeParams]] = PrometheusQueryParams

    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """Query once."""
        p = narrow(params, PrometheusQueryParams)
        url = p.url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": p.query})
        data, problem = _get_json(url, p.timeout)
        if data is None:
            return Observation(False, problem)
        body = data.get("data", {}) if isinstance(data, dict) else {}
        result = body.get("result", []) if isinstance(body, dict) else []
        if isinstance(body, dict) and body.get("resultType") in ("scalar", "string"):
            # A scalar or string result is one [time, "value"] pair, never absent: it counts as one value.
            value = result[1] if isinstance(result, list) and len(result) == 2 else result
            ok = p.expect == "any"
            return Observation(ok, f"{p.query!r} returned the {body['resultType']} {value}", 1)
        found = bool(result)
        ok = found if p.expect == "any" else not found
        return Observation(ok, f"{p.query!r} returned {len(result)} series", len(result))


def _quoted(value: str) -> str:
    """A label value escaped for a double-quoted Alertmanager matcher (backslash, quote and newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class AlertmanagerAlertParams(ProbeParams):
    """Arguments of `alertmanager_alert`."""

    url: str = "http://127.0.0.1:9093"
    alertname: str
    labels: dict[str, str] = Field(default_factory=dict)
    timeout: Seconds = 2.0


class AlertmanagerAlert(Probe):
    """An alert with this name (and labels) is active in Alertmanager (/api/v2/alerts)."""

    name: ClassVar[str] = "alertmanager_alert"
    summary: ClassVar[str] = "An alert with the given name and labels is active in Alertmanager."
    params: ClassVar[type[ProbeParams]] = AlertmanagerAlertParams

    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """List active alerts once."""
        p = narrow(params, AlertmanagerAlertParams)
        wanted = {"alertname": p.alertname, **p.labels}
        filters = [f'{k}="{_quoted(v)}"' for k, v in sorted(wanted.items())]
        query = urllib.parse.urlencode([("active", "true"), *[("filter", f) for f in filters]])
        data, problem = _get_json(p.url.rstrip("/") + "/api/v2/alerts?" + query, p.timeout)
        if data is None:
            return Observation(False, problem)
        matching = [
            a
            for a in data
            if isinstance(a, dict)
            and all(a.get("labels", {}).get(k) == v for k, v in wanted.items())
            and a.get("status", {}).get("state", "active") == "active"
        ]
        return Observation(bool(matching), f"{len(matching)} active {p.alertname} alert(s)", len(matching))
