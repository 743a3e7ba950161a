"""nmap XML scans: hosts and ports from real scans, refusal of XML attacks and of files that are not scans."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_checks import check_bytes_survive, reconciles

from seclo.errors import InputError
from seclo.importers import ImportOptions, ImportResult, import_path
from seclo.importers.nmap import NmapImporter
from seclo.store import Store

NMAP = Path(__file__).parents[1] / "fixtures" / "nmap"
SCANS = ["1_hosts_down.xml", "2_hosts_version.xml", "2_tcp_hosts.xml", "fullscan.xml"]
XXE = NMAP / "defused_et_local_includer.xml"
NOT_NMAP = NMAP / "defused_et_included.xml"
STORE_TABLES = ("assets", "ports", "rejected", "import_batches")


def _import(store: Store, path: Path, options: ImportOptions | None = None) -> ImportResult:
    return import_path(store, NmapImporter(), path, options)


def _rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return store.conn.execute(sql).fetchall()


def _count(store: Store, table: str) -> int:
    return int(_rows(store, f"SELECT count(*) FROM {table}")[0][0])


def _scan(body: str, start: str = ' start="1700000000"') -> str:
    return f'<?xml version="1.0"?>\n<nmaprun scanner="nmap"{start}>\n{body}\n</nmaprun>\n'


def _host(addresses: str, ports: str = "", state: str = "up") -> str:
    return f'<host><status state="{state}"/>{addresses}<ports>{ports}</ports></host>'


def _port(number: str = "22", protocol: str = "tcp", state: str = "open") -> str:
    return (
        f'<port protocol="{protocol}" portid="{number}"><state state="{state}"/><service name="ssh"/></port>'
    )


@pytest.mark.parametrize("name", SCANS)
def test_real_scans_load_every_host_up_and_its_ports(store: Store, name: str) -> None:
    """Each real scan loads one asset per host up and one port per listed port, and skips hosts down."""
    root = SafeET.fromstring((NMAP / name).read_bytes())
    hosts = root.findall("host")
    up = [h for h in hosts if h.find("status").get("state") != "down"]  # type: ignore[union-attr]
    ports = sum(len(h.findall("ports/port")) for h in up)
    result = _import(store, NMAP / name)
    assert dict(result.tables) == {"assets": len(up), "ports": ports}
    assert result.rows_read == len(hosts) + ports
    assert result.rows_skipped == len(hosts) - len(up)
    assert result.rows_rejected == 0
    assert reconciles(result)
    assert _count(store, "assets") == len(up)
    assert _count(store, "ports") == ports


def test_fullscan_numbers_are_the_known_ones(store: Store) -> None:
    """fullscan.xml is a /24 sweep: 256 hosts, 2 up with 6 and 3 ports, 254 down."""
    result = _import(store, NMAP / "fullscan.xml")
    assert (result.rows_read, result.rows_loaded, result.rows_skipped) == (265, 11, 254)
    assert _rows(store, "SELECT asset_id, count(*) FROM ports GROUP BY 1 ORDER BY 1") == [
        ("192.168.1.1", 6),
        ("192.168.1.4", 3),
    ]


def test_fullscan_port_carries_service_product_and_version(store: Store) -> None:
    """Port 22 of 192.168.1.4 in fullscan.xml is open ssh, OpenSSH 5.9p1 Debian 5ubuntu1."""
    _import(store, NMAP / "fullscan.xml")
    found = _rows(
        store,
        "SELECT protocol, state, service, product, version FROM ports WHERE asset_id = '192.168.1.4' AND port = 22",
    )
    assert found == [("tcp", "open", "ssh", "OpenSSH", "5.9p1 Debian 5ubuntu1")]


def test_snapshot_time_is_the_scan_start_for_every_row(store: Store) -> None:
    """Every row of a scan has the scan's start (nmaprun/@start, 1399584985) as its snapshot time, in UTC."""
    _import(store, NMAP / "fullscan.xml")
    expected = datetime(2014, 5, 8, 21, 36, 25)
    assert _rows(store, "SELECT DISTINCT snapshot_time FROM assets") == [(expected,)]
    assert _rows(store, "SELECT DISTINCT snapshot_time FROM ports") == [(expected,)]


