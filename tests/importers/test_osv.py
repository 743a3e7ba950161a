"""Importing OSV advisories (the real PyPA database and synthetic records) and the findings they produce."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Iterator, Sequence
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from seclo.errors import InputError
from seclo.importers import ImportResult, get_importer, import_path
from seclo.importers.matching import match_findings
from seclo.store import Store, open_store

PYPI_DB = Path(__file__).parent.parent / "fixtures" / "osv" / "pypi"
ENV_ASSET = "this-python"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _import(store: Store, kind: str, path: Path) -> ImportResult:
    return import_path(store, get_importer(kind), path)


def _write_components(path: Path, rows: Sequence[tuple[str, str, str, str, str]]) -> Path:
    """A canonical components CSV of (snapshot_time, asset_id, ecosystem, name, version) rows."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["snapshot_time", "asset_id", "ecosystem", "name", "version"])
        writer.writerows(rows)
    return path


def _findings(store: Store) -> set[tuple[Any, ...]]:
    rows = store.conn.execute("SELECT asset_id, vuln_id, package, version, status FROM findings").fetchall()
    return set(rows)


def _advisory(vuln_id: str, affected: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": vuln_id, "modified": "2024-05-01T00:00:00Z", "affected": affected, **extra}


def _package(
    ecosystem: str, name: str, *ranges: dict[str, Any], versions: list[str] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}, "ranges": list(ranges)}
    if versions is not None:
        entry["versions"] = versions
    return entry


def _range(kind: str, *events: tuple[str, str]) -> dict[str, Any]:
    return {"type": kind, "events": [{k: v} for k, v in events]}


def _write_json(folder: Path, *docs: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (folder / f"{doc['id']}.json").write_text(json.dumps(doc))
    return folder


def _in_ecosystem_range(rng: dict[str, Any], v: Version) -> bool:
    """v lies in one of the range's [introduced, fixed) or [introduced, last_affected] intervals."""
    try:
        events = sorted(
            ((k, Version(val)) for e in rng["events"] for k, val in e.items()),
            key=lambda kv: (kv[1], kv[0] != "introduced"),
        )
    except InvalidVersion:
        return False  # seclo does not evaluate such a range either
    start: Version | None = None
    for kind, bound in events:
        if kind == "introduced":
            start = start if start is not None else bound
        elif start is not None:
            if start <= v and (v < bound if kind == "fixed" else v <= bound):
                return True
            start = None
    return start is not None and start <= v


def _independent_affected(docs: Sequence[dict[str, Any]], name: str, version: str) -> set[str]:
    """Advisory ids affecting a PyPI version, computed as intervals with packaging, without seclo's matcher."""
    try:
        v: Version | None = Version(version)
    except InvalidVersion:
        v = None
    hits: set[str] = set()
    for doc in docs:
        entries = [a for a in doc.get("affected", []) if _norm(a["package"]["name"]) == _norm(name)]
        for entry in [] if doc.get("withdrawn") else entries:
            ranges = [r for r in entry.get("ranges", []) if r["type"] == "ECOSYSTEM"]
            listed = version in entry.get("versions", [])
            if listed or (v is not None and any(_in_ecosystem_range(r, v) for r in ranges)):
                hits.add(doc["id"])
    return hits


@pytest.fixture(scope="module")
def pypi_docs() -> list[dict[str, Any]]:
    """Every advisory of the real PyPA database, read with PyYAML independently of seclo."""
    return [yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader) for p in sorted(PYPI_DB.rglob("*.yaml"))]


@pytest.fixture(scope="module")
def installed() -> list[tuple[str, str]]:
    """(name, version) of every distribution installed in this Python environment."""
    found = {(d.metadata["Name"], d.version) for d in distributions() if d.metadata["Name"]}
    return sorted(found)


@pytest.fixture(scope="module")
def env_store(
    tmp_path_factory: pytest.TempPathFactory, installed: list[tuple[str, str]]
) -> Iterator[tuple[Store, ImportResult]]:
    """A store holding this environment's packages as components and the whole PyPA database."""
    folder = tmp_path_factory.mktemp("env")
    store = open_store(folder / "store.duckdb")
    rows = [("2024-06-01T00:00:00Z", ENV_ASSET, "PyPI", name, version) for name, version in installed]
    _import(store, "components", _write_components(folder / "env.csv", rows))
    result = _import(store, "osv", PYPI_DB)
    try:
        yield store, result
    finally:
        store.close()


