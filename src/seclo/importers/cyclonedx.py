"""CycloneDX JSON SBOMs (specVersion 1.2 to 1.6): one components row per component, nested ones included.

The rules:

- **rows_read** counts the entries of `components[]`, walked depth first through nested `components[]`; the
  SBOM's own subject (`metadata.component`) is the asset, not a row.
- **line** (for rejects) is the component's 1-based position in that walk: JSON has no line per component. Its
  `raw` is a short JSON of the component's identifying fields.
- **name** carries the namespace as the ecosystem writes it, taken from the purl when there is one (npm
  "@scope/name", Go "github.com/org/mod", Maven "group:artifact"; distribution packages keep the bare name, the
  namespace being the distribution); without a purl it is `group/name`. **version** is the component's, else
  the purl's.
- **ecosystem** is the OSV ecosystem of the purl type (npm, PyPI, Maven, Go, crates.io...); an unknown type is
  kept as it is, and a component without a purl has none.
- **snapshot_time** is `metadata.timestamp`; an SBOM without one uses `ImportOptions.snapshot_time`, and failing
  that the file's modification time (with a note saying so).
- **asset_id** is `metadata.component` as "name@version" (with its group), else the file's name without
  ".json" and ".cdx"; **sbom** is `serialNumber`, else the file name.
- A component without a name, with a field of the wrong type or with a purl that cannot be parsed is an
  "invalid" reject naming that field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

from seclo.errors import InputError
from seclo.importers.interface import Importer, RejectedRow, Staged, Staging
from seclo.importers.matching import match_findings
from seclo.importers.records import stage_records, stage_rejected_rows
from seclo.store.schema import table
from seclo.store.sql import scalar

__all__ = ["CycloneDxImporter", "PackageUrl", "PurlError", "parse_purl"]

SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6")
_RAW_FIELDS = ("type", "group", "name", "version", "purl", "bom-ref")

# purl type -> OSV ecosystem (https://ossf.github.io/osv-schema/#affectedpackage-field).
_ECOSYSTEMS = {
    "npm": "npm",
    "pypi": "PyPI",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "hackage": "Hackage",
    "cran": "CRAN",
    "swift": "SwiftURL",
    "conan": "ConanCenter",
    "bitnami": "Bitnami",
    "deb": "Debian",
    "apk": "Alpine",
}
# Distribution packages: the purl namespace is the distribution, which picks the OSV ecosystem (as OSV's own
# purl helpers do). An rpm from a distribution not listed keeps the purl type: seclo does not guess.
_DISTRIBUTIONS = {
    "deb": {"debian": "Debian", "ubuntu": "Ubuntu"},
    "apk": {"alpine": "Alpine", "wolfi": "Wolfi", "chainguard": "Chainguard"},
    "rpm": {"redhat": "Red Hat", "almalinux": "AlmaLinux", "opensuse": "openSUSE", "suse": "SUSE"}
    | {"mageia": "Mageia", "rocky-linux": "Rocky Linux"},
}
_NAME_ONLY_TYPES = frozenset({"deb", "apk", "rpm", "alpm", "qpkg"})


class PurlError(ValueError):
    """A string that is not a package URL."""


@dataclass(frozen=True, slots=True)
class PackageUrl:
    """A parsed package URL, `pkg:type/namespace/name@version?qualifiers#subpath`, every part percent-decoded."""

    type: str
    namespace: str | None
    name: str
    version: str | None = None
    qualifiers: Mapping[str, str] = field(default_factory=dict)
    subpath: str | None = None

    @property
    def ecosystem(self) -> str:
        """The OSV ecosystem name for this package type (the purl type itself when OSV has none)."""
        by_namespace = _DISTRIBUTIONS.get(self.type, {})
        if self.namespace and self.namespace.lower() in by_namespace:
            return by_namespace[self.namespace.lower()]
        return _ECOSYSTEMS.get(self.type, self.type)

    @property
    def package_name(self) -> str:
        """The package name as its ecosystem writes it, namespace included where the ecosystem has one."""
        if not self.namespace or self.type in _NAME_ONLY_TYPES:
            return self.name
        return f"{self.namespace}{':' if self.type == 'maven' else '/'}{self.name}"


def _segments(text: str) -> list[str]:
    return [unquote(s) for s in text.split("/") if s]


def parse_purl(text: str) -> PackageUrl:
    """Parse a package URL following the purl specification's parsing steps.

    Every part is percent-decoded ("%40babel" is "@babel"). Type-specific normalisation (lower-casing PyPI
    names, say) is left to whoever compares names, so the name stays as the SBOM wrote it.

    Raises:
        PurlError: `text` is not a package URL (no "pkg:" scheme, no type or no name).
    """
    rest, hash_, subpath = text.rpartition("#") if "#" in text else (text, "", "")
    rest, mark, query = rest.rpartition("?") if "?" in rest else (rest, "", "")
    scheme, colon, rest = rest.partition(":")
    if not colon or scheme.lower() != "pkg":
        raise PurlError(f"{text[:80]!r} does not start with 'pkg:'")
    type_, _, rest = rest.strip("/").partition("/")
    type_, rest = type_.lower(), rest.strip("/")
    if not type_ or not all(c.isascii() and (c.isalnum() or c in ".+-") for c in type_) or type_[0].isdigit():
        raise PurlError(f"{text[:80]!r} has no valid package type")
    version: str | None = None
    at = rest.rfind("@")
    if at > rest.rfind("/"):  # an "@" in the namespace (an unencoded npm scope) is not the version's
        rest, version = rest[:at], unquote(rest[at + 1 :]) or None
    *namespace, name = _segments(rest) or [""]
    if not name:
        raise PurlError(f"{text[:80]!r} has no package name")
    qualifiers: dict[str, str] = {}
    for pair in query.split("&") if mark else ():
        key, _, value = pair.partition("=")
        if key and value:
            qualifiers[key.lower()] = unquote(value)
    path = [s for s in _segments(subpath) if s not in {".", ".."}] if hash_ else []
    return PackageUrl(type_, "/".join(namespace) or None, name, version, qualifiers, "/".join(path) or None)


def _load(path: Path) -> dict[str, Any]:
    """The SBOM as a JSON object, checked to be CycloneDX of a supported version."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); CycloneDX JSON is UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
        ) from None
    except ValueError as exc:  # an integer too long to convert (Python's int_max_str_digits guard)
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: the JSON is nested too deeply to read") from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise InputError(f'{path}: is JSON but not a CycloneDX SBOM (no "bomFormat": "CycloneDX")')
    spec = document.get("specVersion")
    if not isinstance(spec, str):
        shown = "none" if spec is None else json.dumps(spec)
        raise InputError(f'{path}: specVersion must be a string such as "1.6", not {shown}')
    if spec not in SPEC_VERSIONS:
        raise InputError(
            f"{path}: CycloneDX specVersion {spec!r} is not supported; seclo reads {SPEC_VERSIONS[0]} to "
            f"{SPEC_VERSIONS[-1]}"
        )
    for key, kind in (("metadata", dict), ("components", list)):
        if document.get(key) is not None and not isinstance(document[key], kind):
            raise InputError(f"{path}: {key} must be a JSON {'object' if kind is dict else 'array'}")
    return document


