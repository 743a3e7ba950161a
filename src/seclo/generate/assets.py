"""Hosts with their exposure, criticality, team and OS, and the ports each scan finds open on them.

Each host is scanned at its own cadence (SCAN_EVERY_DAYS: daily, weekly, monthly or quarterly, public hosts
more often), on its own day of the cycle, so `seclo analyze persistence` sees several scan-frequency buckets
(scans per year per asset, as Veracode SOSS volume 9). A scan is one assets snapshot row and the ports it
finds; a snapshot time therefore holds the hosts scanned that day, not the whole fleet. Every host present at
the end has at least SCANS_AT_LEAST scans: a slow one's history starts before the period when it must.

Public hosts mostly answer on 443, 80 and 22. Now and then a public host also exposes something it should not
(RDP, a database, Elasticsearch...) for one to three scans before someone closes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seclo.generate.addresses import internal_ipv4, public_ipv4
from seclo.generate.catalog import DOMAIN, OPERATING_SYSTEMS, TEAMS
from seclo.generate.parquet import canonical_table, strings, timestamps
from seclo.generate.period import US_PER_DAY, Period

__all__ = [
    "ASSETS_PER_PERSON",
    "CRITICALITIES",
    "CRITICALITY_SHARES",
    "PUBLIC_SHARE",
    "SCANS_AT_LEAST",
    "SCAN_EVERY_DAYS",
    "SCAN_SHARES",
    "SNAPSHOT_HOUR",
    "UNEXPECTED_EXPOSURES_PER_PUBLIC_ASSET_PER_WEEK",
    "Fleet",
    "generate_fleet",
]

ASSETS_PER_PERSON = 0.25
PUBLIC_SHARE = 0.08
CRITICALITIES = ("critical", "high", "medium", "low")
CRITICALITY_SHARES = {"public": (0.25, 0.40, 0.30, 0.05), "internal": (0.08, 0.22, 0.45, 0.25)}
YEARLY_NEW_SHARE = 0.3  # hosts added per year, relative to the fleet
YEARLY_RETIRED_SHARE = 0.2
SCAN_EVERY_DAYS = (1, 7, 30, 91)  # daily, weekly, monthly, quarterly
SCAN_SHARES = {"public": (0.25, 0.75, 0.0, 0.0), "internal": (0.05, 0.5, 0.3, 0.15)}  # per SCAN_EVERY_DAYS
SCANS_AT_LEAST = 3  # so every host's scans per year can be measured over two intervals at least
SNAPSHOT_HOUR = 3
UNEXPECTED_EXPOSURES_PER_PUBLIC_ASSET_PER_WEEK = 0.03

_PUBLIC_ROLES = ("www", "api", "vpn", "mail", "status")
_LINUX_ROLES = ("app", "worker", "db", "cache", "search", "monitor", "build")
_WINDOWS_ROLES = ("dc", "fs", "rdp", "sql")


@dataclass(frozen=True, slots=True)
class _Port:
    port: int
    protocol: str
    service: str
    product: str
    version: str


@dataclass(frozen=True, slots=True)
class _Rule:
    """Hosts matching `where` (a role, or "public", "linux", "windows") have `port` open with `probability`."""

    port: _Port
    where: str
    probability: float


_HTTPS = _Port(443, "tcp", "https", "nginx", "1.24.0")
_RULES = (
    _Rule(_HTTPS, "public", 1.0),
    _Rule(_Port(80, "tcp", "http", "nginx", "1.24.0"), "public", 0.6),
    _Rule(_Port(22, "tcp", "ssh", "OpenSSH", "9.6p1"), "public", 0.25),
    _Rule(_Port(25, "tcp", "smtp", "Postfix smtpd", ""), "mail", 1.0),
    _Rule(_Port(1194, "udp", "openvpn", "OpenVPN", "2.6.8"), "vpn", 1.0),
    _Rule(_Port(22, "tcp", "ssh", "OpenSSH", "8.9p1"), "linux", 1.0),
    _Rule(_Port(9100, "tcp", "http", "Prometheus node_exporter", "1.7.0"), "linux", 0.6),
    _Rule(_Port(8080, "tcp", "http-proxy", "Apache Tomcat", "10.1.18"), "app", 0.9),
    _Rule(_Port(8080, "tcp", "http-proxy", "Apache Tomcat", "10.1.18"), "worker", 0.4),
    _Rule(_Port(5432, "tcp", "postgresql", "PostgreSQL", "15.4"), "db", 1.0),
    _Rule(_Port(6379, "tcp", "redis", "Redis key-value store", "7.2.4"), "cache", 1.0),
    _Rule(_Port(9200, "tcp", "http", "Elasticsearch REST API", "8.11.1"), "search", 1.0),
    _Rule(_Port(9090, "tcp", "http", "Prometheus", "2.48.1"), "monitor", 1.0),
    _Rule(_Port(8443, "tcp", "https-alt", "Jenkins", "2.426.2"), "build", 1.0),
    _Rule(_Port(3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services", ""), "windows", 1.0),
    _Rule(_Port(445, "tcp", "microsoft-ds", "Microsoft Windows microsoft-ds", ""), "windows", 1.0),
    _Rule(_Port(5985, "tcp", "http", "Microsoft HTTPAPI httpd", "2.0"), "windows", 0.7),
    _Rule(_Port(53, "udp", "domain", "Microsoft DNS", ""), "dc", 1.0),
    _Rule(_Port(88, "tcp", "kerberos-sec", "Microsoft Windows Kerberos", ""), "dc", 1.0),
    _Rule(_Port(389, "tcp", "ldap", "Microsoft Windows Active Directory LDAP", ""), "dc", 1.0),
    _Rule(_Port(1433, "tcp", "ms-sql-s", "Microsoft SQL Server 2019", "15.00.2000"), "sql", 1.0),
)
# What appears on a public host by mistake: a debug listener, a database, remote desktop.
_UNEXPECTED = (
    _Port(3389, "tcp", "ms-wbt-server", "Microsoft Terminal Services", ""),
    _Port(5432, "tcp", "postgresql", "PostgreSQL", "15.4"),
    _Port(9200, "tcp", "http", "Elasticsearch REST API", "8.11.1"),
    _Port(6379, "tcp", "redis", "Redis key-value store", "7.2.4"),
    _Port(27017, "tcp", "mongodb", "MongoDB", "6.0.12"),
    _Port(8080, "tcp", "http-proxy", "Apache Tomcat", "10.1.18"),
    _Port(23, "tcp", "telnet", "BusyBox telnetd", ""),
)


@dataclass(frozen=True, slots=True)
class Fleet:
    """The hosts, with what the findings generator needs.

    Attributes:
        asset_ids: identifiers, indexed by host.
        public: whether each host faces the internet.
        assets: the `assets` inventory snapshots.
        ports: the `ports` scan results.
        scan_every_days: each host's scan cadence in days.
    """

    asset_ids: tuple[str, ...]
    public: npt.NDArray[np.bool_]
    assets: pa.Table
    ports: pa.Table
    scan_every_days: npt.NDArray[np.int64]


def _hostnames(roles: list[str], teams: list[str], public: list[bool]) -> list[str]:
    counters: dict[tuple[str, str], int] = {}
    names = []
    for role, team, outside in zip(roles, teams, public, strict=True):
        counters[role, team] = counters.get((role, team), 0) + 1
        zone = DOMAIN if outside else f"corp.{DOMAIN}"
        names.append(f"{role}-{counters[role, team]:02d}.{team}.{zone}")
    return names


def _choose(rng: np.random.Generator, size: int, shares: tuple[float, ...]) -> npt.NDArray[np.int64]:
    weights = np.asarray(shares, dtype=np.float64)
    return np.asarray(rng.choice(weights.size, size=size, p=weights / weights.sum()), dtype=np.int64)


def _is_windows(os_index: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    flags = np.array([name.startswith("Windows") for name, _ in OPERATING_SYSTEMS], dtype=bool)
    return np.asarray(flags[os_index], dtype=bool)


def _hosts(
    rng: np.random.Generator, count: int
) -> tuple[npt.NDArray[np.bool_], list[str], npt.NDArray[np.int64]]:
    """Exposure, role and OS of each host."""
    public = rng.random(count) < PUBLIC_SHARE
    os_shares = tuple(share for _, share in OPERATING_SYSTEMS)
    linux_only = tuple(share if not name.startswith("Windows") else 0.0 for name, share in OPERATING_SYSTEMS)
    os_index = np.where(public, _choose(rng, count, linux_only), _choose(rng, count, os_shares))
    windows = _is_windows(os_index)
    picks = rng.integers(0, 1 << 30, size=count).tolist()
    roles = []
    for outside, win, pick in zip(public.tolist(), windows.tolist(), picks, strict=True):
        choices = _PUBLIC_ROLES if outside else _WINDOWS_ROLES if win else _LINUX_ROLES
        roles.append(choices[pick % len(choices)])
    return public, roles, os_index


def _matches(
    rule: _Rule, roles: list[str], public: npt.NDArray[np.bool_], windows: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    if rule.where == "public":
        return public
    if rule.where == "linux":
        return ~public & ~windows
    if rule.where == "windows":
        return ~public & windows
    return np.array([role == rule.where for role in roles], dtype=bool)


def generate_fleet(
    rng: np.random.Generator, port_rng: np.random.Generator, period: Period, users: int
) -> Fleet:
    """Draw the hosts, their scans (inventory snapshots) at each one's cadence and the open ports each finds."""
    count = max(4, round(users * ASSETS_PER_PERSON))
    public, roles, os_index = _hosts(rng, count)
    windows = _is_windows(os_index)
    team = rng.integers(0, len(TEAMS), size=count)
    critical = np.where(
        public,
        _choose(rng, count, CRITICALITY_SHARES["public"]),
        _choose(rng, count, CRITICALITY_SHARES["internal"]),
    )
    years = period.days / 365
    created = np.where(
        rng.random(count) < YEARLY_NEW_SHARE * years,
        rng.integers(period.start_us, period.end_us, size=count),
        period.start_us - 365 * US_PER_DAY,
    )
    retired = np.where(
        rng.random(count) < YEARLY_RETIRED_SHARE * years,
        rng.integers(period.start_us, period.end_us, size=count),
        0,
    )
    retired = np.where(retired > created + 7 * US_PER_DAY, retired, np.iinfo(np.int64).max)

    ids = [f"asset-{i:05d}" for i in range(count)]
    team_names = [TEAMS[i] for i in team.tolist()]
    addresses = np.array(internal_ipv4(count, 20), dtype=object)
    addresses[public] = public_ipv4(rng, int(public.sum()))
    cadence = np.take(
        SCAN_EVERY_DAYS,
        np.where(
            public,
            _choose(rng, count, SCAN_SHARES["public"]),
            _choose(rng, count, SCAN_SHARES["internal"]),
        ),
    )
    phase = rng.integers(0, 1 << 30, size=count) % cadence
    snaps, present = _scan_days(period, cadence, phase)
    present &= (created <= snaps[:, None]) & (snaps[:, None] < retired)
    snap_of, host_of = np.nonzero(present)
    assets = canonical_table(
        "assets",
        snapshot_time=timestamps(snaps[snap_of]),
        asset_id=strings(ids, host_of),
        hostname=strings(_hostnames(roles, team_names, public.tolist()), host_of),
        ip=strings(addresses.tolist(), host_of),
        exposure=strings(("internal", "public"), public.astype(np.int8)[host_of]),
        criticality=strings(CRITICALITIES, critical[host_of]),
        team=strings(TEAMS, team[host_of]),
        os=strings([name for name, _ in OPERATING_SYSTEMS], os_index[host_of]),
    )
    ports = _scan(port_rng, snaps, present, public, roles, windows, (cadence, phase))
    return Fleet(tuple(ids), public, assets, ports, cadence)


