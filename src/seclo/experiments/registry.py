"""Faults and probes by name: the built-in ones, and third-party ones from Python entry points.

A package adds its own in its pyproject.toml:

    [project.entry-points."seclo.faults"]
    my_fault = "my_package.faults:MyFault"

    [project.entry-points."seclo.probes"]
    my_probe = "my_package.probes:MyProbe"
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

from seclo.errors import ConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from seclo.experiments.faults.interface import Fault
    from seclo.experiments.probes.interface import Probe

__all__ = ["FAULT_GROUP", "PROBE_GROUP", "faults", "get_fault", "get_probe", "probes"]

FAULT_GROUP = "seclo.faults"
PROBE_GROUP = "seclo.probes"

# Built-ins by name, as "module:class", in the order they are listed. A run imports only the fault and probes
# its experiment names (each module builds pydantic models and may pull in DuckDB or urllib), and looks up the
# installed plug-ins only for a name that is not built in.
_BUILTIN_FAULTS: dict[str, str] = {
    "listening_port": "seclo.experiments.faults.port:ListeningPort",
    "inventory_account": "seclo.experiments.faults.account:InventoryAccount",
    "vulnerable_package": "seclo.experiments.faults.package:VulnerablePackage",
    "config_setting": "seclo.experiments.faults.config:ConfigSetting",
    "failed_logins": "seclo.experiments.faults.logins:FailedLogins",
    "canary_credential": "seclo.experiments.faults.canary:CanaryCredential",
}
_BUILTIN_PROBES: dict[str, str] = {
    "tcp_port": "seclo.experiments.probes.tcp:TcpPort",
    "http": "seclo.experiments.probes.http:Http",
    "log_line": "seclo.experiments.probes.log_line:LogLine",
    "store_query": "seclo.experiments.probes.store_query:StoreQuery",
    "prometheus_query": "seclo.experiments.probes.prometheus:PrometheusQuery",
    "alertmanager_alert": "seclo.experiments.probes.prometheus:AlertmanagerAlert",
    "process": "seclo.experiments.probes.process:ProcessExit",
}


def _builtin(spec: str) -> type:
    """The built-in class a "module:class" spec names."""
    module, attribute = spec.split(":")
    cls = getattr(import_module(module), attribute)
    if not isinstance(cls, type):  # pragma: no cover - a wiring mistake
        raise TypeError(f"{spec} is not a class")
    return cls


def _builtin_fault(name: str) -> type[Fault]:
    from seclo.experiments.faults.interface import Fault  # noqa: PLC0415

    cls = _builtin(_BUILTIN_FAULTS[name])
    if not issubclass(cls, Fault):  # pragma: no cover - a wiring mistake
        raise TypeError(f"{_BUILTIN_FAULTS[name]} is not a Fault")
    return cls


def _builtin_probe(name: str) -> type[Probe]:
    from seclo.experiments.probes.interface import Probe  # noqa: PLC0415

    cls = _builtin(_BUILTIN_PROBES[name])
    if not issubclass(cls, Probe):  # pragma: no cover - a wiring mistake
        raise TypeError(f"{_BUILTIN_PROBES[name]} is not a Probe")
    return cls


def _entry_points(group: str) -> dict[str, EntryPoint]:
    """The group's installed entry points by name, not loaded."""
    from importlib.metadata import entry_points  # noqa: PLC0415 - scanning installed packages is slow

    return {point.name: point for point in entry_points(group=group)}


def _load(group: str, point: EntryPoint, base: type) -> type:
    """Load one plug-in and check it is a `base` that calls itself by the name it is registered under.

    The names must agree: the state file records the class's `name`, and `seclo experiment recover` looks the
    fault up by it.
    """
    try:
        cls = point.load()
    except Exception as exc:  # a broken plug-in is reported by name, whatever it raised
        raise ConfigError(
            f"the {group} plug-in {point.name!r} ({point.value}) cannot be loaded: {exc}"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"the {group} plug-in {point.name!r} is not a {base.__name__} subclass")
    own = getattr(cls, "name", None)
    if own != point.name:
        raise ConfigError(
            f"the {group} plug-in {point.name!r} ({point.value}) calls itself {own!r}; "
            "its entry point must be named after its `name`"
        )
    return cls


def _plugins(group: str, base: type) -> dict[str, type]:
    return {name: _load(group, point, base) for name, point in _entry_points(group).items()}


def _plugin(group: str, kind: str, name: str, builtins: dict[str, str], base: type) -> type:
    """The plug-in called `name`, loading only that one (a broken plug-in elsewhere stays harmless).

    Raises:
        ConfigError: no such plug-in (the message lists every known name), or it cannot be loaded.
    """
    points = _entry_points(group)
    if name not in points:
        known = sorted(set(builtins) | set(points))
        raise ConfigError(f"unknown {kind} {name!r}; known {kind}s are: {', '.join(known)}")
    return _load(group, points[name], base)


@cache
def faults() -> dict[str, type[Fault]]:
    """Every fault by name, loading every plug-in: built-in first; a plug-in may not replace a built-in."""
    from seclo.experiments.faults.interface import Fault  # noqa: PLC0415

    known: dict[str, type[Fault]] = {name: _builtin_fault(name) for name in _BUILTIN_FAULTS}
    for name, cls in _plugins(FAULT_GROUP, Fault).items():
        known.setdefault(name, cls)
    return known


@cache
def probes() -> dict[str, type[Probe]]:
    """Every probe by name, loading every plug-in: built-in first; a plug-in may not replace a built-in."""
    from seclo.experiments.probes.interface import Probe  # noqa: PLC0415

    known: dict[str, type[Probe]] = {name: _builtin_probe(name) for name in _BUILTIN_PROBES}
    for name, cls in _plugins(PROBE_GROUP, Probe).items():
        known.setdefault(name, cls)
    return known


def get_fault(name: str) -> Fault:
    """The fault called `name`.

    Raises:
        ConfigError: no such fault (the message lists the known ones), or its plug-in cannot be loaded.
    """
    if name in _BUILTIN_FAULTS:
        return _builtin_fault(name)()
    from seclo.experiments.faults.interface import Fault  # noqa: PLC0415

    cls: type[Fault] = _plugin(FAULT_GROUP, "fault", name, _BUILTIN_FAULTS, Fault)
    return cls()


def get_probe(name: str) -> Probe:
    """The probe called `name`.

    Raises:
        ConfigError: no such probe (the message lists the known ones), or its plug-in cannot be loaded.
    """
    if name in _BUILTIN_PROBES:
        return _builtin_probe(name)()
    from seclo.experiments.probes.interface import Probe  # noqa: PLC0415

    cls: type[Probe] = _plugin(PROBE_GROUP, "probe", name, _BUILTIN_PROBES, Probe)
    return cls()
