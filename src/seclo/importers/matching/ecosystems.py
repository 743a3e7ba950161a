"""Package ecosystems: how names are compared and how versions are ordered in each.

Components (from SBOMs) name their ecosystem by purl type ("pypi", "golang"), advisories by OSV ecosystem
("PyPI", "Go"); both sides are reduced to the same lower-case key. PyPI names are compared normalised (PEP 503).
Version ordering always comes from a library, never from hand-written comparison: PEP 440 (packaging) for PyPI,
SemVer 2.0 precedence (python-semver) for npm and for ranges of type SEMVER in any ecosystem.
"""

from __future__ import annotations

import re
from typing import Literal, TypeAlias

import semver
from packaging.version import InvalidVersion, Version

__all__ = [
    "NPM",
    "PYPI",
    "ParsedVersion",
    "Scheme",
    "ecosystem_key",
    "ecosystem_key_sql",
    "ecosystem_scheme",
    "normalise_name",
    "normalised_name_sql",
    "parse_version",
]

Scheme = Literal["pep440", "semver"]
ParsedVersion: TypeAlias = Version | semver.Version

PYPI = "pypi"
NPM = "npm"

# purl types that differ from the OSV ecosystem name (lower-cased on both sides). Distribution ecosystems
# (Debian:12, Alpine:v3.20...) carry a release in the OSV name that a purl type lacks, so they are not mapped.
_PURL_TO_OSV = {
    "golang": "go",
    "cargo": "crates.io",
    "gem": "rubygems",
    "composer": "packagist",
}

# Ecosystems whose ECOSYSTEM ranges seclo can order. Elsewhere only the explicit `versions` list matches.
_ECOSYSTEM_SCHEMES: dict[str, Scheme] = {PYPI: "pep440", NPM: "semver"}

_PEP503_SEPARATORS = re.compile(r"[-_.]+")


def ecosystem_key(ecosystem: str) -> str:
    """The comparison key of an OSV ecosystem or purl type ("PyPI" and "pypi" -> "pypi")."""
    lowered = ecosystem.strip().lower()
    return _PURL_TO_OSV.get(lowered, lowered)


def ecosystem_key_sql(column: str) -> str:
    """SQL computing `ecosystem_key` of a column (the matcher joins on the SQL side only)."""
    lowered = f"lower(trim({column}))"
    cases = " ".join(f"WHEN '{purl}' THEN '{osv}'" for purl, osv in _PURL_TO_OSV.items())
    return f"CASE {lowered} {cases} ELSE {lowered} END"


def normalise_name(ecosystem_key_: str, name: str) -> str:
    """A package name as compared: PEP 503 normalised for PyPI (runs of -_. become -), unchanged elsewhere."""
    if ecosystem_key_ == PYPI:
        return _PEP503_SEPARATORS.sub("-", name).lower()
    return name


def normalised_name_sql(key_sql: str, name_column: str) -> str:
    """SQL computing `normalise_name(key, name)`, given SQL for the ecosystem key."""
    pep503 = f"lower(regexp_replace({name_column}, '[-_.]+', '-', 'g'))"
    return f"CASE WHEN {key_sql} = '{PYPI}' THEN {pep503} ELSE {name_column} END"


def ecosystem_scheme(ecosystem_key_: str) -> Scheme | None:
    """The ordering of an ecosystem's own versions (for ECOSYSTEM ranges), or None when seclo has none."""
    return _ECOSYSTEM_SCHEMES.get(ecosystem_key_)


def parse_version(scheme: Scheme, text: str) -> ParsedVersion | None:
    """`text` as a comparable version under `scheme`, or None when it is not a valid version there.

    SemVer versions may carry one leading "v" (Go modules and git tags write v1.2.3); OSV itself omits it.
    """
    text = text.strip()
    try:
        if scheme == "pep440":
            return Version(text)
        if text[:1] in {"v", "V"}:
            text = text[1:]
        return semver.Version.parse(text)
    except (InvalidVersion, ValueError, TypeError):
        return None
