"""OSV advisories (https://ossf.github.io/osv-schema/): one file, or a folder of them, as one import.

Each advisory becomes one `advisories` row per affected package; afterwards every component is matched against
the advisories and the findings table is brought up to date (seclo.importers.matching).

Counting: rows_read is the number of `affected` entries read (one per advisory and package) plus the files
refused whole (not JSON or YAML, not an OSV record, not an OSV file name). Two entries of one advisory for the
same package are stored as one row with both entries' ranges and versions; the second counts as a duplicate.
Files and folders whose names start with "." (.git, .id-allocator) are not read and not counted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from seclo.importers.interface import Importer, RejectCategory, RejectedRow, Staged, Staging
from seclo.importers.matching import match_findings
from seclo.importers.matching.ecosystems import PYPI, ecosystem_key, normalise_name
from seclo.importers.matching.ranges import EVENT_KINDS
from seclo.importers.matching.severity import qualitative, severity_from_cvss3
from seclo.importers.records import stage_records, stage_rejected_rows
from seclo.store.schema import table

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml: the pure-Python loader, slower
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

__all__ = ["OsvImporter"]

OSV_SUFFIXES = (".json", ".yaml", ".yml")
MAX_FILE_BYTES = 32 << 20
MAX_STRINGS = 1_000_000  # versions and events per file: bounds what a YAML alias bomb can expand to
SUMMARY_CHARS = 200
_NULL_TAG = "tag:yaml.org,2002:null"


class _TextLoader(_SafeLoader):
    """Safe YAML where every scalar but null stays text: the version 1.10 must not become the float 1.1."""


_TextLoader.yaml_implicit_resolvers = {
    first: kept
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
    if (kept := [(tag, regexp) for tag, regexp in resolvers if tag == _NULL_TAG])
}


class _Refused(Exception):  # noqa: N818 - an internal signal, not an error the user sees
    """The file or entry cannot be loaded; carries the reject's field, reason and category."""

    def __init__(self, reason: str, field: str | None = None, category: RejectCategory = "invalid") -> None:
        super().__init__(reason)
        self.reason, self.field, self.category = reason, field, category


@dataclass(slots=True)
class _Rows:
    """The rows read so far, numbered in reading order (the `line` of rejects)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    raws: list[str | None] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    count: int = 0

    def add(self, record: dict[str, Any], raw: str) -> None:
        self.count += 1
        self.records.append(record)
        self.lines.append(self.count)
        self.raws.append(raw)

    def refuse(self, refused: _Refused, raw: str) -> None:
        self.count += 1
        self.rejected.append(RejectedRow(self.count, refused.field, refused.reason, raw, refused.category))


def _osv_files(root: Path) -> tuple[list[Path], int]:
    """The files to read under `root` (sorted), and how many hidden files and folders were passed over."""
    if not root.is_dir():
        return [root], 0
    files: list[Path] = []
    hidden = 0
    for folder, dirnames, filenames in os.walk(root):
        hidden += sum(1 for name in [*dirnames, *filenames] if name.startswith("."))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files.extend(Path(folder, f) for f in filenames if not f.startswith("."))
    return sorted(files), hidden


def _load(path: Path, data: bytes) -> Any:
    """The document in `data`: JSON for .json files, YAML (a superset of JSON) otherwise."""
    if not data.strip():
        raise _Refused("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Refused(f"not UTF-8 text (byte {exc.start})") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a safe loader (SafeLoader's constructors)
    except json.JSONDecodeError as exc:
        raise _Refused(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise _Refused(f"not valid YAML: {exc.problem or exc.context}{where}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        # PyYAML's messages run over lines ("...\n  in <unicode string>, position 0"): one line for the user.
        said = " ".join(str(exc).split())
        raise _Refused(f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {said}") from None


def _text(value: Any) -> str | None:
    """A scalar as text (JSON numbers too); None for null; anything else is refused by the caller."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


class _TooLarge(_Refused):
    """The file expands to more strings than seclo reads from one record: refused whole."""