def test_host_fields_come_from_address_hostname_and_best_os_match(store: Store) -> None:
    """scanme.nmap.org gets its IPv4 as asset_id and ip, its first hostname and the most accurate OS match."""
    _import(store, NMAP / "2_hosts_version.xml")
    found = _rows(
        store,
        "SELECT asset_id, hostname, ip, os, exposure, criticality, team FROM assets WHERE ip = '74.207.244.221'",
    )
    assert found == [
        ("74.207.244.221", "scanme.nmap.org", "74.207.244.221", "Netgear DG834G WAP", None, None, None)
    ]


def test_hosts_down_are_skipped_with_their_line(store: Store) -> None:
    """Each host down is a 'skipped' reject saying so, at the line of its <host> element."""
    _import(store, NMAP / "fullscan.xml")
    lines = (NMAP / "fullscan.xml").read_text().splitlines()
    first_down = next(
        i for i, text in enumerate(lines, 1) if 'state="down"' in text and text.startswith("<host")
    )
    rejects = _rows(store, "SELECT line, field, reason, category FROM rejected ORDER BY line")
    assert len(rejects) == 254
    assert {r[1:] for r in rejects} == {(None, "host is down", "skipped")}
    assert rejects[0][0] == first_down


def test_xxe_file_is_refused_and_nothing_is_written(store: Store) -> None:
    """A file declaring an external entity is refused in one line naming it, and the store stays empty."""
    with pytest.raises(InputError) as caught:
        _import(store, XXE)
    message = str(caught.value)
    assert str(XXE) in message
    assert "declares entities" in message
    assert "refuses for safety" in message
    assert "\n" not in message
    assert all(_count(store, t) == 0 for t in STORE_TABLES)


def test_internal_entities_are_refused_too(store: Store, tmp_path: Path) -> None:
    """An internal entity declaration (the billion-laughs shape) in an nmap scan is refused, not expanded."""
    path = tmp_path / "laughs.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
        '<nmaprun start="1700000000"><host><status state="up"/><address addr="&lol2;"/></host></nmaprun>\n'
    )
    with pytest.raises(InputError, match="declares entities"):
        _import(store, path)
    assert all(_count(store, t) == 0 for t in STORE_TABLES)


def test_a_doctype_without_entities_is_accepted(store: Store, tmp_path: Path) -> None:
    """Recent nmap versions write <!DOCTYPE nmaprun>; a DTD without entities is read normally."""
    path = tmp_path / "doctype.xml"
    path.write_text(
        _scan(_host('<address addr="10.0.0.1" addrtype="ipv4"/>', _port())).replace(
            "<nmaprun", "<!DOCTYPE nmaprun>\n<nmaprun", 1
        )
    )
    assert dict(_import(store, path).tables) == {"assets": 1, "ports": 1}


def test_xml_that_is_not_a_scan_is_rejected_as_such(store: Store) -> None:
    """Well-formed XML whose root is not <nmaprun> is refused, naming the root element found."""
    with pytest.raises(InputError) as caught:
        _import(store, NOT_NMAP)
    assert str(caught.value) == (
        f"{NOT_NMAP}: is XML but not an nmap scan (root element <root>, expected <nmaprun>)"
    )
    assert all(_count(store, t) == 0 for t in STORE_TABLES)


def test_truncated_scan_names_the_parser_line_and_column(store: Store, tmp_path: Path) -> None:
    """A scan cut short is refused with the line and column where the XML parser gave up."""
    data = (NMAP / "fullscan.xml").read_bytes()[:30_000]
    path = tmp_path / "cut.xml"
    path.write_bytes(data)
    with pytest.raises(SafeET.ParseError) as expected:
        SafeET.fromstring(data)
    line, column = expected.value.position
    with pytest.raises(InputError, match=rf"not well-formed XML at line {line}, column {column} \("):
        _import(store, path)
    assert all(_count(store, t) == 0 for t in STORE_TABLES)


