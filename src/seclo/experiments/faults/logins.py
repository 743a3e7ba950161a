"""`failed_logins`: a burst of failed logins, against an HTTP login endpoint or written into an auth log.

Log lines are written as OpenSSH logs them (`Failed password for invalid user ... from ... port ... ssh2`),
so the detectors and importers that read real auth logs read these. Rollback leaves the log lines in place:
a log is history, and deleting lines under a reader that follows the file would break it. The lines carry
the injection's user name (by default `chaos-<injection id>`), so they can be told apart.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from seclo.experiments.context import RunContext
from seclo.experiments.durations import Seconds
from seclo.experiments.faults.interface import Fault, FaultError, FaultParams, Undo, narrow
from seclo.experiments.targets import Target, url_targets

__all__ = ["FailedLogins", "FailedLoginsParams"]


class FailedLoginsParams(FaultParams):
    """Parameters of `failed_logins`."""

    count: int = Field(default=20, ge=1, le=100_000)
    user: str = "chaos-${injection.id}"
    password: str = "wrong-${injection.id}"  # noqa: S105 - a wrong password, on purpose
    source_ip: str = "127.0.0.1"
    interval: Seconds = 0.0
    encoding: Literal["form", "json"] = "form"
    user_field: str = "username"
    password_field: str = "password"  # noqa: S105 - a form field name


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def _log_line(p: FailedLoginsParams, n: int) -> str:
    stamp = datetime.now().astimezone().strftime("%b %d %H:%M:%S").replace(" 0", "  ", 1)
    host = socket.gethostname().split(".")[0] or "localhost"
    return (
        f"{stamp} {host} sshd[{40000 + n}]: Failed password for invalid user {p.user} "
        f"from {p.source_ip} port {50000 + n} ssh2\n"
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answer a redirect with its own status: many login forms refuse a login with a 302 back to the form,
    and following it would turn the refusal into the form's 200."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(url: str, p: FailedLoginsParams) -> int:
    fields = {p.user_field: p.user, p.password_field: p.password}
    if p.encoding == "json":
        import json  # noqa: PLC0415

        body, kind = json.dumps(fields).encode(), "application/json"
    else:
        body, kind = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": kind})  # noqa: S310
    try:
        with _OPENER.open(request, timeout=5) as response:  # the URL passed the allowlist
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        raise FaultError(f"cannot reach the login endpoint {url}: {exc}") from None


class FailedLogins(Fault):
    """Send `count` failed logins to an HTTP endpoint, or append them to an auth log file."""

    name: ClassVar[str] = "failed_logins"
    summary: ClassVar[str] = (
        "A burst of failed logins against an HTTP login endpoint or into an auth log file."
    )
    params: ClassVar[type[FaultParams]] = FailedLoginsParams

    def targets(self, target: str, params: FaultParams, context: RunContext) -> tuple[Target, ...]:
        """The endpoint's host and port, or the log file."""
        if _is_url(target):
            return url_targets(target)
        return (Target("path", str(context.path(target))),)

    def plan(self, target: str, params: FaultParams, context: RunContext) -> Undo:
        """Nothing to undo."""
        return Undo()

    def inject(self, target: str, params: FaultParams, undo: Undo, context: RunContext) -> Mapping[str, str]:
        """Make the attempts."""
        p = narrow(params, FailedLoginsParams)
        accepted = 0
        if _is_url(target):
            for n in range(p.count):
                status = _post(target, p)
                accepted += 200 <= status < 300  # a redirect or an error is not an accepted login
                if p.interval and n + 1 < p.count:
                    time.sleep(p.interval)
        else:
            path = context.path(target)
            try:
                with path.open("a", encoding="utf-8") as log:
                    for n in range(p.count):
                        log.write(_log_line(p, n))
                        log.flush()
                        if p.interval and n + 1 < p.count:
                            time.sleep(p.interval)
            except OSError as exc:
                raise FaultError(f"cannot write the auth log {path}: {exc.strerror or exc}") from None
        if accepted:
            raise FaultError(
                f"{accepted} of {p.count} logins with a wrong password were accepted by {target}"
            )
        return {"user": p.user, "source_ip": p.source_ip, "count": str(p.count)}

    def rollback(self, undo: Undo) -> str:
        """Nothing to undo: the attempts happened, and log lines are history."""
        return ""