class _Budget:
    """Counts the strings taken from one file, refusing a file that expands past MAX_STRINGS."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > MAX_STRINGS:
            raise _TooLarge(f"more than {MAX_STRINGS:,} versions and range events in one file")


def _strings(value: Any, name: str, budget: _Budget) -> list[str] | None:
    """A list of strings (`versions`, `aliases`), or None when absent."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise _Refused(f"`{name}` must be a list of strings", name)
    budget.take(len(value))
    texts = [_text(v) for v in value]
    if any(t is None for t in texts):
        raise _Refused(f"`{name}` must be a list of strings", name)
    return [t for t in texts if t is not None]


def _ranges(value: Any, budget: _Budget) -> list[dict[str, Any]] | None:
    """The ranges, checked and reduced to type, repo and events (database_specific has no effect on them)."""
    if value is None:
        return None
    bad = _Refused("`ranges` must be a list of {type, events}", "ranges")
    if not isinstance(value, list):
        raise bad
    ranges: list[dict[str, Any]] = []
    for rng in value:
        if not isinstance(rng, Mapping) or not isinstance(rng.get("type"), str):
            raise bad
        events = rng.get("events")
        if not isinstance(events, list):
            raise bad
        budget.take(len(events))
        clean: list[dict[str, str]] = []
        for event in events:
            if not isinstance(event, Mapping) or len(event) != 1:
                raise _Refused(
                    f"each range event must have exactly one of {', '.join(EVENT_KINDS)}", "ranges"
                )
            ((kind, version),) = event.items()
            text = _text(version)
            if kind not in EVENT_KINDS or text is None:
                raise _Refused(f"range event {str(kind)[:40]!r} is unknown or its version not text", "ranges")
            clean.append({kind: text})
        item: dict[str, Any] = {"type": rng["type"]}
        if isinstance(rng.get("repo"), str):
            item["repo"] = rng["repo"]
        item["events"] = clean
        ranges.append(item)
    return ranges


def _entry_severity(entry: Mapping[str, Any], doc: Mapping[str, Any]) -> str | None:
    """A label (ecosystem_specific, then database_specific), else the bucket of a CVSS v3 base score."""
    holders = (entry.get("ecosystem_specific"), entry.get("database_specific"), doc.get("database_specific"))
    for holder in holders:
        if isinstance(holder, Mapping) and (label := qualitative(holder.get("severity"))) is not None:
            return label
    for scores in (entry.get("severity"), doc.get("severity")):
        for score in scores if isinstance(scores, list) else []:
            vector = (
                score.get("score") if isinstance(score, Mapping) and score.get("type") == "CVSS_V3" else None
            )
            found = severity_from_cvss3(vector) if isinstance(vector, str) else None
            if found is not None:
                return found
    return None


def _summary(doc: Mapping[str, Any]) -> str | None:
    summary, details = doc.get("summary"), doc.get("details")
    text = summary if isinstance(summary, str) and summary.strip() else None
    if text is None and isinstance(details, str):
        text = next((line for line in details.splitlines() if line.strip()), None)
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def _record_fields(doc: Any, budget: _Budget) -> tuple[dict[str, Any], list[Any]]:
    """The advisory-level columns and the `affected` list of an OSV record; refuses what is not one."""
    if not isinstance(doc, Mapping):
        raise _Refused(f"not an OSV record: the document is a {type(doc).__name__}, not an object")
    vuln_id = doc.get("id")
    if not isinstance(vuln_id, str) or not vuln_id.strip():
        raise _Refused("not an OSV record: it has no `id`", "id")
    affected = doc.get("affected")
    if affected is None or affected == []:
        raise _Refused(f"{vuln_id} lists no affected packages: nothing to match", "affected", "skipped")
    if not isinstance(affected, list):
        raise _Refused("`affected` must be a list of packages", "affected")
    common = {
        "id": vuln_id,
        "aliases": _strings(doc.get("aliases"), "aliases", budget),
        "summary": _summary(doc),
    }
    for name in ("modified", "published", "withdrawn"):
        value = doc.get(name)
        if value is not None and not isinstance(value, str):
            raise _Refused(f"`{name}` must be an RFC 3339 timestamp", name)
        common[name] = value
    return common, affected


