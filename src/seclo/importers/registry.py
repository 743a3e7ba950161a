"""Finding importers by kind: the built-in ones, plus third-party ones registered as entry points."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from seclo.errors import InputError
from seclo.importers.interface import Importer

__all__ = ["BUILTIN_FORMATS", "ENTRY_POINT_GROUP", "available_importers", "get_importer"]

ENTRY_POINT_GROUP = "seclo.importers"


# kind -> (module under seclo.importers, class) of the built-in source formats; imported only when used.
BUILTIN_FORMATS: dict[str, tuple[str, str]] = {
    "syslog": ("syslog", "SyslogImporter"),
    "ocsf": ("ocsf", "OcsfImporter"),
    "ecs": ("ecs", "EcsImporter"),
    "nmap": ("nmap", "NmapImporter"),
    "cyclonedx": ("cyclonedx", "CycloneDxImporter"),
    "osv": ("osv", "OsvImporter"),
}


def _load_builtin(kind: str) -> type[Importer]:
    module, name = BUILTIN_FORMATS[kind]
    mod = import_module(f"seclo.importers.{module}")
    cls: type[Importer] = getattr(mod, name)
    return cls


def _canonical() -> dict[str, type[Importer]]:
    from seclo.importers.canonical import canonical_importers  # noqa: PLC0415 - keeps start-up light

    return {cls.kind: cls for cls in canonical_importers()}


def available_importers() -> dict[str, type[Importer]]:
    """Every importer by kind: built-in first; a plug-in cannot replace a built-in kind."""
    importers = _canonical()
    for kind in BUILTIN_FORMATS:
        importers[kind] = _load_builtin(kind)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Importer) and cls.kind not in importers:
            importers[cls.kind] = cls
    return importers


def get_importer(kind: str) -> Importer:
    """An instance of the importer for `kind`.

    Raises:
        InputError: no importer has that kind.
    """
    if kind in BUILTIN_FORMATS:
        return _load_builtin(kind)()
    importers = _canonical()
    if kind in importers:
        return importers[kind]()
    plugins = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if kind in plugins:
        cls = plugins[kind].load()
        if isinstance(cls, type) and issubclass(cls, Importer):
            return cls()
        raise InputError(f"the plug-in importer {kind!r} ({plugins[kind].value}) is not an Importer class")
    known = sorted({*importers, *BUILTIN_FORMATS, *plugins})
    raise InputError(f"unknown import kind {kind!r}; known kinds: {', '.join(known)}")
