"""Is a package version affected by an OSV `affected` entry? The OSV schema's evaluation algorithm.

From the OSV schema ("Evaluation"): a version is affected when it equals an entry of `versions`, or when some
range says so (ranges are OR-ed). Within a range the events are sorted by version; walking them, `introduced`
at or below the version makes it vulnerable, `fixed` at or below it makes it not vulnerable, and a
`last_affected` strictly below it makes it not vulnerable. A range with `limit` events only applies to versions
below one of its limits. "0" as `introduced` sorts before every version, a `limit` containing "*" after every
version.

Ranges are ordered by their type: SEMVER with SemVer 2.0 precedence (python-semver), ECOSYSTEM with the
ecosystem's own ordering where seclo has one (PyPI: PEP 440; npm: SemVer). GIT ranges need the repository's
commit graph and are not evaluated; neither are ECOSYSTEM ranges of other ecosystems, nor ranges with an event
that does not parse. Those cases rely on the explicit `versions` list alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from seclo.importers.matching.ecosystems import ParsedVersion, Scheme, ecosystem_scheme, parse_version

__all__ = [
    "AffectedEntry",
    "Event",
    "Range",
    "Verdict",
    "VersionParser",
    "affected_in_range",
    "evaluate",
    "parse_ranges",
    "range_bounds",
    "range_scheme",
    "unevaluable_ranges",
]

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


class _Tier(IntEnum):
    """Where a bound sits: before every version ("0"), at a parsed version, or after every version ("*")."""

    BOTTOM = 0
    VERSION = 1
    TOP = 2


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a range: its kind and its version as written."""

    kind: str
    version: str


@dataclass(frozen=True, slots=True)
class Range:
    """One range of an `affected` entry."""

    type: str
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class AffectedEntry:
    """One advisory's `affected` entry for one package, as stored in the advisories table."""

    vuln_id: str
    ecosystem_key: str
    ranges: tuple[Range, ...]
    versions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A version is affected. fix_available: the span the version is in ends with a `fixed` event."""

    fix_available: bool


class VersionParser:
    """Parses versions under a scheme once each (a run of the matcher sees the same versions many times)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Scheme, str], ParsedVersion | None] = {}

    def __call__(self, scheme: Scheme, text: str) -> ParsedVersion | None:
        """`text` parsed under `scheme`, or None when it is not a valid version there."""
        key = (scheme, text)
        if key not in self._cache:
            self._cache[key] = parse_version(scheme, text)
        return self._cache[key]


def parse_ranges(text: str | None) -> tuple[Range, ...]:
    """The ranges of an advisories row (its `ranges` column, OSV JSON written by the OSV importer)."""
    if not text:
        return ()
    try:
        loaded: Any = json.loads(text)
    except (ValueError, RecursionError):
        return ()  # not JSON (a hand-made canonical advisories file): the versions list still applies
    ranges: list[Range] = []
    for item in loaded if isinstance(loaded, list) else []:
        if not isinstance(item, Mapping):
            continue
        events = tuple(
            Event(kind, str(value))
            for event in item.get("events") or []
            if isinstance(event, Mapping)
            for kind, value in event.items()
            if kind in EVENT_KINDS
        )
        ranges.append(Range(str(item.get("type", "")).upper(), events))
    return tuple(ranges)


def range_scheme(range_type: str, ecosystem_key: str) -> Scheme | None:
    """How a range's versions are ordered, or None when seclo does not evaluate this range."""
    if range_type == "SEMVER":
        return "semver"
    if range_type == "ECOSYSTEM":
        return ecosystem_scheme(ecosystem_key)
    return None


Bound = tuple[_Tier, ParsedVersion | None]


def _bound(event: Event, scheme: Scheme, parse: VersionParser) -> Bound | None:
    if event.kind == "introduced" and event.version.strip() == "0":
        return _Tier.BOTTOM, None
    if event.kind == "limit" and "*" in event.version:
        return _Tier.TOP, None
    parsed = parse(scheme, event.version)
    return None if parsed is None else (_Tier.VERSION, parsed)


def _at_or_below(bound: Bound, version: ParsedVersion) -> bool:
    """bound <= version (both under the same scheme)."""
    tier, value = bound
    if tier != _Tier.VERSION:
        return tier == _Tier.BOTTOM
    return bool(value <= version)  # type: ignore[operator]


def _below(bound: Bound, version: ParsedVersion) -> bool:
    """bound < version (both under the same scheme)."""
    tier, value = bound
    if tier != _Tier.VERSION:
        return tier == _Tier.BOTTOM
    return bool(value < version)  # type: ignore[operator]


