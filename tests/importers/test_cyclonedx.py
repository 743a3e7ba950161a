"""CycloneDX JSON SBOMs: components from real SBOMs, nested components, rejects, and the package URL parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_checks import check_bytes_survive, reconciles

from seclo.errors import InputError
from seclo.importers import ImportOptions, ImportResult, import_path
from seclo.importers.cyclonedx import CycloneDxImporter, PackageUrl, PurlError, parse_purl
from seclo.store import Store

SBOM = Path(__file__).parents[1] / "fixtures" / "sbom"
JUICE = SBOM / "juice-shop-11.1.2.cdx.json"
CERN = SBOM / "cern-lhc-vdm-editor.cdx.json"
STORE_TABLES = ("components", "rejected", "import_batches")
WHEN = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _import(store: Store, path: Path, options: ImportOptions | None = None) -> ImportResult:
    return import_path(store, CycloneDxImporter(), path, options)


def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return store.conn.execute(sql).fetchall()


def _count(store: Store, table: str) -> int:
    return int(_rows(store, f"SELECT count(*) FROM {table}")[0][0])


def _all_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component, nested ones included, counted recursively (the test's own walk)."""
    return [x for c in components for x in [c, *_all_components(c.get("components", []))]]


def _sbom(tmp_path: Path, components: list[Any], spec: str = "1.6", **top: Any) -> Path:
    document = {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1, **top, "components": components}
    path = tmp_path / "small.cdx.json"
    path.write_text(json.dumps(document))
    return path


def test_juice_shop_loads_every_component(store: Store) -> None:
    """The Juice Shop SBOM loads as many components as a recursive count of its JSON finds (1,115)."""
    expected = len(_all_components(json.loads(JUICE.read_text())["components"]))
    assert expected == 1115
    result = _import(store, JUICE, ImportOptions(snapshot_time=WHEN))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (expected, expected, 0)
    assert reconciles(result)
    assert _count(store, "components") == expected


def test_juice_shop_scoped_component_has_its_purl_and_ecosystem(store: Store) -> None:
    """@babel/parser 7.21.2 is stored with its npm scope, purl, bom-ref and the npm ecosystem."""
    _import(store, JUICE, ImportOptions(snapshot_time=WHEN))
    found = _rows(
        store,
        "SELECT version, purl, bom_ref, ecosystem, asset_id FROM components WHERE name = '@babel/parser'",
    )
    assert found == [
        (
            "7.21.2",
            "pkg:npm/%40babel/parser@7.21.2#packages/babel-parser",
            "@babel/parser@7.21.2",
            "npm",
            "juice-shop@14.1.1",
        )
    ]


def test_juice_shop_without_timestamp_uses_the_given_time(store: Store) -> None:
    """The Juice Shop SBOM states no timestamp or serial number: the given time and the file name are used."""
    result = _import(store, JUICE, ImportOptions(snapshot_time=WHEN))
    assert result.notes == ()
    assert _rows(store, "SELECT DISTINCT snapshot_time, sbom FROM components") == [
        (datetime(2024, 6, 1, 12, 0), JUICE.name)
    ]


def test_juice_shop_without_any_time_uses_the_file_time_and_says_so(store: Store) -> None:
    """Without metadata.timestamp or a snapshot time, the file's modification time is used and a note says so."""
    result = _import(store, JUICE)
    assert len(result.notes) == 1
    assert "no metadata.timestamp" in result.notes[0]
    stored = _rows(store, "SELECT DISTINCT snapshot_time FROM components")
    assert len(stored) == 1
    assert abs(stored[0][0].replace(tzinfo=UTC).timestamp() - JUICE.stat().st_mtime) < 1


def test_cern_spec_1_2_loads_its_43_components(store: Store) -> None:
    """The CERN SBOM (spec 1.2) loads its 43 components with its timestamp, serial number and subject."""
    document = json.loads(CERN.read_text())
    assert document["specVersion"] == "1.2"
    expected = len(_all_components(document["components"]))
    assert expected == 43
    result = _import(store, CERN)
    assert (result.rows_read, result.rows_loaded) == (expected, expected)
    assert result.notes == ()
    assert _rows(store, "SELECT DISTINCT snapshot_time, asset_id, sbom FROM components") == [
        (
            datetime(2020, 8, 3, 1, 28, 52, 765000),
            "lhc-vdm-editor@0.0.1",
            "urn:uuid:699b6458-60da-4f52-b1b3-34915dc01eb6",
        )
    ]
    assert _rows(store, "SELECT version, ecosystem FROM components WHERE name = 'puppeteer'") == [
        ("1.19.0", "npm")
    ]


