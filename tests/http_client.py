"""A raw HTTP/1.1 client for the boundary tests: every header is the test's choice (Host, Content-Length...)."""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A response: status, headers (lower-case names; repeated ones joined by a newline) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> str:
        """The one-line reason of a refusal (fails when the body is not `{"error": "..."}` on one line)."""
        assert self.headers.get("content-type") == "application/json", self.headers
        text = self.body.decode()
        assert text.count("\n") <= 1
        assert text.endswith("\n")
        document: dict[str, Any] = json.loads(text)
        assert set(document) == {"error"}
        return str(document["error"])


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    host: str | None = None,
    length: bool = True,
) -> Answer:
    """Send one request to 127.0.0.1:`port` exactly as given and read the answer in full.

    Args:
        host: the Host header (default 127.0.0.1:PORT); "" sends none.
        length: send a Content-Length header for the body.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        host = f"127.0.0.1:{port}" if host is None else host
        if host:
            connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None and length:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        names: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            names[key] = f"{names[key]}\n{value}" if key in names else value
        return Answer(response.status, names, data)
    finally:
        connection.close()


def post_json(port: int, path: str, document: object, headers: dict[str, str] | None = None) -> Answer:
    """POST a JSON document with Content-Type: application/json."""
    body = json.dumps(document).encode()
    return request(port, "POST", path, body, {"Content-Type": "application/json", **(headers or {})})


def bearer(token: str) -> dict[str, str]:
    """The Authorization header Alertmanager sends for `authorization: {type: Bearer}`."""
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    """The Authorization header Alertmanager sends for `basic_auth`."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
