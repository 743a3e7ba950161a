"""The qualitative severity of an advisory: a label the database gives, or the bucket of a CVSS v3 base score.

The CVSS v3.x base score is computed with the formulas of the CVSS v3.1 specification (section 7.1 and the
Roundup function of Appendix A, which v3.0 vectors share: it only fixes floating-point error). Buckets are the
specification's qualitative rating scale (section 5). CVSS v2 and v4 vectors are not scored: v4 needs the
specification's macro-vector lookup tables, and v2 has no "critical" rating; such advisories keep no severity
unless the database labels them.
"""

from __future__ import annotations

import math

__all__ = ["SEVERITY_ORDER", "cvss3_base_score", "qualitative", "severity_from_cvss3"]

# Least to most severe; findings take the most severe of the advisories that produced them.
SEVERITY_ORDER = ("unknown", "none", "low", "medium", "high", "critical")

_LABELS = {
    "critical": "critical",
    "high": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "none": "none",
}

# CVSS v3.1 specification, section 7.4 (metric values).
_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}
_SCOPE = {"U", "C"}
_BASE_METRICS = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")


def qualitative(label: object) -> str | None:
    """A database's severity label as one of critical, high, medium, low, none (GHSA's MODERATE is medium)."""
    if not isinstance(label, str):
        return None
    return _LABELS.get(label.strip().lower())


def _roundup(value: float) -> float:
    """CVSS v3.1 Appendix A: the smallest number with one decimal that is >= value, free of float error."""
    scaled = round(value * 100_000)
    if scaled % 10_000 == 0:
        return scaled / 100_000.0
    return (math.floor(scaled / 10_000) + 1) / 10.0


def _metrics(vector: str) -> dict[str, str] | None:
    parts = vector.strip().split("/")
    if not parts or parts[0] not in {"CVSS:3.0", "CVSS:3.1"}:
        return None
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, value = part.partition(":")
        if not sep or name in metrics:
            return None  # malformed, or a metric given twice
        metrics[name] = value
    return metrics if all(m in metrics for m in _BASE_METRICS) else None


def cvss3_base_score(vector: str) -> float | None:
    """The base score of a CVSS v3.0 or v3.1 vector, or None when the vector is not a valid v3 vector."""
    m = _metrics(vector)
    if m is None or m["S"] not in _SCOPE:
        return None
    changed = m["S"] == "C"
    pr_table = _PR_CHANGED if changed else _PR_UNCHANGED
    try:
        av, ac, pr, ui = _AV[m["AV"]], _AC[m["AC"]], pr_table[m["PR"]], _UI[m["UI"]]
        c, i, a = _CIA[m["C"]], _CIA[m["I"]], _CIA[m["A"]]
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    total = 1.08 * (impact + exploitability) if changed else impact + exploitability
    return _roundup(min(total, 10.0))


def severity_from_cvss3(vector: str) -> str | None:
    """The qualitative rating (CVSS v3.1 section 5) of a v3 vector's base score, or None if not a v3 vector."""
    score = cvss3_base_score(vector)
    if score is None:
        return None
    if score == 0:
        return "none"
    if score < 4:
        return "low"
    if score < 7:
        return "medium"
    return "high" if score < 9 else "critical"