@pytest.mark.slow
def test_the_whole_pypa_database_imports_one_row_per_advisory_and_package(
    env_store: tuple[Store, ImportResult], pypi_docs: list[dict[str, Any]]
) -> None:
    """Every (advisory, package) of the 2,661 YAML files is one advisories row, and every entry is accounted."""
    store, result = env_store
    expected = {
        (d["id"], _norm(a["package"]["name"])) for d in pypi_docs for a in d["affected"] if "package" in a
    }
    entries = sum(len(d["affected"]) for d in pypi_docs)
    stored = store.conn.execute("SELECT id, package FROM advisories").fetchall()
    assert {(i, _norm(p)) for i, p in stored} == expected
    assert len(stored) == len(expected) == 2661
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (entries, len(expected), 0)
    withdrawn = store.conn.execute("SELECT count(*) FROM advisories WHERE withdrawn IS NOT NULL").fetchall()
    assert withdrawn == [(sum(1 for d in pypi_docs if d.get("withdrawn")),)]


@pytest.mark.slow
def test_installed_packages_get_the_findings_an_independent_evaluation_gives(
    env_store: tuple[Store, ImportResult], pypi_docs: list[dict[str, Any]], installed: list[tuple[str, str]]
) -> None:
    """The findings for this environment are exactly the advisories an interval check with packaging finds."""
    by_package: dict[str, list[dict[str, Any]]] = {}
    for doc in pypi_docs:
        for name in {_norm(a["package"]["name"]) for a in doc["affected"]}:
            by_package.setdefault(name, []).append(doc)
    expected = {
        (_norm(name), version, vuln)
        for name, version in installed
        for vuln in _independent_affected(by_package.get(_norm(name), []), name, version)
    }
    found = env_store[0].conn.execute("SELECT package, version, vuln_id FROM findings").fetchall()
    assert {(_norm(p), v, i) for p, v, i in found} == expected
    assert len(found) == len(expected)


def test_known_vulnerable_versions_yield_exactly_the_expected_findings(store: Store, tmp_path: Path) -> None:
    """Versions inside real ranges are found, versions equal to `fixed` or above `last_affected` are not."""
    db = tmp_path / "db"
    for rel in ("pyyaml/PYSEC-2021-142.yaml", "jinja2/PYSEC-2019-217.yaml", "py/PYSEC-2022-42969.yaml"):
        (db / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PYPI_DB / rel, db / rel)
    components = [
        ("2024-06-01T00:00:00Z", "web-1", "PyPI", "PyYAML", "5.3.1"),  # inside [0, 5.4)
        ("2024-06-01T00:00:00Z", "web-1", "PyPI", "PyYAML", "5.4"),  # == fixed
        ("2024-06-01T00:00:00Z", "web-1", "pypi", "Jinja2", "2.10"),  # inside [0, 2.10.1)
        ("2024-06-01T00:00:00Z", "web-2", "pypi", "jinja2", "2.10.1"),  # == fixed
        ("2024-06-01T00:00:00Z", "web-2", "PyPI", "py", "1.11.0"),  # == last_affected
        ("2024-06-01T00:00:00Z", "web-2", "PyPI", "py", "1.11.1"),  # above last_affected
    ]
    _import(store, "components", _write_components(tmp_path / "c.csv", components))
    result = _import(store, "osv", db)
    assert (result.rows_read, result.rows_loaded) == (3, 3)
    assert _findings(store) == {
        ("web-1", "PYSEC-2021-142", "PyYAML", "5.3.1", "open"),
        ("web-1", "PYSEC-2019-217", "Jinja2", "2.10", "open"),
        ("web-2", "PYSEC-2022-42969", "py", "1.11.0", "open"),
    }
    fixes = dict(store.conn.execute("SELECT vuln_id, fix_available FROM findings").fetchall())
    assert fixes == {"PYSEC-2021-142": True, "PYSEC-2019-217": True, "PYSEC-2022-42969": False}


