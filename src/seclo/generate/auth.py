"""Authentication events: a daily and weekly rhythm, a baseline of failures, MFA, and brute-force bursts.

The expected volume of every minute of the period (working hours in the organisation's time zone, less at
night and at weekends, plus any attack under way) decides, in one multinomial draw, how many of the N events
fall in it, so the total is exactly N. Minutes are then generated in slabs of a few million events, each
already in time order, and streamed to one Parquet file: the file is globally ordered and memory stays bounded.
Everything per event is vectorised numpy; strings are dictionary-encoded from small pools.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seclo.generate.addresses import internal_ipv4, public_ipv4
from seclo.generate.catalog import ATTACKER_USERNAMES, AUTH_SERVICES, UTC_OFFSET_HOURS
from seclo.generate.parquet import arrow_schema, atomic_parquet_writer
from seclo.generate.people import Accounts
from seclo.generate.period import NEVER, US_PER_MINUTE, Period
from seclo.generate.randomness import lognormal
from seclo.generate.scenario import (
    ATTACK_INTENSITY,
    DEGRADATION_FAILURE_RATE,
    DEGRADATION_RETRY_FACTOR,
    Scenario,
    Window,
)
from seclo.progress import Reporter

__all__ = [
    "BASELINE_FAILURE_RATE",
    "BURSTS_PER_DAY",
    "BURST_INTENSITY_MEDIAN",
    "BURST_INTENSITY_SIGMA",
    "BURST_MINUTES_MEDIAN",
    "BURST_MINUTES_SIGMA",
    "CHUNK_ROWS",
    "EVENTS_PER_PERSON_PER_DAY",
    "HOME_ADDRESS_SHARE",
    "HOURLY_PROFILE",
    "MFA_ON_SUCCESS",
    "WEEKEND_FACTOR",
    "write_auth_events",
]

# Relative login volume for each local hour of a working day (00:00 to 23:00).
HOURLY_PROFILE = (
    0.05, 0.04, 0.03, 0.03, 0.04, 0.08, 0.20, 0.50, 0.90, 1.00, 1.00, 0.95,
    0.80, 0.90, 1.00, 0.95, 0.85, 0.60, 0.35, 0.25, 0.20, 0.15, 0.10, 0.07,
)  # fmt: skip
WEEKEND_FACTOR = 0.15
EVENTS_PER_PERSON_PER_DAY = 10.0  # default volume when no event count is given
BASELINE_FAILURE_RATE = 0.02  # mistyped passwords, expired sessions
MFA_ON_SUCCESS = 0.97  # successes of an enrolled account that used the second factor (others: trusted device)
HOME_ADDRESS_SHARE = 0.85  # logins from the account's usual address; the rest come from a remote pool
BURSTS_PER_DAY = 0.3  # ordinary brute-force bursts, besides the headline attack
BURST_MINUTES_MEDIAN = 6.0
BURST_MINUTES_SIGMA = 0.7
BURST_INTENSITY_MEDIAN = 6.0  # attempts per minute, in multiples of the period's mean minute
BURST_INTENSITY_SIGMA = 0.8
CHUNK_ROWS = 1 << 22  # events per slab: about 100 MB of working memory

_Q = 1 << 16  # probabilities are compared against 16-bit random fields
_FULL = np.iinfo(np.uint64).max
_SOURCE = "generator"
_ATTACK_SERVICES = (0.2, 0.3, 0.5)  # chance a burst targets each of AUTH_SERVICES (sso, vpn, sshd)
_TARGET_SLOTS = 8  # each burst's users are spread over this many slots, picked by 3 random bits
_HOST_COUNT = np.array([len(s.hosts) for s in AUTH_SERVICES], dtype=np.int64)
_HOST_FIRST = np.cumsum(_HOST_COUNT) - _HOST_COUNT


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything fixed before the events themselves are drawn, per minute of the period or per burst."""

    start_us: int
    counts: npt.NDArray[np.int64]
    burst_q: npt.NDArray[np.int32]  # chance (of _Q) that an event of this minute belongs to the burst
    burst_of_minute: npt.NDArray[np.int32]
    failure_q: npt.NDArray[np.int32]
    user_table: npt.NDArray[np.int32]  # uniform 2^k lookup table reproducing the accounts' activity
    mfa_from_us: npt.NDArray[np.int64]
    remote_first: int
    remote_count: int
    burst_targets: npt.NDArray[np.int32]  # (bursts, _TARGET_SLOTS) user indices
    burst_ip: npt.NDArray[np.int32]
    burst_service: npt.NDArray[np.int8]
    host_table: npt.NDArray[np.int8]  # host of each 16-bit value: services by share, hosts evenly within
    host_service: npt.NDArray[np.int8]
    users: pa.Array
    addresses: pa.Array