def test_nested_components_are_walked_in_document_order(store: Store, tmp_path: Path) -> None:
    """Nested components are rows too, numbered depth first so a reject's line is its position in the file."""
    inner = {"name": "leaf", "version": "3", "purl": "pkg:pypi/leaf@3"}
    components = [
        {"name": "outer", "version": "1", "components": [{"name": "middle", "components": [inner]}, {}]},
        {"name": "last", "group": "org.example", "version": "2"},
    ]
    path = _sbom(tmp_path, components, metadata={"timestamp": "2024-05-01T10:00:00+02:00"})
    result = _import(store, path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 4, 1)
    assert _rows(store, "SELECT name, version, ecosystem FROM components ORDER BY name") == [
        ("leaf", "3", "PyPI"),
        ("middle", None, None),
        ("org.example/last", "2", None),
        ("outer", "1", None),
    ]
    assert _rows(store, "SELECT line, field, raw FROM rejected") == [(4, "name", "{}")]
    assert _rows(store, "SELECT DISTINCT snapshot_time, asset_id FROM components") == [
        (datetime(2024, 5, 1, 8, 0), "small")
    ]


def test_component_without_name_is_an_invalid_reject(store: Store, tmp_path: Path) -> None:
    """A component with no name is rejected as invalid, field name, with its position and a short JSON."""
    path = _sbom(tmp_path, [{"name": "ok", "version": "1"}, {"version": "2.0", "purl": "pkg:npm/x@2.0"}])
    result = _import(store, path, ImportOptions(snapshot_time=WHEN))
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    line, field, reason, raw, category = _rows(
        store, "SELECT line, field, reason, raw, category FROM rejected"
    )[0]
    assert (line, field, category) == (2, "name", "invalid")
    assert "no name" in reason
    assert json.loads(raw) == {"version": "2.0", "purl": "pkg:npm/x@2.0"}


def test_strict_refuses_an_sbom_with_a_nameless_component(store: Store, tmp_path: Path) -> None:
    """With --strict one nameless component fails the SBOM, names its position, and nothing is stored."""
    path = _sbom(tmp_path, [{"name": "ok"}, {"version": "2"}])
    with pytest.raises(InputError, match="first at line 2, field name"):
        _import(store, path, ImportOptions(strict=True, snapshot_time=WHEN))
    assert all(_count(store, t) == 0 for t in STORE_TABLES)


def test_bad_purl_and_wrongly_typed_fields_are_rejected(store: Store, tmp_path: Path) -> None:
    """A purl that cannot be parsed and a version that is not a string are invalid rows naming the field."""
    components = [{"name": "a", "purl": "npm/a@1"}, {"name": "b", "version": 2}, {"name": "c"}, "d"]
    result = _import(store, _sbom(tmp_path, components), ImportOptions(snapshot_time=WHEN))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 1, 3)
    assert _rows(store, "SELECT line, field FROM rejected ORDER BY line") == [
        (1, "purl"),
        (2, "version"),
        (4, None),
    ]


