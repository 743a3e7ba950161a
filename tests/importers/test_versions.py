"""OSV range semantics per ecosystem: PEP 440 for PyPI, SemVer for npm and SEMVER ranges, explicit versions."""

from __future__ import annotations

import json
import re
from typing import Any

import duckdb
import semver
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from seclo.importers.matching import AffectedEntry, Verdict, VersionParser, evaluate
from seclo.importers.matching.ecosystems import (
    ecosystem_key,
    ecosystem_key_sql,
    normalise_name,
    normalised_name_sql,
)
from seclo.importers.matching.ranges import parse_ranges, unevaluable_ranges
from seclo.importers.matching.severity import cvss3_base_score, severity_from_cvss3

SETTINGS = settings(max_examples=150, deadline=None)
SQL = duckdb.connect()  # one in-memory engine for the SQL-side checks


def entry(
    ecosystem: str, ranges: list[dict[str, Any]] | None = None, versions: list[str] | None = None
) -> AffectedEntry:
    """An affected entry as the matcher reads it from the advisories table."""
    return AffectedEntry(
        "TEST-1", ecosystem_key(ecosystem), parse_ranges(json.dumps(ranges or [])), frozenset(versions or [])
    )


def rng(kind: str, *events: tuple[str, str]) -> dict[str, Any]:
    """A range of type `kind` with the given (event kind, version) pairs in order."""
    return {"type": kind, "events": [{k: v} for k, v in events]}


def affected(e: AffectedEntry, version: str) -> bool:
    """Whether the matcher says `version` is affected."""
    return evaluate(e, version, VersionParser()) is not None


def test_pypi_range_is_pep440_introduced_inclusive_fixed_exclusive() -> None:
    """A PyPI ECOSYSTEM range covers [introduced, fixed) in PEP 440 order, so 1.10 is above 1.9."""
    e = entry("PyPI", [rng("ECOSYSTEM", ("introduced", "1.2"), ("fixed", "1.10"))])
    assert [affected(e, v) for v in ("1.1", "1.2", "1.2.0", "1.9", "1.10rc1", "1.10", "1.10.1")] == [
        False,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_last_affected_is_inclusive() -> None:
    """`last_affected` keeps its own version affected and frees every later one."""
    e = entry("PyPI", [rng("ECOSYSTEM", ("introduced", "0"), ("last_affected", "1.11.0"))])
    assert (
        affected(e, "0.1"),
        affected(e, "1.11.0"),
        affected(e, "1.11.0.post1"),
        affected(e, "1.11.1"),
    ) == (
        True,
        True,
        False,
        False,
    )


def test_introduced_zero_means_every_version() -> None:
    """ "0" as introduced sorts before every version, even pre-releases of 0."""
    e = entry("PyPI", [rng("ECOSYSTEM", ("introduced", "0"))])
    assert all(affected(e, v) for v in ("0.0.dev0", "0a1", "0", "2024.1", "99!1.0"))


def test_events_are_sorted_and_spans_and_ranges_are_ored() -> None:
    """Events are sorted before the walk; two spans in one range and separate ranges all count."""
    unsorted = rng(
        "ECOSYSTEM", ("fixed", "3.2.5"), ("introduced", "3.0"), ("fixed", "1.0.2"), ("introduced", "1.0")
    )
    e = entry("PyPI", [unsorted, rng("ECOSYSTEM", ("introduced", "5.0"), ("fixed", "5.1"))])
    hits = {
        v: affected(e, v) for v in ("0.9", "1.0", "1.0.2", "2.0", "3.0", "3.2.4", "3.2.5", "5.0.1", "5.1")
    }
    assert hits == {
        "0.9": False,
        "1.0": True,
        "1.0.2": False,
        "2.0": False,
        "3.0": True,
        "3.2.4": True,
        "3.2.5": False,
        "5.0.1": True,
        "5.1": False,
    }


def test_npm_uses_semver_precedence_with_prereleases_and_leading_v() -> None:
    """npm ranges compare by SemVer: 4.17.21-beta.1 is below the fix 4.17.21, and v4.17.20 parses."""
    e = entry("npm", [rng("ECOSYSTEM", ("introduced", "0"), ("fixed", "4.17.21"))])
    assert affected(e, "4.17.21-beta.1")
    assert affected(e, "v4.17.20")
    assert not affected(e, "4.17.21")
    assert not affected(e, "4.17.21+build.5")  # build metadata does not change precedence
    assert not affected(e, "5.0.0-rc.1")


def test_semver_range_last_affected_and_limit() -> None:
    """A SEMVER range honours last_affected, and limit bounds the range from above."""
    last = entry("Go", [rng("SEMVER", ("introduced", "1.2.0"), ("last_affected", "1.4.0"))])
    assert (affected(last, "v1.1.9"), affected(last, "v1.4.0"), affected(last, "1.4.1-alpha")) == (
        False,
        True,
        False,
    )
    limited = entry("npm", [rng("SEMVER", ("introduced", "1.0.0"), ("limit", "2.0.0"))])
    assert (affected(limited, "1.9.9"), affected(limited, "2.0.0"), affected(limited, "3.0.0")) == (
        True,
        False,
        False,
    )
    star = entry("npm", [rng("SEMVER", ("introduced", "1.0.0"), ("limit", "*"))])
    assert affected(star, "9.9.9")


def test_explicit_versions_match_exactly_or_pep440_equal() -> None:
    """The versions list matches character for character, and for PyPI also PEP 440-equal spellings."""
    e = entry("PyPI", versions=["1.0", "2.0rc1"])
    assert (affected(e, "1.0"), affected(e, "1.0.0"), affected(e, "2.0-rc.1"), affected(e, "1.1")) == (
        True,
        True,
        True,
        False,
    )


def test_unordered_ecosystem_and_git_ranges_use_only_the_versions_list() -> None:
    """Maven ECOSYSTEM ranges and GIT ranges are not evaluated; the explicit versions still match."""
    e = entry(
        "Maven",
        [
            rng("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.0")),
            rng("GIT", ("introduced", "0"), ("fixed", "abc")),
        ],
        ["1.5"],
    )
    assert affected(e, "1.5")
    assert not affected(e, "1.6")
    assert unevaluable_ranges(e, VersionParser()) == 2


