"""`vulnerable_package`: a known-vulnerable package pinned in a requirements file or a lock file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from seclo.experiments.context import RunContext
from seclo.experiments.faults.files import FileUndo, plan_file, read_text, restore_file, write_file
from seclo.experiments.faults.interface import Fault, FaultError, FaultParams, Undo, narrow
from seclo.experiments.targets import Target

__all__ = ["VulnerablePackage", "VulnerablePackageParams"]

# Defaults with well-known advisories: requests 2.19.1 (CVE-2018-18074, PYSEC-2018-28) and lodash 4.17.15
# (CVE-2020-8203, GHSA-p6mc-m468-83gw).
_DEFAULTS = {"pypi": ("requests", "2.19.1"), "npm": ("lodash", "4.17.15")}


class VulnerablePackageParams(FaultParams):
    """Parameters of `vulnerable_package` (defaults by file kind: requests 2.19.1, or lodash 4.17.15)."""

    name: str | None = None
    version: str | None = None


def _kind(path: Path) -> str:
    if path.name == "package-lock.json":
        return "npm-lock"
    if path.suffix == ".lock":
        return "toml-lock"  # poetry.lock, uv.lock, Cargo.lock: [[package]] tables
    return "requirements"


def _with_package(kind: str, text: str, name: str, version: str, marker: str) -> str:
    if kind == "requirements":
        sep = "" if text.endswith("\n") or not text else "\n"
        return f"{text}{sep}{name}=={version}  # seclo chaos {marker}\n"
    if kind == "toml-lock":
        sep = "" if text.endswith("\n") or not text else "\n"
        return f'{text}{sep}\n# seclo chaos {marker}\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
    data = json.loads(text)
    entry = {"version": version, "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"}
    data.setdefault("packages", {})[f"node_modules/{name}"] = entry
    if "dependencies" in data and isinstance(data["dependencies"], dict):
        data["dependencies"][name] = {"version": version}
    return json.dumps(data, indent=2) + "\n"


class VulnerablePackage(Fault):
    """Pin a vulnerable package version in a requirements file, package-lock.json or a TOML lock file."""

    name: ClassVar[str] = "vulnerable_package"
    summary: ClassVar[str] = (
        "A known-vulnerable package added to a requirements file, package-lock.json or *.lock."
    )
    params: ClassVar[type[FaultParams]] = VulnerablePackageParams
    undo: ClassVar[type[Undo]] = FileUndo

    def targets(self, target: str, params: FaultParams, context: RunContext) -> tuple[Target, ...]:
        """The dependency file."""
        return (Target("path", str(context.path(target))),)

    def plan(self, target: str, params: FaultParams, context: RunContext) -> Undo:
        """A backup of the file."""
        return plan_file(context.path(target), context, "dependencies")

    def inject(self, target: str, params: FaultParams, undo: Undo, context: RunContext) -> Mapping[str, str]:
        """Add the pin."""
        p, file_undo = narrow(params, VulnerablePackageParams), narrow(undo, FileUndo)
        path = Path(file_undo.path)
        kind = _kind(path)
        default = _DEFAULTS["npm" if kind == "npm-lock" else "pypi"]
        name, version = p.name or default[0], p.version or default[1]
        try:
            new = _with_package(kind, read_text(path), name, version, context.injection_id)
        except json.JSONDecodeError as exc:
            raise FaultError(f"{path}: not valid JSON ({exc})") from None
        write_file(file_undo, new.encode())
        return {"package": name, "version": version}

    def rollback(self, undo: Undo) -> str:
        """Restore the file."""
        return restore_file(narrow(undo, FileUndo))