def _scan_days(
    period: Period, cadence: npt.NDArray[np.int64], phase: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """A daily grid of scan times at SNAPSHOT_HOUR and, per (day, host), whether the host is scanned that day.

    Host h is scanned on the days d (counted from the grid's last day back) with d % cadence[h] == phase[h],
    within the period, or earlier when that is needed for SCANS_AT_LEAST scans. The grid reaches back only as
    far as the slowest host needs: (SCANS_AT_LEAST) cadences, so its memory is days x hosts booleans.
    """
    lookback = int(cadence.max()) * SCANS_AT_LEAST if cadence.size else 0
    in_period = period.snapshots(1, SNAPSHOT_HOUR)
    before = max(lookback - in_period.size, 0)
    snaps = np.concatenate([in_period[0] - US_PER_DAY * np.arange(before, 0, -1, dtype=np.int64), in_period])
    back = np.arange(snaps.size - 1, -1, -1, dtype=np.int64)  # days before the last grid day
    scanned = np.zeros((snaps.size, cadence.size), dtype=bool)
    for every in np.unique(cadence).tolist():  # a few cadences: only boolean days x hosts arrays are built
        hosts = np.flatnonzero(cadence == every)
        on_cycle = (back % every)[:, None] == phase[hosts][None, :]
        scanned[:, hosts] = on_cycle & (back < max(in_period.size, SCANS_AT_LEAST * every))[:, None]
    return snaps, scanned


def _scan(
    rng: np.random.Generator,
    snaps: npt.NDArray[np.int64],
    present: npt.NDArray[np.bool_],
    public: npt.NDArray[np.bool_],
    roles: list[str],
    windows: npt.NDArray[np.bool_],
    cycle: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
) -> pa.Table:
    """Open ports per scan: each host's usual ports, plus short-lived unexpected ones on public hosts."""
    catalogue = [rule.port for rule in _RULES] + list(_UNEXPECTED)
    host_parts, port_parts = [], []
    for index, rule in enumerate(_RULES):
        hosts = np.flatnonzero(
            _matches(rule, roles, public, windows) & (rng.random(public.size) < rule.probability)
        )
        host_parts.append(hosts)
        port_parts.append(np.full(hosts.size, index))
    host = np.concatenate(host_parts)
    port = np.concatenate(port_parts)
    snap_of, which = np.nonzero(present[:, host])
    rows_snap, rows_host, rows_port = [snap_of], [host[which]], [port[which]]

    exposed = np.flatnonzero(public)
    weeks = snaps.size / 7
    episodes = rng.poisson(UNEXPECTED_EXPOSURES_PER_PUBLIC_ASSET_PER_WEEK * exposed.size * weeks)
    if exposed.size and episodes:
        first = rng.integers(0, snaps.size, size=episodes)
        length = np.minimum(rng.geometric(0.5, size=episodes), 3)
        on = rng.choice(exposed, size=episodes)
        kind = len(_RULES) + rng.integers(0, len(_UNEXPECTED), size=episodes)
        episode = np.repeat(np.arange(episodes), length)
        # An episode lasts `length` of its host's scans: from its host's first scan on or after `first`, then
        # every cadence days (scan days are counted back from the grid's last day, see _scan_days).
        cadence, phase = cycle[0][on], cycle[1][on]
        back = snaps.size - 1 - first
        start = snaps.size - 1 - (back - (back - phase) % cadence)
        nth = np.arange(episode.size) - np.repeat(np.cumsum(length) - length, length)
        snap = start[episode] + nth * cadence[episode]
        keep = snap < snaps.size
        keep[keep] = present[snap[keep], on[episode[keep]]]
        rows_snap.append(snap[keep])
        rows_host.append(on[episode[keep]])
        rows_port.append(kind[episode[keep]])

    snap_rows, host_rows, port_rows = (np.concatenate(parts) for parts in (rows_snap, rows_host, rows_port))
    numbers = np.array([p.port for p in catalogue])
    protocols = np.array([p.protocol for p in catalogue])
    # One row per (snapshot, host, port, protocol), in that order: an unexpected port may repeat a usual one.
    order = np.lexsort((protocols[port_rows], numbers[port_rows], host_rows, snap_rows))
    udp = protocols == "udp"
    keys = np.stack([snap_rows, host_rows, numbers[port_rows], udp[port_rows]])[:, order]
    repeated = np.zeros(order.size, dtype=bool)
    repeated[1:] = (keys[:, 1:] == keys[:, :-1]).all(axis=0)
    order = order[~repeated]
    snap_rows, host_rows, port_rows = snap_rows[order], host_rows[order], port_rows[order]
    no_version = np.array([not p.version for p in catalogue], dtype=bool)
    return canonical_table(
        "ports",
        snapshot_time=timestamps(snaps[snap_rows]),
        asset_id=strings([f"asset-{i:05d}" for i in range(public.size)], host_rows),
        port=pa.array(numbers[port_rows].astype(np.int32)),
        protocol=strings([p.protocol for p in catalogue], port_rows),
        state=strings(("open",), np.zeros(port_rows.size, dtype=np.int8)),
        service=strings([p.service for p in catalogue], port_rows),
        product=strings([p.product for p in catalogue], port_rows),
        version=strings([p.version for p in catalogue], port_rows, mask=no_version[port_rows]),
    )
