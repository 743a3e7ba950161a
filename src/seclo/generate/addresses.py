"""Synthetic IPv4 addresses: internal ones in 10.0.0.0/8 and public-looking ones for remote users and attackers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["internal_ipv4", "public_ipv4"]

# First octets of ordinary public unicast space; none of them holds a private, shared or reserved block.
_PUBLIC_FIRST_OCTETS = np.array(
    [
        23,
        31,
        37,
        45,
        62,
        77,
        80,
        82,
        85,
        88,
        91,
        94,
        103,
        109,
        141,
        146,
        151,
        176,
        178,
        185,
        188,
        193,
        194,
        212,
        217,
    ],
    dtype=np.int64,
)


def _dotted(values: npt.NDArray[np.int64]) -> list[str]:
    return [f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}" for v in values.tolist()]


def internal_ipv4(count: int, second_octet: int) -> list[str]:
    """`count` distinct addresses in 10.`second_octet`.0.0 and the /16s after it, skipping .0 and .255."""
    index = np.arange(count, dtype=np.int64)
    host = index % 254 + 1
    third = (index // 254) % 256
    second = second_octet + index // (254 * 256)
    return _dotted((10 << 24) | (second << 16) | (third << 8) | host)


def public_ipv4(rng: np.random.Generator, count: int, *, exclude: frozenset[str] = frozenset()) -> list[str]:
    """`count` distinct public-looking addresses, none of them in `exclude`."""
    found: list[str] = []
    seen = set(exclude)
    while len(found) < count:
        need = 2 * (count - len(found)) + 16
        first = rng.choice(_PUBLIC_FIRST_OCTETS, size=need)
        rest = rng.integers(0, 1 << 24, size=need, dtype=np.int64)
        rest = rest - (rest & 255) + rng.integers(1, 255, size=need, dtype=np.int64)
        for address in _dotted((first << 24) | rest):
            if address not in seen and len(found) < count:
                seen.add(address)
                found.append(address)
    return found
