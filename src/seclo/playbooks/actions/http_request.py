"""The `http` action: one request with a JSON body, retried with exponential backoff.

A 2xx response succeeds. 5xx, 429 and network errors are retried after backoff, 2 x backoff, 4 x backoff...
(the usual exponential schedule), within the step's timeout; any other status fails at once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from seclo.playbooks.actions.interface import ActionContext, ActionError, Prepared, Renderer, StepResult
from seclo.playbooks.model import HttpStep

__all__ = ["PreparedHttp", "prepare_http"]

_KEEP = 64 * 1024
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class PreparedHttp(Prepared):
    """A rendered HTTP step."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    retries: int
    backoff: float

    def describe(self) -> dict[str, Any]:
        """Method, URL, headers and body."""
        return {"method": self.method, "url": self.url, "headers": self.headers, "body": self.body}

    def _attempt(self, timeout: float) -> tuple[int, bytes]:
        data = None if self.body is None else json.dumps(self.body).encode("utf-8")
        headers = {"User-Agent": "seclo-playbook", **self.headers}
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.url, data=data, headers=headers, method=self.method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def execute(self, ctx: ActionContext) -> StepResult:
        """Send the request, retrying as the step allows."""
        deadline = time.monotonic() + ctx.timeout
        attempt, problem = 0, ""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                status, body = self._attempt(remaining)
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"{self.method} {self.url}: {reason}"
            else:
                text = body.decode("utf-8", "replace")
                try:
                    parsed = json.loads(text) if text.strip() else None
                except ValueError:
                    parsed = None
                values = {"status": status, "body": text[:_KEEP], "json": parsed, "attempts": attempt + 1}
                if 200 <= status < 300:
                    return StepResult(True, f"{self.method} {self.url} -> {status}", values, body)
                problem = f"{self.method} {self.url} -> {status}"
                if status not in _RETRY_STATUS:
                    return StepResult(False, problem, values, body, problem)
            if attempt >= self.retries:
                break
            pause = self.backoff * 2**attempt
            if time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
            attempt += 1
        message = f"{problem or self.method + ' ' + self.url} (gave up after {attempt + 1} attempt{'s' if attempt else ''})"
        return StepResult(False, message, {"attempts": attempt + 1}, b"", message)


def prepare_http(step: HttpStep, render: Renderer) -> PreparedHttp:
    """Render URL, headers and body; only http and https URLs are allowed."""
    url = render.text(step.url)
    if not url.startswith(("http://", "https://")):
        raise ActionError(f"step {step.name}: the URL must start with http:// or https://, got {url!r}")
    headers = {k: render.text(v) for k, v in step.headers.items()}
    return PreparedHttp(
        step.method, url, headers, render.value(step.body), step.retries, step.backoff.total_seconds()
    )