def _sort_key(item: tuple[Event, Bound]) -> tuple[int, Any, int]:
    event, (tier, value) = item
    # Equal versions: `introduced` first, so an empty range [v, v) affects nothing and [v, v] affects v.
    return (tier, value if tier == _Tier.VERSION else 0, 0 if event.kind == "introduced" else 1)


def range_bounds(rng: Range, scheme: Scheme, parse: VersionParser) -> list[tuple[Event, Bound]] | None:
    """The range's events with parsed versions, sorted as the OSV algorithm walks them; None if one fails."""
    bounds: list[tuple[Event, Bound]] = []
    for event in rng.events:
        bound = _bound(event, scheme, parse)
        if bound is None:
            return None
        bounds.append((event, bound))
    return sorted(bounds, key=_sort_key)


def affected_in_range(bounds: Sequence[tuple[Event, Bound]], version: ParsedVersion) -> Verdict | None:
    """The OSV algorithm for one range (its sorted, parsed events): a Verdict when affected, else None."""
    limits = [b for e, b in bounds if e.kind == "limit"]
    if limits and all(_at_or_below(limit, version) for limit in limits):
        return None  # a range with limits only covers versions below one of them
    vulnerable = False
    fix_above: bool | None = None  # decided by the first event above the version that ends its span
    for event, bound in bounds:
        if event.kind == "introduced":
            if _at_or_below(bound, version):
                vulnerable, fix_above = True, None
        elif event.kind == "fixed":
            if _at_or_below(bound, version):
                vulnerable = False
            elif vulnerable and fix_above is None:
                fix_above = True
        elif event.kind == "last_affected":
            if _below(bound, version):
                vulnerable = False
            elif vulnerable and fix_above is None:
                fix_above = False
    return Verdict(fix_available=bool(fix_above)) if vulnerable else None


def evaluate(entry: AffectedEntry, version: str, parse: VersionParser) -> Verdict | None:
    """Whether `version` of the entry's package is affected, per the OSV evaluation algorithm.

    Returns:
        A Verdict when affected, else None. A version that does not parse matches no range; it can still equal
        an entry of `versions` character for character.
    """
    verdict: Verdict | None = None
    for rng in entry.ranges:
        scheme = range_scheme(rng.type, entry.ecosystem_key)
        if scheme is None:
            continue
        bounds, parsed = range_bounds(rng, scheme, parse), parse(scheme, version)
        if bounds is None or parsed is None:
            continue
        found = affected_in_range(bounds, parsed)
        if found is not None and (verdict is None or found.fix_available):
            verdict = found
    if verdict is None and _listed(entry, version, parse):
        verdict = Verdict(_fixed_above(entry, version, parse))
    return verdict


def unevaluable_ranges(entry: AffectedEntry, parse: VersionParser) -> int:
    """How many of the entry's ranges seclo cannot evaluate (GIT, unordered ecosystem, unparseable event)."""
    count = 0
    for rng in entry.ranges:
        scheme = range_scheme(rng.type, entry.ecosystem_key)
        if scheme is None or range_bounds(rng, scheme, parse) is None:
            count += 1
    return count


def _listed(entry: AffectedEntry, version: str, parse: VersionParser) -> bool:
    """`version` is in the entry's explicit `versions` list (exactly, or equal in the ecosystem's ordering)."""
    if version in entry.versions:
        return True
    scheme = ecosystem_scheme(entry.ecosystem_key)
    if scheme is None or not entry.versions:
        return False
    parsed = parse(scheme, version)
    return parsed is not None and any(parse(scheme, listed) == parsed for listed in entry.versions)


def _fixed_above(entry: AffectedEntry, version: str, parse: VersionParser) -> bool:
    """For a version matched by the `versions` list alone: does some range carry a fix above it?

    In a range seclo cannot order (an ecosystem without an ordering) any `fixed` event counts; a GIT fix commit
    is not a released version, so GIT ranges do not count.
    """
    for rng in entry.ranges:
        if rng.type == "GIT":
            continue
        fixes = [e for e in rng.events if e.kind == "fixed"]
        scheme = range_scheme(rng.type, entry.ecosystem_key)
        parsed = parse(scheme, version) if scheme is not None else None
        if fixes and (scheme is None or parsed is None):
            return True
        for fix in fixes:
            bound = parse(scheme, fix.version) if scheme is not None else None
            if parsed is not None and bound is not None and bound > parsed:  # type: ignore[operator]
                return True
    return False