def test_mismatched_tags_are_malformed_xml(store: Store, tmp_path: Path) -> None:
    """An element closed by the wrong tag is refused with the parser's position and reason."""
    path = tmp_path / "bad.xml"
    path.write_text('<nmaprun start="1">\n<host>\n</hosts>\n</nmaprun>\n')
    with pytest.raises(InputError, match=r"line 3, column 2 \(mismatched tag\)"):
        _import(store, path)


def test_asset_id_prefers_ipv4_then_ipv6_then_mac(store: Store, tmp_path: Path) -> None:
    """The asset id is the IPv4 address, else the IPv6, else the MAC; ip is empty for a MAC-only host."""
    path = tmp_path / "ids.xml"
    mac = '<address addr="00:11:22:33:44:55" addrtype="mac"/>'
    v6 = '<address addr="2001:db8::1" addrtype="ipv6"/>'
    v4 = '<address addr="192.0.2.7" addrtype="ipv4"/>'
    path.write_text(_scan(_host(mac + v6 + v4) + _host(mac + v6) + _host(mac.replace("55", "66"))))
    _import(store, path)
    assert _rows(store, "SELECT asset_id, ip FROM assets ORDER BY asset_id") == [
        ("00:11:22:33:44:66", None),
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8::1", "2001:db8::1"),
    ]


def test_host_without_address_and_bad_ports_are_invalid_rejects(store: Store, tmp_path: Path) -> None:
    """A host with no address, a port number that is not a number and an unknown protocol are invalid rows."""
    path = tmp_path / "odd.xml"
    good = _host(
        '<address addr="192.0.2.1" addrtype="ipv4"/>', _port("22") + _port("x") + _port("9", "carrier")
    )
    path.write_text(_scan(good + "\n" + _host("", _port("80"))))
    result = _import(store, path)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 2, 4)
    assert reconciles(result)
    found = sorted(_rows(store, "SELECT field, reason, category FROM rejected"), key=str)
    assert found == [
        ("address", "host has no ipv4, ipv6 or mac address", "invalid"),
        ("asset_id", "port of a host without an address", "invalid"),
        ("port", "not a valid INTEGER: x", "invalid"),
        ("protocol", "must be one of tcp, udp, sctp, ip, not carrier", "invalid"),
    ]


def test_strict_refuses_a_scan_with_an_invalid_port(store: Store, tmp_path: Path) -> None:
    """With --strict one invalid port fails the whole scan and nothing is stored."""
    path = tmp_path / "strict.xml"
    path.write_text(_scan(_host('<address addr="192.0.2.1" addrtype="ipv4"/>', _port("22") + _port("x"))))
    with pytest.raises(InputError, match="1 invalid row"):
        _import(store, path, ImportOptions(strict=True))
    assert all(_count(store, t) == 0 for t in STORE_TABLES)


def test_scan_without_start_uses_the_given_snapshot_time(store: Store, tmp_path: Path) -> None:
    """A scan that does not state its start takes ImportOptions.snapshot_time."""
    path = tmp_path / "nostart.xml"
    path.write_text(_scan(_host('<address addr="192.0.2.1" addrtype="ipv4"/>'), start=""))
    when = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    result = _import(store, path, ImportOptions(snapshot_time=when))
    assert result.notes == ()
    assert _rows(store, "SELECT snapshot_time FROM assets") == [(datetime(2024, 6, 1, 12, 0),)]


