"""The Prometheus HTTP API client against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sink import redirecting, running_sink

from seclo.errors import InputError
from seclo.prometheus.http_api import PrometheusClient


def test_basic_auth_credentials_do_not_follow_a_redirect_to_another_origin() -> None:
    """Prometheus credentials written in the URL are sent to its host but not to the host a redirect names: the
    other origin receives no Authorization header and no trace of the password."""
    with running_sink() as sink, redirecting(sink.url("/elsewhere")) as port:
        client = PrometheusClient(f"http://reader:s3cret-9931@127.0.0.1:{port}", timeout=10)
        with pytest.raises(InputError) as caught:
            client.query_range("up", datetime(2026, 12, 1), 3, timedelta(minutes=1))
    [request] = sink.requests
    sent = {k.lower(): v for k, v in request["headers"].items()}  # type: ignore[attr-defined]
    assert request["path"] == "/elsewhere"
    assert "authorization" not in sent
    assert "s3cret" not in str(sent)
    assert "s3cret" not in str(caught.value)