def test_npm_semver_ranges_on_a_synthetic_advisory(store: Store, tmp_path: Path) -> None:
    """introduced 0/fixed, last_affected and pre-release versions follow SemVer precedence for npm."""
    doc = _advisory(
        "GHSA-test-npm1",
        [
            _package("npm", "lodash", _range("SEMVER", ("introduced", "0"), ("fixed", "4.17.21"))),
            _package(
                "npm", "@scope/pkg", _range("SEMVER", ("introduced", "1.0.0"), ("last_affected", "1.2.0"))
            ),
        ],
        database_specific={"severity": "MODERATE"},
    )
    components = [
        ("2024-06-01T00:00:00Z", "app", "npm", "lodash", "4.17.21-beta.1"),
        ("2024-06-01T00:00:00Z", "app", "npm", "lodash", "v4.17.20"),
        ("2024-06-01T00:00:00Z", "app", "npm", "lodash", "4.17.21"),
        ("2024-06-01T00:00:00Z", "app", "npm", "@scope/pkg", "1.2.0"),
        ("2024-06-01T00:00:00Z", "app", "npm", "@scope/pkg", "1.2.1-rc.1"),
        ("2024-06-01T00:00:00Z", "app", "npm", "@scope/pkg", "0.9.0"),
    ]
    _import(store, "components", _write_components(tmp_path / "c.csv", components))
    _import(store, "osv", _write_json(tmp_path / "db", doc))
    assert {(r[2], r[3]) for r in _findings(store)} == {
        ("lodash", "4.17.21-beta.1"),
        ("lodash", "v4.17.20"),
        ("@scope/pkg", "1.2.0"),
    }
    severities = store.conn.execute("SELECT DISTINCT severity FROM findings").fetchall()
    assert severities == [("medium",)]


def test_explicit_versions_list_matches_where_ranges_cannot(store: Store, tmp_path: Path) -> None:
    """For an ecosystem without an ordering (Maven) only the listed versions are findings."""
    doc = _advisory(
        "GHSA-test-mvn1",
        [
            _package(
                "Maven",
                "org.example:lib",
                _range("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.0")),
                versions=["1.0", "1.1"],
            )
        ],
    )
    components = [
        ("2024-06-01T00:00:00Z", "svc", "maven", "org.example:lib", "1.1"),
        ("2024-06-01T00:00:00Z", "svc", "maven", "org.example:lib", "1.5"),
    ]
    _import(store, "components", _write_components(tmp_path / "c.csv", components))
    _import(store, "osv", _write_json(tmp_path / "db", doc))
    assert _findings(store) == {("svc", "GHSA-test-mvn1", "org.example:lib", "1.1", "open")}
    assert store.conn.execute("SELECT fix_available, severity FROM findings").fetchall() == [
        (True, "unknown")
    ]


def test_withdrawn_advisories_produce_no_findings_and_retract_earlier_ones(
    store: Store, tmp_path: Path
) -> None:
    """A withdrawn advisory finds nothing; a finding it produced before is kept as a false positive."""
    live = _advisory("PYSEC-TEST-1", [_package("PyPI", "demo", _range("ECOSYSTEM", ("introduced", "0")))])
    _import(
        store,
        "components",
        _write_components(tmp_path / "c.csv", [("2024-06-01", "h", "PyPI", "demo", "1.0")]),
    )
    _import(store, "osv", _write_json(tmp_path / "v1", live))
    assert _findings(store) == {("h", "PYSEC-TEST-1", "demo", "1.0", "open")}
    withdrawn = {**live, "withdrawn": "2024-06-02T00:00:00Z", "modified": "2024-06-02T00:00:00Z"}
    result = _import(store, "osv", _write_json(tmp_path / "v2", withdrawn))
    assert _findings(store) == {("h", "PYSEC-TEST-1", "demo", "1.0", "false_positive")}
    assert any("1 retracted" in note for note in result.notes)


