"""People and their accounts (human, admin, service, shared), as daily inventory snapshots.

Some people leave before or during the period; most of their accounts are disabled a few days later, but a
share never is, and service accounts they owned keep running: those are the orphaned accounts. A few accounts
of people still present are simply never used any more (stale), and MFA enrolment rises slowly over time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from seclo.generate.catalog import DOMAIN, FIRST_NAMES, LAST_NAMES, SERVICES
from seclo.generate.parquet import canonical_table, strings, timestamps
from seclo.generate.period import NEVER, US_PER_DAY, Period
from seclo.generate.randomness import lognormal

__all__ = [
    "ACCOUNT_TYPES",
    "ADMIN_SHARE",
    "DAILY_LOGIN_PROBABILITY",
    "DISABLE_DELAY_MEDIAN_DAYS",
    "DISABLE_DELAY_SIGMA",
    "FORMER_STAFF_SHARE",
    "MFA_ENROLLED_SHARE",
    "MFA_ENROLLING_SHARE",
    "ORPHANED_SHARE",
    "SERVICE_ACCOUNTS_PER_PERSON",
    "SHARED_ACCOUNTS_PER_PERSON",
    "SNAPSHOT_HOUR",
    "STALE_SHARE",
    "YEARLY_ATTRITION",
    "Accounts",
    "generate_accounts",
]

ACCOUNT_TYPES = ("human", "admin", "service", "shared")
ADMIN_SHARE = 0.04  # people who also hold a separate admin account
SERVICE_ACCOUNTS_PER_PERSON = 0.03
SHARED_ACCOUNTS_PER_PERSON = 0.005
FORMER_STAFF_SHARE = 0.05  # people (relative to `users`) who left in the year before the period
YEARLY_ATTRITION = 0.12  # share of staff leaving per year; as many join
ORPHANED_SHARE = 0.15  # accounts of leavers that nobody ever disables
DISABLE_DELAY_MEDIAN_DAYS = 2.0
DISABLE_DELAY_SIGMA = 1.0
STALE_SHARE = 0.03  # accounts of present staff that nobody uses any more
MFA_ENROLLED_SHARE = (0.90, 0.96, 0.03, 0.30)  # per ACCOUNT_TYPES, at the start of the period
MFA_ENROLLING_SHARE = 0.30  # of accounts without MFA, the share that enrol during the period
DAILY_LOGIN_PROBABILITY = (0.75, 0.35, 1.0, 0.5)  # per ACCOUNT_TYPES, for an account in use
SNAPSHOT_HOUR = 2  # the nightly inventory runs at 02:00 UTC
_AUTH_VOLUME = (1.0, 0.5, 4.0, 1.0)  # relative login volume per ACCOUNT_TYPES
_SHARED_WORDS = ("frontdesk", "helpdesk", "kiosk", "lab", "training", "warehouse", "meeting-room")

_LONG_AGO = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True)
class Accounts:
    """The accounts, with what the auth event generator needs to know about each.

    Attributes:
        users: login names, indexed by account.
        activity: relative login volume of each account at the end of the period (0: nobody uses it).
        mfa_from_us: when each account enrolled a second factor (NEVER if it has not).
        table: the `accounts` inventory snapshots.
    """

    users: tuple[str, ...]
    activity: npt.NDArray[np.float64]
    mfa_from_us: npt.NDArray[np.int64]
    table: pa.Table


def _unique_names(rng: np.random.Generator, count: int) -> list[str]:
    """first.last login names, with a number appended where two people share a name."""
    first = rng.integers(0, len(FIRST_NAMES), size=count)
    last = rng.integers(0, len(LAST_NAMES), size=count)
    seen: dict[str, int] = {}
    names: list[str] = []
    for f, la in zip(first.tolist(), last.tolist(), strict=True):
        base = f"{FIRST_NAMES[f]}.{LAST_NAMES[la]}"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}{seen[base]}")
    return names


@dataclass(frozen=True, slots=True)
class _People:
    names: list[str]
    join_us: npt.NDArray[np.int64]
    leave_us: npt.NDArray[np.int64]


def _people(rng: np.random.Generator, period: Period, users: int) -> _People:
    """Current staff (`users` at the start), people who join or leave during it, and former staff."""
    former = round(users * FORMER_STAFF_SHARE)
    count = users + former
    turnover = min(1.0, YEARLY_ATTRITION * period.days / 365)
    in_period = rng.integers(period.start_us, period.end_us, size=(2, count), dtype=np.int64)
    join = np.where(rng.random(count) < turnover, in_period[0], _LONG_AGO)
    leave = np.where(rng.random(count) < turnover, in_period[1], NEVER)
    leave = np.where(leave > join, leave, NEVER)
    join[users:] = _LONG_AGO
    leave[users:] = rng.integers(
        period.start_us - 365 * US_PER_DAY, period.start_us, size=former, dtype=np.int64
    )
    return _People(_unique_names(rng, count), join, leave)


def generate_accounts(rng: np.random.Generator, period: Period, users: int) -> Accounts:
    """Draw the organisation's people and accounts, and their daily inventory snapshots."""
    people = _people(rng, period, users)
    count = len(people.names)
    admins = np.flatnonzero(rng.random(count) < ADMIN_SHARE)
    services = rng.binomial(users, SERVICE_ACCOUNTS_PER_PERSON)
    shared = rng.binomial(users, SHARED_ACCOUNTS_PER_PERSON)
    kind = np.repeat(np.arange(4, dtype=np.int8), [count, admins.size, services, shared])
    # Service and shared accounts belong to anyone, former staff included: those are orphaned from the start.
    owner = np.concatenate([np.arange(count), admins, rng.integers(0, count, size=services + shared)])
    names = [
        *people.names,
        *(f"adm-{people.names[i]}" for i in admins.tolist()),
        *(f"svc-{SERVICES[i % len(SERVICES)].name}-{i // len(SERVICES) + 1}" for i in range(services)),
        *(
            f"shared-{_SHARED_WORDS[i % len(_SHARED_WORDS)]}-{i // len(_SHARED_WORDS) + 1}"
            for i in range(shared)
        ),
    ]
    total = kind.size
    personal = kind <= 1
    leave = people.leave_us[owner]
    created = np.where(personal, people.join_us[owner], _LONG_AGO)
    newly_made = ~personal & (rng.random(total) < 0.2 * period.days / 365)
    created = np.where(newly_made, rng.integers(period.start_us, period.end_us, size=total), created)

    delay = (lognormal(rng, DISABLE_DELAY_MEDIAN_DAYS, DISABLE_DELAY_SIGMA, total) * US_PER_DAY).astype(
        np.int64
    )
    orphaned = rng.random(total) < ORPHANED_SHARE
    disabled_at = np.where(personal & (leave < NEVER) & ~orphaned, leave + delay, NEVER)

    enrolled = rng.random(total) < np.take(MFA_ENROLLED_SHARE, kind)
    enrolling = ~enrolled & (rng.random(total) < MFA_ENROLLING_SHARE)
    enrol_time = rng.integers(period.start_us, period.end_us, size=total, dtype=np.int64)
    mfa_from = np.where(enrolled, _LONG_AGO, np.where(enrolling, enrol_time, NEVER))

    stale = rng.random(total) < STALE_SHARE
    daily = np.clip(np.take(DAILY_LOGIN_PROBABILITY, kind) * rng.uniform(0.7, 1.3, size=total), 0.02, 1.0)
    until = np.where(personal, np.minimum(leave, disabled_at), disabled_at)
    stale_since = period.start_us - rng.integers(120 * US_PER_DAY, 720 * US_PER_DAY, size=total)
    recent = period.start_us - (rng.exponential(1.0 / daily) * US_PER_DAY).astype(np.int64)
    first_seen = np.where(stale, stale_since, np.minimum(recent, until))
    first_seen = np.where(created > period.start_us, _LONG_AGO, first_seen)

    snaps = period.snapshots(1, SNAPSHOT_HOUR)
    at = snaps[:, None]
    logged = (created <= at) & (until > at) & ~stale & (rng.random((snaps.size, total)) < daily)
    when = np.minimum(at - (rng.random((snaps.size, total)) * US_PER_DAY).astype(np.int64), until)
    when = np.maximum(when, created)
    last = np.maximum.accumulate(np.maximum(np.where(logged, when, _LONG_AGO), first_seen), axis=0)

    exists = (created <= at).ravel()
    snap_rows = np.repeat(snaps, total)[exists]
    account = np.tile(np.arange(total), snaps.size)[exists]
    last_rows = last.ravel()[exists]
    owners = [f"{name}@{DOMAIN}" for name in people.names]
    table = canonical_table(
        "accounts",
        snapshot_time=timestamps(snap_rows),
        account_id=strings([f"acct-{i:06d}" for i in range(total)], account),
        user=strings(names, account),
        type=strings(ACCOUNT_TYPES, kind[account]),
        owner=strings(owners, owner[account]),
        owner_active=pa.array((leave > at).ravel()[exists]),
        mfa_enabled=pa.array((mfa_from <= at).ravel()[exists]),
        disabled=pa.array((disabled_at <= at).ravel()[exists]),
        last_login=timestamps(last_rows, mask=last_rows == _LONG_AGO),
    )
    in_use = (created <= period.end_us) & (until > period.end_us) & ~stale
    variation = lognormal(rng, 1.0, 0.5, total)
    activity = np.where(in_use, daily * np.take(_AUTH_VOLUME, kind) * variation, 0.0)
    return Accounts(tuple(names), activity, mfa_from.astype(np.int64), table)