def test_scan_without_any_time_uses_the_file_time_and_says_so(store: Store, tmp_path: Path) -> None:
    """Without a start or a snapshot time the file's modification time is used, with a note saying so."""
    path = tmp_path / "nostart.xml"
    path.write_text(_scan(_host('<address addr="192.0.2.1" addrtype="ipv4"/>'), start=""))
    result = _import(store, path)
    assert len(result.notes) == 1
    assert "modification time" in result.notes[0]
    stored = _rows(store, "SELECT snapshot_time FROM assets")[0][0]
    assert isinstance(stored, datetime)
    assert abs(stored.replace(tzinfo=UTC).timestamp() - path.stat().st_mtime) < 1


def test_the_same_scan_under_another_name_adds_only_duplicates(store: Store, tmp_path: Path) -> None:
    """Importing a copy of a scan (different bytes, same content) loads nothing new and says they are duplicates."""
    first = _import(store, NMAP / "2_hosts_version.xml")
    copy = tmp_path / "copy.xml"
    copy.write_bytes((NMAP / "2_hosts_version.xml").read_bytes() + b"\n")
    second = _import(store, copy)
    assert (second.rows_loaded, second.rows_duplicate) == (0, first.rows_loaded)
    assert _count(store, "ports") == 9


# Fuzzing: whatever the bytes, the importer refuses with an InputError or loads rows whose counts reconcile.


def _check_never_crashes(data: bytes, name: str = "fuzz.xml") -> None:
    check_bytes_survive("nmap", data, name)


def _delete_random_element(data: bytes, seed: int) -> bytes:
    root = SafeET.fromstring(data)
    parents = [p for p in root.iter() if len(p)]
    if not parents:
        return data
    parent = parents[seed % len(parents)]
    parent.remove(parent[(seed // len(parents)) % len(parent)])
    return SafeET.tostring(root)


REAL = [(NMAP / n).read_bytes() for n in [*SCANS, XXE.name, NOT_NMAP.name]]
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(min_size=1, max_size=600))
def test_random_bytes_never_crash(data: bytes) -> None:
    """Random bytes are refused with an InputError or read with reconciling counts, never a crash."""
    _check_never_crashes(data)


@FUZZ
@given(base=st.sampled_from(REAL), cut=st.floats(0, 1))
def test_truncated_real_files_never_crash(base: bytes, cut: float) -> None:
    """A real file cut at any point is refused with an InputError or read with reconciling counts."""
    _check_never_crashes(base[: max(1, int(len(base) * cut))])


@FUZZ
@given(base=st.sampled_from(REAL), at=st.floats(0, 1), byte=st.integers(0, 255))
def test_real_files_with_a_changed_byte_never_crash(base: bytes, at: float, byte: int) -> None:
    """A real file with one byte changed is refused with an InputError or read with reconciling counts."""
    index = min(len(base) - 1, int(len(base) * at))
    _check_never_crashes(base[:index] + bytes([byte]) + base[index + 1 :])


@FUZZ
@given(name=st.sampled_from(SCANS), seed=st.integers())
def test_real_scans_with_an_element_deleted_never_crash(name: str, seed: int) -> None:
    """A real scan with a random element removed is refused with an InputError or read with reconciling counts."""
    _check_never_crashes(_delete_random_element((NMAP / name).read_bytes(), seed))


def test_deeply_nested_elements_are_read_in_linear_time(store: Store, tmp_path: Path) -> None:
    """A scan whose port holds 300,000 nested elements (2 MB) still loads its host and port.

    Each element's path was built afresh from the whole stack, so this file took about a minute (quadratic in
    the depth); it now takes a fraction of a second.
    """
    depth = 300_000
    nested = "<x>" * depth + "</x>" * depth
    port = (
        f'<port protocol="tcp" portid="22"><state state="open"/><service name="ssh">{nested}</service></port>'
    )
    path = tmp_path / "deep.xml"
    path.write_text(_scan(_host('<address addr="10.0.0.9" addrtype="ipv4"/>', port)))
    result = _import(store, path)
    assert (result.rows_read, result.rows_loaded) == (2, 2)
    assert _rows(store, "SELECT asset_id, port, service FROM ports") == [("10.0.0.9", 22, "ssh")]