def test_re_importing_and_re_matching_add_nothing(store: Store, tmp_path: Path) -> None:
    """The same folder again is skipped, and matching again writes no finding: ids are deterministic."""
    doc = _advisory("PYSEC-TEST-2", [_package("PyPI", "demo", _range("ECOSYSTEM", ("introduced", "0")))])
    _import(
        store,
        "components",
        _write_components(tmp_path / "c.csv", [("2024-06-01", "h", "PyPI", "demo", "1.0")]),
    )
    db = _write_json(tmp_path / "db", doc)
    _import(store, "osv", db)
    before = store.conn.execute("SELECT * FROM findings").fetchall()
    assert _import(store, "osv", db).already_imported
    (tmp_path / "db2").mkdir()
    shutil.copy(db / "PYSEC-TEST-2.json", tmp_path / "db2" / "copy.json")
    again = _import(store, "osv", tmp_path / "db2")
    assert (again.rows_loaded, again.rows_duplicate) == (0, 1)
    summary = match_findings(store.conn, 99)
    assert (summary.findings, summary.written) == (1, 0)
    assert store.conn.execute("SELECT * FROM findings").fetchall() == before


def test_a_later_snapshot_without_the_version_closes_the_finding(store: Store, tmp_path: Path) -> None:
    """The finding opens at the first snapshot with the version and closes at the first one without it."""
    doc = _advisory(
        "PYSEC-TEST-3", [_package("PyPI", "demo", _range("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.0")))]
    )
    _import(store, "osv", _write_json(tmp_path / "db", doc))
    snapshots = [
        ("2024-06-01T00:00:00Z", "h", "PyPI", "demo", "1.0"),
        ("2024-06-08T00:00:00Z", "h", "PyPI", "demo", "1.0"),
        ("2024-06-15T00:00:00Z", "h", "PyPI", "demo", "2.0"),
        ("2024-06-15T00:00:00Z", "other", "PyPI", "demo", "1.0"),
    ]
    _import(store, "components", _write_components(tmp_path / "c.csv", snapshots))
    match_findings(store.conn, 5)
    rows = store.conn.execute(
        "SELECT asset_id, strftime(opened_at, '%m-%d'), strftime(closed_at, '%m-%d'), status FROM findings"
    ).fetchall()
    assert sorted(rows, key=str) == [("h", "06-01", "06-15", "closed"), ("other", "06-15", None, "open")]


def test_bad_files_in_a_folder_are_refused_one_by_one(store: Store, tmp_path: Path) -> None:
    """Broken, non-OSV and empty-affected files become rejects with the file's path; the rest loads."""
    db = _write_json(
        tmp_path / "db", _advisory("OK-1", [_package("PyPI", "a", _range("ECOSYSTEM", ("introduced", "0")))])
    )
    (db / "sub").mkdir()
    (db / "sub" / "broken.yaml").write_text("id: [unclosed\n")
    (db / "noid.json").write_text(json.dumps({"affected": []}))
    (db / "nothing.json").write_text(json.dumps({"id": "EMPTY-1", "affected": []}))
    (db / "README.md").write_text("# not an advisory\n")
    (db / "badentry.json").write_text(json.dumps(_advisory("BAD-1", [{"package": {"name": "x"}}])))
    (db / ".git").mkdir()
    (db / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    result = _import(store, "osv", db)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_skipped) == (6, 1, 3, 2)
    rejected = store.conn.execute("SELECT raw, category, reason FROM rejected ORDER BY line").fetchall()
    by_raw = {raw.split(" ")[0]: (category, reason) for raw, category, reason in rejected}
    assert by_raw["sub/broken.yaml"][0] == "invalid"
    assert "not valid YAML" in by_raw["sub/broken.yaml"][1]
    assert "no `id`" in by_raw["noid.json"][1]
    assert by_raw["nothing.json"][0] == "skipped"
    assert by_raw["README.md"][0] == "skipped"
    assert "name and an ecosystem" in by_raw["badentry.json"][1]
    assert any("hidden" in note for note in result.notes)