def _read_document(doc: Any, rel: str, rows: _Rows) -> None:
    """Add one row per affected package of an OSV record (or the rejects explaining why not)."""
    budget = _Budget()
    common, affected = _record_fields(doc, budget)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    pending: list[tuple[dict[str, Any] | _Refused, str]] = []
    for i, entry in enumerate(affected):
        raw = f"{rel} affected[{i}]"
        try:
            record = _entry_record(entry, doc, budget)
        except _TooLarge:
            raise
        except _Refused as refused:
            pending.append((refused, raw))
            continue
        pending.append((record, f"{raw} {record['ecosystem']} {record['package']}"))
        key = ecosystem_key(record["ecosystem"])
        groups.setdefault((key, normalise_name(key, record["package"])), []).append(record)
    for group in groups.values():
        _combine(group)
    for item, raw in pending:
        if isinstance(item, _Refused):
            rows.refuse(item, raw)
        else:
            rows.add(common | item, raw)


def _entry_record(entry: Any, doc: Mapping[str, Any], budget: _Budget) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise _Refused("an `affected` entry must be an object", "affected")
    package = entry.get("package")
    if package is None:
        raise _Refused("no `package` (GIT ranges only): nothing to match by package", "package", "skipped")
    name = _text(package.get("name")) if isinstance(package, Mapping) else None
    ecosystem = _text(package.get("ecosystem")) if isinstance(package, Mapping) else None
    if not name or not ecosystem:
        raise _Refused("`package` needs a name and an ecosystem", "package")
    # OSV names PyPI packages PEP 503-normalised; storing them so keeps one row per advisory and package.
    return {
        "ecosystem": ecosystem,
        "package": normalise_name(PYPI, name) if ecosystem_key(ecosystem) == PYPI else name,
        "severity": _entry_severity(entry, doc),
        "ranges": _ranges(entry.get("ranges"), budget),
        "versions": _strings(entry.get("versions"), "versions", budget),
    }


def _combine(group: Sequence[dict[str, Any]]) -> None:
    """Entries of one advisory for the same package: each carries all their ranges and versions."""
    if len(group) < 2:
        return
    ranges = [r for record in group for r in record["ranges"] or []]
    versions = list(dict.fromkeys(v for record in group for v in record["versions"] or []))
    severity = next((r["severity"] for r in group if r["severity"]), None)
    for record in group:
        record.update(ranges=ranges, versions=versions, severity=severity)


def _read_file(path: Path, rel: str, rows: _Rows, *, in_folder: bool) -> None:
    """Add the rows of one file; raises _Refused when the file as a whole cannot be loaded."""
    if in_folder and path.suffix.lower() not in OSV_SUFFIXES:
        raise _Refused("not an OSV file: only .json, .yaml and .yml files are read", None, "skipped")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _Refused(f"larger than {MAX_FILE_BYTES >> 20} MiB: not one OSV record")
        data = path.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot be read ({exc.strerror})") from None
    _read_document(_load(path, data), rel, rows)


class OsvImporter(Importer):
    """OSV advisories from JSON or YAML files; a folder is read recursively as one import."""

    kind: ClassVar[str] = "osv"
    summary: ClassVar[str] = "OSV advisories (JSON or YAML; a file or a folder), matched against components"
    targets: ClassVar[tuple[str, ...]] = ("advisories",)
    accepts_directories: ClassVar[bool] = True

    def stage(self, staging: Staging) -> Staged:
        """Read every OSV file under `staging.path` into advisories rows; refuse bad files one by one."""
        root = staging.path
        files, hidden = _osv_files(root)
        if hidden:
            staging.note(f"passed over {hidden} hidden files and folders (names starting with '.')")
        rows = _Rows()
        staging.reporter.start("reading OSV advisories", total=len(files))
        for path in files:
            rel = path.relative_to(root).as_posix() if root.is_dir() else path.name
            try:
                _read_file(path, rel, rows, in_folder=root.is_dir())
            except _Refused as refused:
                rows.refuse(refused, rel)
            staging.reporter.advance(1)
        staging.reporter.finish()
        rejects = stage_rejected_rows(staging, rows.rejected)
        if not rows.records:
            return Staged(rows.count, {}, rejects)
        valid = stage_records(
            staging, table("advisories"), rows.records, lines=rows.lines, raws=rows.raws, rejects=rejects
        )
        return Staged(rows.count, {"advisories": valid}, rejects)

    def after_merge(self, staging: Staging, batch_id: int) -> None:
        """Match all components against the advisories now stored; the summary becomes an import note."""
        staging.note(match_findings(staging.conn, batch_id).describe())