def _walk(components: list[Any], staging: Staging) -> Iterator[Any]:
    """Every entry of `components`, depth first, nested components right after their parent."""
    stack = list(reversed(components))
    position = 0
    while stack:
        component = stack.pop()
        position += 1
        yield component
        nested = component.get("components") if isinstance(component, dict) else None
        if isinstance(nested, list):
            stack.extend(reversed(nested))
        elif nested is not None:
            staging.note(
                f"{staging.path.name}: component {position} has 'components' that is not a list; ignored"
            )


def _snapshot_time(metadata: Mapping[str, Any], staging: Staging) -> str:
    stamp = metadata.get("timestamp")
    if stamp is not None:
        try:
            when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
        except ValueError:
            when = None
        if when is None:
            raise InputError(f"{staging.path}: metadata.timestamp {stamp!r} is not a date and time")
        return when.isoformat()
    if staging.options.snapshot_time is not None:
        return staging.options.snapshot_time.isoformat()
    modified = datetime.fromtimestamp(staging.path.stat().st_mtime, UTC)
    staging.note(
        f"{staging.path.name} has no metadata.timestamp; using the file's modification time "
        f"{modified.isoformat(timespec='seconds')} as the SBOM time"
    )
    return modified.isoformat()


def _asset_id(metadata: Mapping[str, Any], path: Path) -> str:
    subject = metadata.get("component")
    if isinstance(subject, dict) and isinstance(subject.get("name"), str) and subject["name"]:
        group, version = subject.get("group"), subject.get("version")
        name = f"{group}/{subject['name']}" if isinstance(group, str) and group else subject["name"]
        return f"{name}@{version}" if isinstance(version, str) and version else str(name)
    stem = path.name.removesuffix(".json")
    return stem.removesuffix(".cdx") or path.name