def test_spec_1_6_with_other_ecosystems(store: Store, tmp_path: Path) -> None:
    """Spec 1.6 SBOMs load, and Maven, Go and Ubuntu purls give OSV names and ecosystems."""
    components = [
        {"name": "io", "purl": "pkg:maven/org.apache.commons/io@1.3.4"},
        {"name": "context", "purl": "pkg:golang/github.com/gorilla/context@v1.1.1"},
        {"name": "openssl", "purl": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1?arch=amd64"},
    ]
    _import(store, _sbom(tmp_path, components, "1.6"), ImportOptions(snapshot_time=WHEN))
    assert _rows(store, "SELECT ecosystem, name, version FROM components ORDER BY ecosystem") == [
        ("Go", "github.com/gorilla/context", "v1.1.1"),
        ("Maven", "org.apache.commons:io", "1.3.4"),
        ("Ubuntu", "openssl", "3.0.2-0ubuntu1"),
    ]


def test_json_that_is_not_cyclonedx_is_rejected_as_such(store: Store, tmp_path: Path) -> None:
    """A JSON document without bomFormat CycloneDX (an SPDX SBOM) is refused as not a CycloneDX SBOM."""
    path = tmp_path / "spdx.json"
    path.write_text(json.dumps({"spdxVersion": "SPDX-2.3", "packages": []}))
    with pytest.raises(InputError, match="is JSON but not a CycloneDX SBOM"):
        _import(store, path)
    assert all(_count(store, t) == 0 for t in STORE_TABLES)


def test_unsupported_spec_version_is_named(store: Store, tmp_path: Path) -> None:
    """An SBOM of a specVersion seclo does not read is refused, naming the version."""
    with pytest.raises(InputError, match=r"specVersion '1\.1' is not supported; seclo reads 1\.2 to 1\.6"):
        _import(store, _sbom(tmp_path, [{"name": "a"}], "1.1"))


def test_spec_version_must_be_a_string(store: Store, tmp_path: Path) -> None:
    """A numeric specVersion (1.5 instead of "1.5") is refused with a message saying it must be a string."""
    path = tmp_path / "numeric.json"
    path.write_text('{"bomFormat": "CycloneDX", "specVersion": 1.5, "components": []}')
    with pytest.raises(InputError, match=r'specVersion must be a string such as "1\.6", not 1\.5'):
        _import(store, path)


def test_sbom_without_components_imports_nothing(store: Store, tmp_path: Path) -> None:
    """An SBOM whose components are null or absent is a valid, empty import."""
    path = tmp_path / "empty.json"
    path.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": null}')
    result = _import(store, path, ImportOptions(snapshot_time=WHEN))
    assert (result.rows_read, result.rows_loaded, result.batch_id) == (0, 0, 1)


def test_invalid_json_names_line_and_column(store: Store, tmp_path: Path) -> None:
    """A file that is not valid JSON is refused with the line and column of the first error."""
    path = tmp_path / "broken.json"
    path.write_text('{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.5",\n  "components": [\n')
    with pytest.raises(InputError, match=r"not valid JSON at line 5, column 1 \("):
        _import(store, path)


def test_invalid_timestamp_is_refused(store: Store, tmp_path: Path) -> None:
    """An SBOM whose metadata.timestamp is not a date and time is refused, naming the value."""
    path = _sbom(tmp_path, [{"name": "a"}], metadata={"timestamp": "yesterday"})
    with pytest.raises(InputError, match=r"metadata\.timestamp 'yesterday' is not a date and time"):
        _import(store, path)


# The package URL parser.


def test_purl_percent_encoded_npm_scope() -> None:
    """'%40scope' in an npm purl decodes to the '@scope' namespace, and every part is split out."""
    purl = parse_purl("pkg:npm/%40angular/core@16.0.0?vcs_url=git%2Bhttps%3A//x#packages/core")
    assert purl == PackageUrl(
        "npm", "@angular", "core", "16.0.0", {"vcs_url": "git+https://x"}, "packages/core"
    )
    assert (purl.package_name, purl.ecosystem) == ("@angular/core", "npm")


def test_purl_unencoded_scope_is_not_taken_for_a_version() -> None:
    """An '@' that starts an unencoded npm scope is part of the namespace, not a version separator."""
    assert parse_purl("pkg:npm/@scope/name") == PackageUrl("npm", "@scope", "name")
    assert parse_purl("pkg:npm/@scope/name@1.0").version == "1.0"


@pytest.mark.parametrize(
    ("text", "ecosystem", "name"),
    [
        ("pkg:pypi/django@1.11.1", "PyPI", "django"),
        ("pkg:cargo/rand@0.7.2", "crates.io", "rand"),
        ("pkg:gem/jruby-launcher@1.1.2?platform=java", "RubyGems", "jruby-launcher"),
        ("pkg:nuget/EnterpriseLibrary.Common@6.0.1304", "NuGet", "EnterpriseLibrary.Common"),
        ("pkg:composer/laravel/laravel@5.5.0", "Packagist", "laravel/laravel"),
        ("pkg:deb/debian/curl@7.50.3-1?arch=i386", "Debian", "curl"),
        ("pkg:apk/alpine/curl@7.83.0-r0", "Alpine", "curl"),
        ("pkg:rpm/fedora/curl@7.50.3-1.fc25", "rpm", "curl"),
        ("pkg:docker/cassandra@latest", "docker", "cassandra"),
        ("PKG:NPM/foo@1", "npm", "foo"),
        ("pkg://npm/foo@1", "npm", "foo"),
    ],
)
def test_purl_types_map_to_osv_ecosystems(text: str, ecosystem: str, name: str) -> None:
    """Each purl type gives its OSV ecosystem (an unknown one keeps the type) and the name OSV uses."""
    purl = parse_purl(text)
    assert (purl.ecosystem, purl.package_name) == (ecosystem, name)


def test_purl_subpath_drops_dot_segments_and_qualifiers_drop_empty_values() -> None:
    """Subpath segments '.' and '..' and qualifiers without a value are discarded, as the spec says."""
    purl = parse_purl("pkg:golang/google.golang.org/genproto@abc?goos=&goarch=amd64#/googleapis/./../api/")
    assert (purl.namespace, purl.name) == ("google.golang.org", "genproto")
    assert purl.qualifiers == {"goarch": "amd64"}
    assert purl.subpath == "googleapis/api"


@pytest.mark.parametrize(
    "text", ["npm/foo@1", "pkg:", "pkg:npm", "pkg:npm/", "pkg:/foo", "pkg:1npm/foo", "p:npm/x"]
)
def test_purl_without_scheme_type_or_name_is_an_error(text: str) -> None:
    """A string without the pkg scheme, a valid type or a name is not a package URL."""
    with pytest.raises(PurlError):
        parse_purl(text)


_PART = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(
    namespace=st.lists(_PART, max_size=3),
    name=_PART,
    version=st.none() | _PART,
    subpath=st.lists(_PART.filter(lambda s: s not in {".", ".."}), max_size=2),
)
def test_purl_round_trips_percent_encoded_parts(
    namespace: list[str], name: str, version: str | None, subpath: list[str]
) -> None:
    """Any parts, percent-encoded into a purl, are parsed back exactly."""
    text = "pkg:generic/" + "/".join(quote(p, safe="") for p in [*namespace, name])
    text += f"@{quote(version, safe='')}" if version is not None else ""
    text += "#" + "/".join(quote(p, safe="") for p in subpath) if subpath else ""
    assert parse_purl(text) == PackageUrl(
        "generic", "/".join(namespace) or None, name, version or None, {}, "/".join(subpath) or None
    )


# Fuzzing: whatever the bytes, the importer refuses with an InputError or loads rows whose counts reconcile.


def _check_never_crashes(data: bytes) -> None:
    check_bytes_survive("cyclonedx", data, "fuzz.cdx.json", ImportOptions(snapshot_time=WHEN))


def _delete_random_element(document: Any, seed: int) -> Any:
    """Remove one key or list item, chosen by `seed`, from anywhere in the document."""
    containers: list[Any] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list) and node:
            containers.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    if containers:
        container = containers[seed % len(containers)]
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        del container[keys[(seed // len(containers)) % len(keys)]]
    return document


def _first_components(path: Path, keep: int) -> bytes:
    """The SBOM with only its first `keep` components: still valid, and small enough to fuzz quickly."""
    document = json.loads(path.read_text())
    document["components"] = document["components"][:keep]
    return json.dumps(document, indent=2).encode()


REAL = [CERN.read_bytes(), _first_components(JUICE, 40)]
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(min_size=1, max_size=600))
def test_random_bytes_never_crash(data: bytes) -> None:
    """Random bytes are refused with an InputError or read with reconciling counts, never a crash."""
    _check_never_crashes(data)


@FUZZ
@given(base=st.sampled_from(REAL), cut=st.floats(0, 1))
def test_truncated_real_sboms_never_crash(base: bytes, cut: float) -> None:
    """A real SBOM cut at any point is refused with an InputError or read with reconciling counts."""
    _check_never_crashes(base[: max(1, int(len(base) * cut))])


@FUZZ
@given(base=st.sampled_from(REAL), at=st.floats(0, 1), byte=st.integers(0, 255))
def test_real_sboms_with_a_changed_byte_never_crash(base: bytes, at: float, byte: int) -> None:
    """A real SBOM with one byte changed is refused with an InputError or read with reconciling counts."""
    index = min(len(base) - 1, int(len(base) * at))
    _check_never_crashes(base[:index] + bytes([byte]) + base[index + 1 :])


@FUZZ
@given(base=st.sampled_from(REAL), seed=st.integers(min_value=0))
def test_real_sboms_with_an_element_deleted_never_crash(base: bytes, seed: int) -> None:
    """A real SBOM with any one key or list item removed is refused or read with reconciling counts."""
    _check_never_crashes(json.dumps(_delete_random_element(json.loads(base), seed)).encode())