def test_entries_for_the_same_package_are_combined(store: Store, tmp_path: Path) -> None:
    """Two `affected` entries of one advisory for one package keep both ranges in the single stored row."""
    doc = _advisory(
        "PYSEC-TEST-4",
        [
            _package("PyPI", "Demo_Pkg", _range("ECOSYSTEM", ("introduced", "1.0"), ("fixed", "1.1"))),
            _package("PyPI", "demo-pkg", _range("ECOSYSTEM", ("introduced", "2.0"), ("fixed", "2.1"))),
        ],
    )
    components = [("2024-06-01", "h", "PyPI", "demo.pkg", v) for v in ("1.0", "2.0", "1.5")]
    _import(store, "components", _write_components(tmp_path / "c.csv", components))
    result = _import(store, "osv", _write_json(tmp_path / "db", doc))
    assert (result.rows_read, result.rows_loaded, result.rows_duplicate) == (2, 1, 1)
    assert store.conn.execute("SELECT package FROM advisories").fetchall() == [("demo-pkg",)]
    assert {r[3] for r in _findings(store)} == {"1.0", "2.0"}


def test_yaml_versions_stay_text_and_severity_comes_from_cvss(store: Store, tmp_path: Path) -> None:
    """An unquoted YAML version 1.10 is not read as the number 1.1, and a CVSS v3 vector gives the rating."""
    db = tmp_path / "db"
    db.mkdir()
    (db / "T-1.yaml").write_text(
        "id: T-1\nmodified: 2024-05-01T00:00:00Z\n"
        "severity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n"
        "affected:\n- package: {ecosystem: PyPI, name: demo}\n  versions: [1.10]\n"
    )
    _import(store, "osv", db)
    assert store.conn.execute("SELECT versions, severity, summary FROM advisories").fetchall() == [
        (["1.10"], "critical", None)
    ]


@pytest.fixture(scope="module")
def scratch() -> Iterator[Store]:
    """One in-memory store shared by the fuzz tests (a refused import leaves it unchanged)."""
    with open_store(None) as store:
        yield store


def _import_or_reason(store: Store, path: Path) -> str:
    """The InputError message, or the reasons of the rows the import rejected, or "" if all loaded."""
    try:
        result = _import(store, "osv", path)
    except InputError as exc:
        return str(exc)
    rows = store.conn.execute("SELECT reason FROM rejected WHERE batch_id = ?", [result.batch_id]).fetchall()
    assert result.rows_read == result.rows_loaded + result.rows_duplicate + len(rows)
    return " ".join(r[0] for r in rows)


FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(min_size=1, max_size=300), st.sampled_from([".json", ".yaml"]))
def test_random_bytes_are_refused_with_a_reason(
    scratch: Store, tmp_path: Path, data: bytes, suffix: str
) -> None:
    """Random bytes as an OSV file are rejected with a reason; the only error raised is InputError."""
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    assert _import_or_reason(scratch, path).strip()


OSV_WORDS = st.sampled_from(["id", "affected", "package", "name", "ecosystem", "ranges", "events", "type"])
OSV_WORDS |= st.sampled_from(
    ["versions", "introduced", "fixed", "last_affected", "limit", "withdrawn", "aliases"]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
SCALARS |= st.sampled_from(["PyPI", "npm", "0", "1.0", "ECOSYSTEM", "SEMVER", "2024-01-01T00:00:00Z"])
OSV_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(OSV_WORDS, inner, max_size=4),
    max_leaves=25,
)


@FUZZ
@given(st.dictionaries(OSV_WORDS, OSV_LIKE, min_size=1, max_size=5))
def test_random_osv_shaped_records_load_or_are_refused_with_a_reason(
    scratch: Store, tmp_path: Path, doc: dict[str, Any]
) -> None:
    """Records built from OSV's own field names, wrongly shaped at random, never crash the importer."""
    path = tmp_path / "record.json"
    path.write_text(json.dumps(doc))
    outcome = _import_or_reason(scratch, path)
    loaded = scratch.conn.execute(
        "SELECT count(*) FROM advisories WHERE id = ?", [str(doc.get("id"))]
    ).fetchall()
    assert outcome.strip() or loaded[0][0] > 0


def test_a_yaml_advisory_with_a_control_character_is_refused_in_one_line(
    store: Store, tmp_path: Path
) -> None:
    """PyYAML's two-line message ("...\\n  in <unicode string>") becomes one line, so the CLI error is one line."""
    path = tmp_path / "GHSA-x.yaml"
    path.write_bytes(b"id: GHSA-x\nsummary: a\x07b\n")
    with pytest.raises(InputError) as info:
        _import(store, "osv", path)
    assert "\n" not in str(info.value)
    assert "not valid YAML: unacceptable character #x0007" in str(info.value)
