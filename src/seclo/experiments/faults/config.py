"""`config_setting`: a misconfiguration, one setting of a config file changed.

Formats: JSON and YAML (a dotted key into nested mappings), INI ("section.key"), and key-value files such as
sshd_config (`PermitRootLogin yes`) or .env (`DEBUG=true`), edited line by line so comments stay. JSON, YAML
and INI files are rewritten by their parser (comments there are not kept while the fault is in place; the
original bytes come back on rollback).
"""

from __future__ import annotations

import configparser
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from seclo.experiments.context import RunContext
from seclo.experiments.faults.files import FileUndo, plan_file, read_text, restore_file, write_file
from seclo.experiments.faults.interface import Fault, FaultError, FaultParams, Undo, narrow
from seclo.experiments.targets import Target

__all__ = ["ConfigSetting", "ConfigSettingParams"]

Format = Literal["json", "yaml", "ini", "keyvalue"]


class ConfigSettingParams(FaultParams):
    """Parameters of `config_setting`."""

    key: str
    value: Any
    format: Format | None = None
    separator: str | None = None  # keyvalue files: " " or "="; found from the file when not given


def _format(path: Path, given: Format | None) -> Format:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    if suffix in {".ini", ".cfg"}:
        return "ini"
    return "keyvalue"


def _set_nested(data: Any, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        if not isinstance(node, dict):
            raise FaultError(f"cannot set {key!r}: {part!r} is not inside a mapping")
        node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise FaultError(f"cannot set {key!r}: its parent is not a mapping")
    node[parts[-1]] = value


def _keyvalue(text: str, key: str, value: Any, separator: str | None) -> str:
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    line = re.compile(rf"^(\s*){re.escape(key)}(\s*=\s*|\s+)(.*)$", re.MULTILINE)
    match = line.search(text)
    if match:
        return text[: match.start()] + f"{match.group(1)}{key}{match.group(2)}{shown}" + text[match.end() :]
    sep = separator or ("=" if re.search(r"^\s*[A-Za-z_][\w.]*\s*=", text, re.MULTILINE) else " ")
    return text + ("" if text.endswith("\n") or not text else "\n") + f"{key}{sep}{shown}\n"


def _changed(fmt: Format, text: str, p: ConfigSettingParams) -> str:
    if fmt == "keyvalue":
        return _keyvalue(text, p.key, p.value, p.separator)
    if fmt == "ini":
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the key's case
        parser.read_string(text)
        section, _, option = p.key.rpartition(".")
        if not section:
            raise FaultError(f"an INI key is written section.key, not {p.key!r}")
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, option, str(p.value).lower() if isinstance(p.value, bool) else str(p.value))
        out = io.StringIO()
        parser.write(out)
        return out.getvalue()
    data = json.loads(text) if fmt == "json" else yaml.safe_load(text) or {}
    _set_nested(data, p.key, p.value)
    return json.dumps(data, indent=2) + "\n" if fmt == "json" else yaml.safe_dump(data, sort_keys=False)


class ConfigSetting(Fault):
    """Change one setting of a configuration file."""

    name: ClassVar[str] = "config_setting"
    summary: ClassVar[str] = (
        "One setting changed in a JSON, YAML, INI or key-value config file (a misconfiguration)."
    )
    params: ClassVar[type[FaultParams]] = ConfigSettingParams
    undo: ClassVar[type[Undo]] = FileUndo

    def targets(self, target: str, params: FaultParams, context: RunContext) -> tuple[Target, ...]:
        """The config file."""
        return (Target("path", str(context.path(target))),)

    def plan(self, target: str, params: FaultParams, context: RunContext) -> Undo:
        """A backup of the file."""
        return plan_file(context.path(target), context, "config")

    def inject(self, target: str, params: FaultParams, undo: Undo, context: RunContext) -> Mapping[str, str]:
        """Write the changed setting."""
        p, file_undo = narrow(params, ConfigSettingParams), narrow(undo, FileUndo)
        path = Path(file_undo.path)
        fmt = _format(path, p.format)
        try:
            new = _changed(fmt, read_text(path), p)
        except (json.JSONDecodeError, yaml.YAMLError, configparser.Error) as exc:
            raise FaultError(f"{path}: cannot be read as {fmt}: {exc}") from None
        write_file(file_undo, new.encode())
        return {"key": p.key, "value": str(p.value)}

    def rollback(self, undo: Undo) -> str:
        """Restore the file."""
        return restore_file(narrow(undo, FileUndo))