def _rhythm(period: Period) -> npt.NDArray[np.float64]:
    """Relative ordinary login volume of each minute of the period."""
    minutes = period.days * 1440
    local = period.start_us // US_PER_MINUTE + UTC_OFFSET_HOURS * 60 + np.arange(minutes, dtype=np.int64)
    hour = (local % 1440) / 60.0
    profile = np.interp(hour, np.arange(25), (*HOURLY_PROFILE, HOURLY_PROFILE[0]))
    weekend = (local // 1440 + 3) % 7 >= 5  # 1970-01-01 was a Thursday (Monday is 0)
    return np.where(weekend, WEEKEND_FACTOR * profile + 0.01, profile)


def _user_table(activity: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """A power-of-two table in which each account appears in proportion to its activity."""
    weights = activity if activity.sum() > 0 else np.ones_like(activity)
    size = 1 << max(16, min(24, int(np.ceil(np.log2(16 * weights.size)))))
    exact = weights / weights.sum() * size
    counts = np.floor(exact).astype(np.int64)
    short = size - int(counts.sum())
    counts[np.argsort(counts - exact, kind="stable")[:short]] += 1  # largest remainders
    return np.repeat(np.arange(weights.size, dtype=np.int32), counts)


def _host_table() -> npt.NDArray[np.int8]:
    """Which host a 16-bit random value selects: each service gets its share of values, split among its hosts."""
    value = np.arange(_Q) / _Q
    shares = np.array([s.share for s in AUTH_SERVICES])
    upper = np.cumsum(shares)
    service = np.minimum(np.searchsorted(upper, value, side="right"), shares.size - 1)
    within = (value - (upper - shares)[service]) / shares[service]
    pick = np.minimum((within * _HOST_COUNT[service]).astype(np.int64), _HOST_COUNT[service] - 1)
    return np.asarray(_HOST_FIRST[service] + pick, dtype=np.int8)


def _minute(period: Period, moment_us: int) -> int:
    return int(np.clip((moment_us - period.start_us) // US_PER_MINUTE, 0, period.days * 1440))


def _plan(
    rng: np.random.Generator, period: Period, accounts: Accounts, scenario: Scenario, events: int
) -> _Plan:
    """Fix the volume of every minute, the bursts and their targets, and the pools events draw from."""
    rhythm = _rhythm(period)
    minutes = rhythm.size
    mean = float(rhythm.mean())
    degraded = slice(
        _minute(period, scenario.degradation.start_us), _minute(period, scenario.degradation.end_us)
    )
    rhythm[degraded] *= DEGRADATION_RETRY_FACTOR

    bursts = int(rng.poisson(BURSTS_PER_DAY * period.days))
    starts = rng.integers(0, minutes, size=bursts)
    lengths = np.clip(np.round(lognormal(rng, BURST_MINUTES_MEDIAN, BURST_MINUTES_SIGMA, bursts)), 1, 60)
    windows = [
        Window(period.start_us + int(s) * US_PER_MINUTE, period.start_us + int(s + n) * US_PER_MINUTE)
        for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)
    ]
    windows.append(scenario.attack)  # last, so it wins where it overlaps an ordinary burst
    intensity = np.append(
        lognormal(rng, BURST_INTENSITY_MEDIAN, BURST_INTENSITY_SIGMA, bursts), ATTACK_INTENSITY
    )
    burst_rate = np.zeros(minutes)
    burst_of_minute = np.full(minutes, -1, dtype=np.int32)
    for index, window in enumerate(windows):
        span = slice(_minute(period, window.start_us), _minute(period, window.end_us))
        burst_rate[span] = intensity[index] * mean
        burst_of_minute[span] = index

    total = rhythm + burst_rate
    counts = rng.multinomial(events, total / total.sum()).astype(np.int64)
    failure = np.full(minutes, BASELINE_FAILURE_RATE)
    failure[degraded] = DEGRADATION_FAILURE_RATE

    people = len(accounts.users)
    named = len(ATTACKER_USERNAMES)
    targets = np.where(
        rng.random((len(windows), 3)) < 0.5,
        people + rng.integers(0, named, size=(len(windows), 3)),
        rng.integers(0, people, size=(len(windows), 3)),
    )
    how_many = rng.integers(1, 4, size=len(windows))
    slots = np.arange(_TARGET_SLOTS) % how_many[:, None]
    service = rng.choice(len(AUTH_SERVICES), size=len(windows), p=_ATTACK_SERVICES)
    service[-1] = 0  # the headline attack is against SSO

    remote = min(max(256, people // 2), 30_000)  # remote picks are 16-bit fractions of the pool, in int32
    outside = public_ipv4(rng, remote + len(windows))
    addresses = internal_ipv4(people, 100) + outside
    return _Plan(
        start_us=period.start_us,
        counts=counts,
        burst_q=np.round(burst_rate / total * _Q).astype(np.int32),
        burst_of_minute=burst_of_minute,
        failure_q=np.round(failure * _Q).astype(np.int32),
        user_table=_user_table(accounts.activity),
        mfa_from_us=np.concatenate([accounts.mfa_from_us, np.full(named, NEVER, dtype=np.int64)]),
        remote_first=people,
        remote_count=remote,
        burst_targets=np.take_along_axis(targets, slots, axis=1).astype(np.int32),
        burst_ip=np.arange(people + remote, people + remote + len(windows), dtype=np.int32),
        burst_service=service.astype(np.int8),
        host_table=_host_table(),
        host_service=np.repeat(np.arange(len(AUTH_SERVICES), dtype=np.int8), _HOST_COUNT),
        users=pa.array([*accounts.users, *ATTACKER_USERNAMES], type=pa.string()),
        addresses=pa.array(addresses, type=pa.string()),
    )


def _sorted_times(
    rng: np.random.Generator, counts: npt.NDArray[np.int64], first_us: int
) -> npt.NDArray[np.int64]:
    """Times of `counts[i]` events in minute i (from `first_us`), uniform within the minute and ascending.

    Uniform order statistics without sorting: the partial sums of k+1 exponential spacings, divided by their
    total, are distributed as k sorted uniforms. The (k+1)th spacing of each minute only enters its total.
    """
    n = int(counts.sum())
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    spacing = np.cumsum(rng.standard_exponential(n))
    closing = rng.standard_exponential(counts.size)
    ends = np.cumsum(counts)
    starts = ends - counts
    before = np.where(starts > 0, spacing[np.maximum(starts - 1, 0)], 0.0)
    scale = US_PER_MINUTE / (spacing[np.maximum(ends - 1, 0)] - before + closing)
    spacing -= np.repeat(before, counts)
    spacing *= np.repeat(scale, counts)
    times = spacing.astype(np.int64)
    times += np.repeat(first_us + np.arange(counts.size, dtype=np.int64) * US_PER_MINUTE, counts)
    return times


def _events_of(counts: npt.NDArray[np.int64], minutes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Positions, within a slab, of the events of the given slab `minutes`."""
    selected = counts[minutes]
    first = np.cumsum(counts)[minutes] - selected
    return np.repeat(first - (np.cumsum(selected) - selected), selected) + np.arange(int(selected.sum()))


def _schema() -> pa.Schema:
    """The canonical schema with string columns dictionary-encoded (readers see plain strings)."""
    index = {"user": pa.int32(), "src_ip": pa.int32()}
    return pa.schema(
        [
            pa.field(f.name, pa.dictionary(index.get(f.name, pa.int8()), f.type))
            if f.type == pa.string()
            else f
            for f in arrow_schema("auth_events")
        ]
    )


def _events(
    plan: _Plan, rng: np.random.Generator, first: int, last: int, schema: pa.Schema
) -> pa.RecordBatch:
    """The events of minutes [first, last) of the period."""
    counts = plan.counts[first:last]
    n = int(counts.sum())
    time = _sorted_times(rng, counts, plan.start_us + first * US_PER_MINUTE)
    # Eight independent 16-bit fields per event: user (two), failure, home address (or burst target),
    # remote address, host, burst membership, MFA.
    field = rng.integers(0, _FULL, size=(n, 2), dtype=np.uint64, endpoint=True).view(np.uint16)

    user = plan.user_table[field.view(np.uint32)[:, 0] & np.uint32(plan.user_table.size - 1)]
    failed = field[:, 2] < plan.failure_q[first]
    # Only a few minutes differ from the baseline (the degradation) or hold a burst: deal with their events.
    unusual = np.flatnonzero(plan.failure_q[first:last] != plan.failure_q[first])
    where = _events_of(counts, unusual)
    failed[where] = field[where, 2] < np.repeat(plan.failure_q[first + unusual], counts[unusual])
    home = field[:, 3] < round(HOME_ADDRESS_SHARE * _Q)
    remote = (field[:, 4].astype(np.int32) * plan.remote_count >> 16) + plan.remote_first
    address = np.where(home, user, remote)
    host = plan.host_table[field[:, 5]]
    service = plan.host_service[host]

    attacked = np.flatnonzero(plan.burst_q[first:last])
    where = _events_of(counts, attacked)
    threshold = np.repeat(plan.burst_q[first + attacked], counts[attacked])
    inside = field[where, 6] < threshold
    attack = where[inside]
    burst = np.repeat(plan.burst_of_minute[first + attacked], counts[attacked])[inside]
    user[attack] = plan.burst_targets[burst, field[attack, 3] % _TARGET_SLOTS]
    address[attack] = plan.burst_ip[burst]
    target = plan.burst_service[burst]
    host[attack] = _HOST_FIRST[target] + field[attack, 5] % _HOST_COUNT[target]
    service[attack] = target
    failed[attack] = True
    mfa = ~failed & (time >= plan.mfa_from_us[user]) & (field[:, 7] < round(MFA_ON_SUCCESS * _Q))

    return pa.RecordBatch.from_arrays(
        [
            pa.array(time.view("datetime64[us]")),
            _coded(user, plan.users),
            _coded(failed.view(np.int8), pa.array(["success", "failure"])),
            pa.array(mfa),
            _coded(address, plan.addresses),
            _coded(service, pa.array([s.name for s in AUTH_SERVICES])),
            _coded(host, pa.array([h for s in AUTH_SERVICES for h in s.hosts])),
            _coded(np.zeros(n, dtype=np.int8), pa.array([_SOURCE])),
        ],
        schema=schema,
    )


def _coded(index: npt.NDArray[np.integer[Any]], pool: pa.Array) -> pa.DictionaryArray:
    """A dictionary-encoded column: `pool[index]` without materialising the strings."""
    return pa.DictionaryArray.from_arrays(pa.array(index), pool)


def _slabs(counts: npt.NDArray[np.int64], rows: int) -> Iterator[tuple[int, int]]:
    """Consecutive minute ranges of at most `rows` events each (or one minute, if a minute holds more)."""
    cumulative = np.cumsum(counts)
    first = 0
    while first < counts.size:
        done = int(cumulative[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(cumulative, done + rows, side="right")))
        last = min(last, counts.size)
        if cumulative[last - 1] > done:
            yield first, last
        first = last


def write_auth_events(
    path: Path,
    rng: np.random.Generator,
    period: Period,
    accounts: Accounts,
    scenario: Scenario,
    events: int,
    reporter: Reporter,
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Stream exactly `events` authentication events, in time order, to the Parquet file `path`."""
    plan = _plan(rng, period, accounts, scenario, events)
    schema = _schema()
    options = {
        "use_dictionary": [f.name for f in schema if pa.types.is_dictionary(f.type)],
        "column_encoding": {"time": "DELTA_BINARY_PACKED"},
        # Statistics on dictionary strings cost more than the rest of the write; time ones let readers skip.
        "write_statistics": ["time", "mfa"],
    }
    reporter.start("auth events", total=events)
    with atomic_parquet_writer(path, schema, **options) as writer, ThreadPoolExecutor(max_workers=1) as pool:
        # A background thread writes one slab while the next is generated: at most two are held at once.
        pending: tuple[Future[None], int] | None = None
        for first, last in _slabs(plan.counts, chunk_rows):
            batch = _events(plan, rng, first, last, schema)
            if pending is not None:
                pending[0].result()
                reporter.advance(pending[1])
            pending = (pool.submit(writer.write_batch, batch), batch.num_rows)
        if pending is not None:
            pending[0].result()
            reporter.advance(pending[1])
    reporter.finish()
    return int(plan.counts.sum())
