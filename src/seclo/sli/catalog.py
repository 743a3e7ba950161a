"""The built-in SLI catalog: every indicator by the name OpenSLO files use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from seclo.errors import ConfigError
from seclo.sli.accounts import MfaCoverage, OrphanedAccounts
from seclo.sli.custom import CustomSql, SqlRatio, SqlThreshold
from seclo.sli.experiments import DetectionCoverage, ExperimentTimeToDetect, ExperimentTimeToRemediate
from seclo.sli.exposure import UnexpectedPublicPorts
from seclo.sli.incidents import TimeToAcknowledge, TimeToDetect, TimeToResolve
from seclo.sli.interface import Indicator, IndicatorParams
from seclo.sli.logins import BruteForcePressure, LoginSuccess
from seclo.sli.vulnerabilities import EndpointsWithoutVulnerabilities, KnownExploitedOpen, PatchLatency

__all__ = ["CATALOG", "get_indicator", "indicator_params"]

CATALOG: dict[str, type[Indicator]] = {
    cls.name: cls
    for cls in (
        LoginSuccess,
        BruteForcePressure,
        MfaCoverage,
        OrphanedAccounts,
        UnexpectedPublicPorts,
        EndpointsWithoutVulnerabilities,
        KnownExploitedOpen,
        PatchLatency,
        TimeToDetect,
        TimeToAcknowledge,
        TimeToResolve,
        DetectionCoverage,
        ExperimentTimeToDetect,
        ExperimentTimeToRemediate,
        CustomSql,
        SqlRatio,
        SqlThreshold,
    )
}


def get_indicator(name: str) -> Indicator:
    """The catalog indicator called `name`.

    Raises:
        ConfigError: no indicator has that name (the message lists the known ones).
    """
    try:
        return CATALOG[name]()
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise ConfigError(f"unknown SLI {name!r}; known SLIs are: {known}") from None


def indicator_params(indicator: Indicator, raw: Mapping[str, Any] | None) -> IndicatorParams:
    """Validate the parameters written for `indicator` in an SLO file.

    Raises:
        ConfigError: a parameter is unknown, missing or of the wrong type (each problem is named).
    """
    try:
        return indicator.params.model_validate(dict(raw or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or 'params'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid parameters for SLI {indicator.name!r}: {problems}") from None
