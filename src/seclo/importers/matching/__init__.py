"""Matching components against advisories: OSV range semantics per ecosystem, and the findings they produce."""

from seclo.importers.matching.findings import MatchSummary, match_findings
from seclo.importers.matching.ranges import AffectedEntry, Verdict, VersionParser, evaluate

__all__ = ["AffectedEntry", "MatchSummary", "Verdict", "VersionParser", "evaluate", "match_findings"]