def test_fix_available_means_a_fix_above_the_version_in_its_span() -> None:
    """A version in a span that a later `fixed` closes has a fix; one in an open-ended span has none."""
    e = entry("PyPI", [rng("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0"), ("introduced", "2.0"))])
    parse = VersionParser()
    early, late = evaluate(e, "0.5", parse), evaluate(e, "2.5", parse)
    assert early == Verdict(fix_available=True)
    assert late == Verdict(fix_available=False)
    capped = entry(
        "PyPI",
        [
            rng(
                "ECOSYSTEM",
                ("introduced", "0"),
                ("last_affected", "0.8"),
                ("introduced", "2.0"),
                ("fixed", "3.0"),
            )
        ],
    )
    assert evaluate(capped, "0.5", parse) == Verdict(fix_available=False)
    assert evaluate(capped, "2.5", parse) == Verdict(fix_available=True)


def test_range_with_an_unparseable_event_is_not_evaluated() -> None:
    """A range whose event is not a valid version is skipped rather than guessed at."""
    e = entry("PyPI", [rng("ECOSYSTEM", ("introduced", "0"), ("fixed", "not-a-version!"))])
    assert not affected(e, "1.0")
    assert unevaluable_ranges(e, VersionParser()) == 1


def test_ranges_text_that_is_not_json_is_read_as_no_ranges() -> None:
    """A hand-made advisories row with broken ranges JSON falls back to its versions list."""
    e = AffectedEntry("X-1", "pypi", parse_ranges("[{not json"), frozenset({"1.0"}))
    assert affected(e, "1.0")
    assert not affected(e, "1.1")


def test_ecosystem_keys_join_purl_types_to_osv_names() -> None:
    """purl types and OSV ecosystem names reduce to the same key, in Python and in SQL."""
    pairs = [("PyPI", "pypi"), ("golang", "Go"), ("cargo", "crates.io"), ("gem", "RubyGems"), ("npm", "npm")]
    for purl_type, osv_name in pairs:
        assert ecosystem_key(purl_type) == ecosystem_key(osv_name)
        sql = SQL.execute(f"SELECT {ecosystem_key_sql('e')} FROM (SELECT ? AS e)", [purl_type]).fetchall()[0][
            0
        ]
        assert sql == ecosystem_key(purl_type)


@SETTINGS
@given(st.text(alphabet="AbcZ019-_. ", min_size=1, max_size=20))
def test_pep503_normalisation_agrees_in_python_and_sql(name: str) -> None:
    """PyPI names normalise the same way in the matcher's SQL and in Python (runs of -_. become -)."""
    expected = re.sub(r"[-_.]+", "-", name).lower()
    sql = SQL.execute(
        f"SELECT {normalised_name_sql(repr('pypi'), 'n')} FROM (SELECT ? AS n)", [name]
    ).fetchall()[0][0]
    assert normalise_name("pypi", name) == expected == sql


