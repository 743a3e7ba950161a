"""A small client of Prometheus' HTTP API: range queries on a regular grid, with errors a user can act on.

Only `/api/v1/query_range` is used. Queries go in a POST form body, so long PromQL never meets a URL length
limit. Prometheus refuses more than 11,000 points per series in one query, so long grids are read in
chunks. Credentials written in the URL (`https://user:secret@host`) are sent as HTTP basic auth and never
appear in a message, nor leave their origin: a redirect to another host, port or scheme is followed without them
(seclo.redirects).
"""

from __future__ import annotations

import base64
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from seclo.errors import ConfigError, InputError
from seclo.redirects import opener

__all__ = ["MAX_POINTS", "PrometheusClient", "public_url"]

# Prometheus answers "exceeded maximum resolution of 11,000 points per timeseries" above this.
MAX_POINTS = 10_000
Floats = npt.NDArray[np.float64]


def public_url(url: str) -> str:
    """`url` without user name and password, safe to show in messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _seconds(moment: datetime) -> float:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.timestamp()


@dataclass(frozen=True, slots=True)
class PrometheusClient:
    """Prometheus at `url` (the base URL, such as http://127.0.0.1:9090), each request bounded by `timeout`."""

    url: str
    timeout: float = 30.0

    def query_range(self, query: str, start: datetime, points: int, step: timedelta) -> Floats:
        """The query's value at start, start + step, ... (`points` times; naive times are UTC).

        Returns:
            One float per point; NaN where the query had no value (no sample within Prometheus' lookback).

        Raises:
            ConfigError: Prometheus rejected the query (a PromQL mistake), or it returns several series.
            InputError: Prometheus cannot be reached, timed out, or failed on its side.
        """
        values = np.full(points, np.nan)
        for first in range(0, points, MAX_POINTS):
            count = min(MAX_POINTS, points - first)
            chunk_start = _seconds(start + first * step)
            data = self._post(
                "/api/v1/query_range",
                {
                    "query": query,
                    "start": f"{chunk_start:.3f}",
                    "end": f"{chunk_start + (count - 1) * step.total_seconds():.3f}",
                    "step": f"{step.total_seconds():g}",
                },
            )
            samples = _single_series(query, data)
            for stamp, text in samples:
                index = round((float(stamp) - chunk_start) / step.total_seconds())
                number = float(text)
                if 0 <= index < count and math.isfinite(number):
                    values[first + index] = number
        return values

    def _post(self, path: str, form: dict[str, str]) -> Any:
        parts = urllib.parse.urlsplit(self.url)
        where = public_url(self.url)
        base = where.rstrip("/")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) by the settings
            base + path,
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        if parts.username is not None:
            secret = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            request.add_header("Authorization", "Basic " + base64.b64encode(secret.encode()).decode())
        try:
            with opener().open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            _raise_api_error(where, exc.code, body)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise InputError(
                f"cannot reach Prometheus at {where}: {reason}",
                tip="Check prometheus.url in seclo.yaml, or connectionDetails.url of the SLO's DataSource.",
            ) from None
        try:
            document = json.loads(body)
        except ValueError:
            raise InputError(f"Prometheus at {where} answered with something that is not JSON") from None
        if not isinstance(document, dict) or document.get("status") != "success":
            _raise_api_error(where, 200, body)
        return document.get("data")


def _raise_api_error(where: str, code: int, body: bytes) -> None:
    """Turn an error answer of the HTTP API into ConfigError (a bad query) or InputError (anything else)."""
    kind, detail = "", body[:300].decode("utf-8", "replace").strip()
    try:
        document = json.loads(body)
        if isinstance(document, dict):
            kind = str(document.get("errorType") or "")
            detail = str(document.get("error") or detail)
    except ValueError:
        pass
    if kind == "bad_data" or code in {400, 422}:
        raise ConfigError(f"Prometheus at {where} rejected the query: {detail}", tip="Check the PromQL.")
    label = f"{kind}: " if kind else ""
    raise InputError(f"Prometheus at {where} failed to answer (HTTP {code}): {label}{detail}")


def _single_series(query: str, data: Any) -> list[Any]:
    """The [timestamp, value] pairs of a range query's only series (none when it returned no series)."""
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise ConfigError(f"the query {query!r} does not return a range vector")
    result = data.get("result") or []
    if len(result) > 1:
        labels = ", ".join(str(r.get("metric", {})) for r in result[:3])
        raise ConfigError(
            f"the query {query!r} returns {len(result)} series ({labels}...); an SLI needs one",
            tip="Aggregate it, for example sum(...) or sum by () (...).",
        )
    return list(result[0].get("values", [])) if result else []
