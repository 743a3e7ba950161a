"""Faults and probes by name: the built-in ones, and third-party ones from Python entry points.

A package adds its own in its pyproject.toml:

    [project.entry-points."seclo.faults"]
    my_fault = "my_package.faults:MyFault"

    [project.entry-points."seclo.probes"]
    my_probe = "my_package.probes:MyProbe"
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from seclo.errors import ConfigError
from seclo.experiments.faults.account import InventoryAccount
from seclo.experiments.faults.canary import CanaryCredential
from seclo.experiments.faults.config import ConfigSetting
from seclo.experiments.faults.interface import Fault
from seclo.experiments.faults.logins import FailedLogins
from seclo.experiments.faults.package import VulnerablePackage
from seclo.experiments.faults.port import ListeningPort
from seclo.experiments.probes.http import Http
from seclo.experiments.probes.interface import Probe
from seclo.experiments.probes.log_line import LogLine
from seclo.experiments.probes.process import ProcessExit
from seclo.experiments.probes.prometheus import AlertmanagerAlert, PrometheusQuery
from seclo.experiments.probes.store_query import StoreQuery
from seclo.experiments.probes.tcp import TcpPort

__all__ = ["FAULT_GROUP", "PROBE_GROUP", "faults", "get_fault", "get_probe", "probes"]

FAULT_GROUP = "seclo.faults"
PROBE_GROUP = "seclo.probes"

_BUILTIN_FAULTS: tuple[type[Fault], ...] = (
    ListeningPort,
    InventoryAccount,
    VulnerablePackage,
    ConfigSetting,
    FailedLogins,
    CanaryCredential,
)
_BUILTIN_PROBES: tuple[type[Probe], ...] = (
    TcpPort,
    Http,
    LogLine,
    StoreQuery,
    PrometheusQuery,
    AlertmanagerAlert,
    ProcessExit,
)


def _plugins(group: str, base: type) -> dict[str, type]:
    found: dict[str, type] = {}
    for point in entry_points(group=group):
        try:
            cls = point.load()
        except Exception as exc:  # a broken plug-in is reported by name, whatever it raised
            raise ConfigError(
                f"the {group} plug-in {point.name!r} ({point.value}) cannot be loaded: {exc}"
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise ConfigError(f"the {group} plug-in {point.name!r} is not a {base.__name__} subclass")
        found[point.name] = cls
    return found


@cache
def faults() -> dict[str, type[Fault]]:
    """Every fault by name: built-in first; a plug-in may not replace a built-in."""
    known: dict[str, type[Fault]] = {cls.name: cls for cls in _BUILTIN_FAULTS}
    for name, cls in _plugins(FAULT_GROUP, Fault).items():
        known.setdefault(name, cls)
    return known


@cache
def probes() -> dict[str, type[Probe]]:
    """Every probe by name: built-in first; a plug-in may not replace a built-in."""
    known: dict[str, type[Probe]] = {cls.name: cls for cls in _BUILTIN_PROBES}
    for name, cls in _plugins(PROBE_GROUP, Probe).items():
        known.setdefault(name, cls)
    return known


def get_fault(name: str) -> Fault:
    """The fault called `name`.

    Raises:
        ConfigError: no such fault (the message lists the known ones).
    """
    try:
        return faults()[name]()
    except KeyError:
        raise ConfigError(
            f"unknown fault {name!r}; known faults are: {', '.join(sorted(faults()))}"
        ) from None


def get_probe(name: str) -> Probe:
    """The probe called `name`.

    Raises:
        ConfigError: no such probe (the message lists the known ones).
    """
    try:
        return probes()[name]()
    except KeyError:
        raise ConfigError(
            f"unknown probe {name!r}; known probes are: {', '.join(sorted(probes()))}"
        ) from None