def test_cvss3_base_scores_match_the_specification_examples() -> None:
    """Base scores and ratings of well-known CVSS v3 vectors are those the FIRST calculator gives."""
    scores = {
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H": 7.8,
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H": 7.5,
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N": 5.9,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H": 10.0,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N": 0.0,
    }
    assert {v: cvss3_base_score(v) for v in scores} == scores
    assert severity_from_cvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N") == "medium"
    assert severity_from_cvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == "critical"
    assert severity_from_cvss3("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") is None
    assert severity_from_cvss3("CVSS:3.1/AV:N/AC:L") is None


ECOSYSTEMS = st.sampled_from(["PyPI", "npm", "Go", "Maven"])


@SETTINGS
@given(ECOSYSTEMS, st.text(max_size=30), st.sampled_from(["ECOSYSTEM", "SEMVER"]))
def test_random_version_strings_never_crash_and_invalid_ones_match_no_range(
    ecosystem: str, version: str, kind: str
) -> None:
    """Any string as a version is answered; one invalid in the range's ordering is never inside a range."""
    e = entry(ecosystem, [rng(kind, ("introduced", "0"))])
    result = affected(e, version)
    scheme_ok = (
        _valid_pep440(version) if kind == "ECOSYSTEM" and ecosystem == "PyPI" else _valid_semver(version)
    )
    if kind == "ECOSYSTEM" and ecosystem in {"Go", "Maven"}:
        assert not result
    else:
        assert result == scheme_ok


def _valid_pep440(text: str) -> bool:
    try:
        Version(text.strip())
    except (InvalidVersion, ValueError):
        return False
    return True


def _valid_semver(text: str) -> bool:
    text = text.strip()
    try:
        semver.Version.parse(text[1:] if text[:1] in {"v", "V"} else text)
    except (ValueError, TypeError):
        return False
    return True


PEP440 = st.builds(
    lambda release, pre, post, dev: ".".join(map(str, release)) + pre + post + dev,
    st.lists(st.integers(0, 12), min_size=1, max_size=3),
    st.one_of(
        st.just(""), st.builds(lambda k, n: f"{k}{n}", st.sampled_from(["a", "b", "rc"]), st.integers(0, 3))
    ),
    st.one_of(st.just(""), st.builds(lambda n: f".post{n}", st.integers(0, 2))),
    st.one_of(st.just(""), st.builds(lambda n: f".dev{n}", st.integers(0, 2))),
)


@SETTINGS
@given(st.lists(PEP440, min_size=2, max_size=6, unique_by=Version), PEP440, st.booleans())
def test_pep440_ranges_agree_with_packaging(bounds: list[str], version: str, inclusive_end: bool) -> None:
    """For random PEP 440 versions and spans, the matcher agrees with comparisons done by packaging."""
    ordered = sorted(bounds, key=Version)
    # OSV sorts an `introduced` of exactly "0" before every version, so "0" as a later bound (after .dev
    # releases of 0) would reorder the spans this oracle builds; test_introduced_zero_means_every_version
    # covers "0" on its own.
    assume("0" not in ordered[1:])
    spans = list(zip(ordered[::2], ordered[1::2], strict=False))
    end_kind = "last_affected" if inclusive_end else "fixed"
    events = [(k, v) for lo, hi in spans for k, v in (("introduced", lo), (end_kind, hi))]
    e = entry("PyPI", [rng("ECOSYSTEM", *reversed(events))])
    v = Version(version)
    # OSV: an `introduced` of exactly "0" sorts before every version (even 0.dev0, which PEP 440 puts below 0).
    expected = any(
        (lo == "0" or Version(lo) <= v) and (v <= Version(hi) if inclusive_end else v < Version(hi))
        for lo, hi in spans
    )
    assert affected(e, version) == expected


SEMVER = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + pre,
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 4),
    st.sampled_from(["", "-alpha", "-alpha.1", "-beta", "-rc.2"]),
)


@SETTINGS
@given(SEMVER, SEMVER, SEMVER)
def test_semver_ranges_agree_with_python_semver(lo: str, hi: str, version: str) -> None:
    """For random SemVer versions, [introduced, fixed) agrees with python-semver's own comparison."""
    low, high = sorted([lo, hi], key=semver.Version.parse)
    e = entry("npm", [rng("SEMVER", ("introduced", low), ("fixed", high))])
    expected = semver.Version.parse(low) <= semver.Version.parse(version) < semver.Version.parse(high)
    assert affected(e, version) == expected
