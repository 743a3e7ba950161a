"""Service level indicators: the built-in security SLI catalog and user SQL SLIs (docs/sli-catalog.md)."""

from seclo.sli.accounts import MfaCoverage, OrphanedAccounts
from seclo.sli.catalog import CATALOG, get_indicator, indicator_params
from seclo.sli.custom import CustomSql
from seclo.sli.exposure import UnexpectedPublicPorts
from seclo.sli.incidents import TimeToAcknowledge, TimeToDetect, TimeToResolve, parse_duration
from seclo.sli.interface import Indicator, IndicatorParams, SliKind, SliSeries, Window
from seclo.sli.logins import BruteForcePressure, LoginSuccess
from seclo.sli.vulnerabilities import EndpointsWithoutVulnerabilities, KnownExploitedOpen, PatchLatency

__all__ = [
    "CATALOG",
    "BruteForcePressure",
    "CustomSql",
    "EndpointsWithoutVulnerabilities",
    "Indicator",
    "IndicatorParams",
    "KnownExploitedOpen",
    "LoginSuccess",
    "MfaCoverage",
    "OrphanedAccounts",
    "PatchLatency",
    "SliKind",
    "SliSeries",
    "TimeToAcknowledge",
    "TimeToDetect",
    "TimeToResolve",
    "UnexpectedPublicPorts",
    "Window",
    "get_indicator",
    "indicator_params",
    "parse_duration",
]
