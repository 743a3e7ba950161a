"""unexpected_public_ports over hand-built ports and assets snapshots."""

from __future__ import annotations

import pytest
from sli_helpers import HOURS3, at, counts

from seclo.errors import ConfigError
from seclo.store import Store
from seclo.store.sql import run


def test_only_open_ports_of_public_assets_count_and_allowed_ones_are_good(store: Store) -> None:
    """Open ports on assets public in their latest inventory count; the allowed list makes them good."""
    run(
        store.conn,
        "INSERT INTO assets (snapshot_time, asset_id, exposure) VALUES (?, 'web', 'public'),"
        " (?, 'db', 'internal'), (?, 'db', 'public')",
        [at(-1), at(-1), at(2.5)],
    )
    ports = [
        (at(0.5), "web", 443, "tcp", "open"),
        (at(0.5), "web", 443, "tcp", "open"),
        (at(0.5), "web", 22, "tcp", "open"),
        (at(0.5), "web", 8080, "tcp", "closed"),
        (at(0.5), "db", 5432, "tcp", "open"),
        (at(0.5), "ghost", 23, "tcp", "open"),
        (at(2.5), "db", 5432, "tcp", "open"),
    ]
    for row in ports:
        run(
            store.conn,
            "INSERT INTO ports (snapshot_time, asset_id, port, protocol, state) VALUES (?, ?, ?, ?, ?)",
            list(row),
        )
    assert counts(store, "unexpected_public_ports", HOURS3) == ([1, 0, 0], [2, 0, 1])
    assert counts(store, "unexpected_public_ports", HOURS3, allowed=["5432/tcp"]) == ([0, 0, 1], [2, 0, 1])


def test_an_allowed_port_must_be_port_slash_protocol(store: Store) -> None:
    """A malformed allowed entry is a configuration error naming the entry."""
    with pytest.raises(ConfigError, match="https"):
        counts(store, "unexpected_public_ports", HOURS3, allowed=["https"])