def _raw(component: Any) -> str:
    """A short JSON of the component's identifying fields, for the rejects table."""
    shown = (
        {k: component[k] for k in _RAW_FIELDS if k in component} if isinstance(component, dict) else component
    )
    try:
        return json.dumps(shown, default=str)[:500]
    except RecursionError:  # a field nested thousands deep: name its type rather than print it
        return f"<a JSON {type(component).__name__} nested too deeply to show>"


def _component(component: Any) -> dict[str, Any] | tuple[str | None, str]:
    """The row for one component, or the (field, reason) it is rejected for."""
    if not isinstance(component, dict):
        return None, f"a component must be a JSON object, not {type(component).__name__}"
    for key in ("name", "group", "version", "purl", "bom-ref"):
        if key in component and component[key] is not None and not isinstance(component[key], str):
            return key, f"must be a string, not {type(component[key]).__name__}"
    if not (component.get("name") or "").strip():
        return "name", "component has no name, which CycloneDX requires"
    group, name = component.get("group"), component["name"]
    row = {"name": f"{group}/{name}" if group else name, "version": component.get("version") or None}
    row |= {"purl": component.get("purl") or None, "bom_ref": component.get("bom-ref") or None}
    if row["purl"]:
        try:
            purl = parse_purl(row["purl"])
        except PurlError as exc:
            return "purl", f"not a valid package URL: {exc}"
        row |= {
            "name": purl.package_name,
            "ecosystem": purl.ecosystem,
            "version": row["version"] or purl.version,
        }
    return row


class CycloneDxImporter(Importer):
    """CycloneDX JSON SBOMs: every component (nested ones too) to components."""

    kind: ClassVar[str] = "cyclonedx"
    summary: ClassVar[str] = "CycloneDX JSON SBOMs (spec 1.2 to 1.6): components to components"
    targets: ClassVar[tuple[str, ...]] = ("components",)

    def stage(self, staging: Staging) -> Staged:
        """Read the SBOM; stage one components row per valid component and reject the others."""
        document = _load(staging.path)
        metadata: dict[str, Any] = document.get("metadata") or {}
        serial = document.get("serialNumber")
        common = {
            "snapshot_time": _snapshot_time(metadata, staging),
            "asset_id": _asset_id(metadata, staging.path),
            "sbom": serial if isinstance(serial, str) and serial else staging.path.name,
        }
        records: list[dict[str, Any]] = []
        lines: list[int | None] = []
        raws: list[str | None] = []
        rejected: list[RejectedRow] = []
        components = list(_walk(document.get("components") or [], staging))
        for position, component in enumerate(components, start=1):
            row = _component(component)
            if isinstance(row, tuple):
                rejected.append(RejectedRow(position, row[0], row[1], _raw(component)))
                continue
            records.append(common | row)
            lines.append(position)
            raws.append(_raw(component))
        rejects = stage_rejected_rows(staging, rejected)
        staged = stage_records(staging, table("components"), records, lines=lines, raws=raws, rejects=rejects)
        return Staged(len(components), {"components": staged}, rejects)

    def after_merge(self, staging: Staging, batch_id: int) -> None:
        """Match the new components against the advisories already stored, opening or closing findings."""
        if int(scalar(staging.conn, "SELECT count(*) FROM advisories")):
            staging.note(match_findings(staging.conn, batch_id).describe())
