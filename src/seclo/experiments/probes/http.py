"""`http`: an HTTP endpoint's status and body."""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from typing import ClassVar

from pydantic import Field

from seclo.experiments.context import RunContext
from seclo.experiments.durations import Seconds
from seclo.experiments.probes.interface import Observation, Probe, ProbeParams, narrow
from seclo.redirects import opener

__all__ = ["Http", "HttpParams", "NotHttpError", "fetch"]


class HttpParams(ProbeParams):
    """Arguments of `http`."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    status: int | list[int] | None = None
    body_pattern: str | None = None
    timeout: Seconds = 2.0


def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, timeout: float = 2.0
) -> tuple[int, str]:
    """The status and body text of a request; an HTTP error status is a result, not an exception.

    Raises:
        NotHttpError: something answered, but not in HTTP (a banner, a TLS port spoken to in clear).
        OSError: the endpoint cannot be reached.
    """
    request = urllib.request.Request(url, method=method, headers=headers or {})  # noqa: S310
    try:
        # Redirects are followed, but the probe's headers (a token) never go to another origin.
        with opener().open(request, timeout=timeout) as response:
            return int(response.status), response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", errors="replace")
    except http.client.HTTPException as exc:
        raise NotHttpError(f"{type(exc).__name__}: {exc}") from None


class NotHttpError(OSError):
    """The endpoint answered, but not in HTTP."""


class Http(Probe):
    """Request a URL; ok when the status is expected (2xx by default) and the body matches the pattern."""

    name: ClassVar[str] = "http"
    summary: ClassVar[str] = "An HTTP endpoint answers with an expected status and a body matching a pattern."
    params: ClassVar[type[ProbeParams]] = HttpParams

    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """Send one request."""
        p = narrow(params, HttpParams)
        try:
            status, body = fetch(p.url, p.method, p.headers, p.timeout)
        except NotHttpError as exc:
            return Observation(False, f"{p.url}: not an HTTP answer ({exc})")
        except OSError as exc:
            return Observation(False, f"{p.url}: cannot connect ({exc})")
        wanted = [p.status] if isinstance(p.status, int) else p.status
        ok = status in wanted if wanted else 200 <= status < 300
        if ok and p.body_pattern is not None:
            ok = re.search(p.body_pattern, body) is not None
        return Observation(ok, f"{p.url} answered {status}", status)
