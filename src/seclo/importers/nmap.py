"""nmap XML scans (`nmap -oX`): one assets row per host that is up, one ports row per port found.

The rules:

- **rows_read** counts the `<host>` elements plus the `<port>` elements under them. `<extraports>` (nmap's
  summary of the ports it did not list one by one, such as "995 closed") is not counted: it names no port.
- **snapshot_time** is the scan's start (`nmaprun/@start`, epoch seconds), the same for every row of the file,
  so an SLI on ports is evaluated once per scan. A scan that does not state its start uses
  `ImportOptions.snapshot_time`, and failing that the file's modification time (with a note saying so).
- **asset_id** is the host's first IPv4 address, else its first IPv6 address, else its MAC address. **ip** is
  that IPv4 or IPv6 address (empty for a host known only by its MAC).
- **hostname** is the first `hostnames/hostname/@name`; **os** the `os/osmatch/@name` with the highest
  accuracy (the first of equals).
- **exposure**, **criticality** and **team** are left empty: a scan cannot tell whether an address is
  reachable from the internet (that depends on where the scanner sat), nor who owns the host. Import an
  assets file to set them.
- A host whose status is "down" is a "skipped" reject ("host is down"), as are any ports listed under it, so
  the counts reconcile. A host without any address is an "invalid" reject, with its ports.

The XML is read with defusedxml and its defaults: a DTD is allowed, but a file that declares entities
(internal ones, as in "billion laughs", or external ones, as in XXE) is refused as a whole before anything is
resolved. The file is streamed through the parser, which calls back into `_ScanReader`; no element tree is
built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ErrorString

from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from seclo.errors import InputError
from seclo.importers.interface import Importer, RejectedRow, Staged, Staging
from seclo.importers.records import stage_records, stage_rejected_rows
from seclo.store.schema import table

__all__ = ["NmapImporter"]

_FEED_BYTES = 1 << 20
_HOST = ("nmaprun", "host")
_STATUS, _ADDRESS = (*_HOST, "status"), (*_HOST, "address")
_HOSTNAME, _OSMATCH = (*_HOST, "hostnames", "hostname"), (*_HOST, "os", "osmatch")
_PORT = (*_HOST, "ports", "port")
_PORT_STATE, _SERVICE = (*_PORT, "state"), (*_PORT, "service")
_ADDRESS_PREFERENCE = ("ipv4", "ipv6", "mac")
# The deepest element read (nmaprun/host/ports/port/service); deeper elements are passed over without looking at
# their path, so the work per element does not grow with the depth (a file nested 100,000 deep stays linear).
_DEEPEST = len(_SERVICE)


class _NotAScanError(Exception):
    """The root element is not <nmaprun>; raised from inside the parser to stop it at the first element."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.root = root


@dataclass(slots=True)
class _Port:
    line: int
    protocol: str | None
    number: str | None
    state: str | None = None
    service: str | None = None
    product: str | None = None
    version: str | None = None


@dataclass(slots=True)
class _Host:
    line: int
    status: str | None = None
    addresses: dict[str, str] = field(default_factory=dict)
    hostname: str | None = None
    os: str | None = None
    os_accuracy: int = -1
    ports: list[_Port] = field(default_factory=list)

    @property
    def asset_id(self) -> str | None:
        return next((self.addresses[t] for t in _ADDRESS_PREFERENCE if t in self.addresses), None)

    @property
    def ip(self) -> str | None:
        return self.addresses.get("ipv4") or self.addresses.get("ipv6")


class _ScanReader:
    """A parser target that keeps the few elements seclo needs as the parser reports them."""

    def __init__(self) -> None:
        self.parser: DefusedXMLParser | None = None
        self.start_time: str | None = None
        self.hosts: list[_Host] = []
        self._path: list[str] = []
        self._host: _Host | None = None
        self._port: _Port | None = None

    def _line(self) -> int:
        """The line the parser is at (the start tag it is reporting)."""
        line: int = self.parser.parser.CurrentLineNumber if self.parser is not None else 0
        return line

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        """An element opens: note what it says if it is one of ours."""
        if not self._path and tag != "nmaprun":
            raise _NotAScanError(tag)
        self._path.append(tag)
        if len(self._path) <= _DEEPEST:
            self._note(tuple(self._path), attrib)

    def _note(self, path: tuple[str, ...], attrib: dict[str, str]) -> None:
        """Keep what the element at `path` says, if it is one seclo reads."""
        host, port = self._host, self._port
        if path == ("nmaprun",):
            self.start_time = attrib.get("start")
        elif path == _HOST:
            self._host = _Host(self._line())
        elif host is None:
            return
        elif path == _STATUS:
            host.status = attrib.get("state")
        elif path == _ADDRESS and attrib.get("addr"):
            # nmap.dtd: addrtype defaults to "ipv4".
            host.addresses.setdefault(attrib.get("addrtype", "ipv4"), attrib["addr"])
        elif path == _HOSTNAME and host.hostname is None:
            host.hostname = attrib.get("name")
        elif path == _OSMATCH:
            accuracy = attrib.get("accuracy", "")
            score = int(accuracy) if accuracy.isdecimal() else 0  # isdigit() would let "²" through to int()
            if attrib.get("name") and score > host.os_accuracy:
                host.os, host.os_accuracy = attrib["name"], score
        elif path == _PORT:
            self._port = _Port(self._line(), attrib.get("protocol"), attrib.get("portid"))
        elif port is not None and path == _PORT_STATE:
            port.state = attrib.get("state")
        elif port is not None and path == _SERVICE:
            port.service, port.product = attrib.get("name"), attrib.get("product")
            port.version = attrib.get("version")

    def end(self, tag: str) -> None:
        """An element closes: a finished host or port is kept."""
        if len(self._path) > _DEEPEST:
            self._path.pop()
            return
        path = tuple(self._path)
        self._path.pop()
        if path == _PORT and self._host is not None and self._port is not None:
            self._host.ports.append(self._port)
            self._port = None
        elif path == _HOST and self._host is not None:
            self.hosts.append(self._host)
            self._host = None

    def data(self, text: str) -> None:
        """Text content: nothing seclo reads is in text."""

    def close(self) -> None:
        """The document ended."""


def _read_scan(path: Path, staging: Staging) -> _ScanReader:
    """Stream the file through defusedxml; translate every parser complaint into a one-line InputError."""
    reader = _ScanReader()
    # defusedxml's defaults: DTDs allowed; entity declarations and external references refused.
    parser = DefusedXMLParser(target=reader)
    reader.parser = parser
    staging.reporter.start(f"reading {path.name}", total=path.stat().st_size)
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_FEED_BYTES):
                parser.feed(chunk)
                staging.reporter.advance(len(chunk))
        parser.close()
    except EntitiesForbidden as exc:
        raise InputError(
            f"{path}: the XML declares entities (<!ENTITY {exc.name} ...>), which seclo refuses for safety; "
            "they were not resolved and nothing was imported"
        ) from None
    except ExternalReferenceForbidden as exc:
        raise InputError(
            f"{path}: the XML refers to an external resource ({exc.sysid}), which seclo refuses for safety; "
            "nothing was imported"
        ) from None
    except DefusedXmlException as exc:
        raise InputError(f"{path}: the XML uses a construct seclo refuses for safety ({exc})") from None
    except _NotAScanError as exc:
        raise InputError(
            f"{path}: is XML but not an nmap scan (root element <{exc.root}>, expected <nmaprun>)"
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise InputError(
            f"{path}: not well-formed XML at line {line}, column {column} ({ErrorString(exc.code)})"
        ) from None
    finally:
        staging.reporter.finish()
    return reader


def _snapshot_time(reader: _ScanReader, staging: Staging) -> datetime:
    """The scan's start; else the user's snapshot time; else the file's modification time, with a note."""
    start = reader.start_time or ""
    try:
        return datetime.fromtimestamp(int(start), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    if staging.options.snapshot_time is not None:
        return staging.options.snapshot_time
    modified = datetime.fromtimestamp(staging.path.stat().st_mtime, UTC)
    said = f"its start is {start!r}" if start else "it does not state when it started"
    staging.note(
        f"{staging.path.name}: {said}; using the file's modification time "
        f"{modified.isoformat(timespec='seconds')} as the scan time"
    )
    return modified


@dataclass(slots=True)
class _Rows:
    """Records for one canonical table, with each one's line and source text (for rejects)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    raws: list[str | None] = field(default_factory=list)

    def add(self, record: dict[str, Any], line: int, raw: str) -> None:
        self.records.append(record)
        self.lines.append(line)
        self.raws.append(raw)


def _port_raw(port: _Port, host: _Host) -> str:
    return f'<port protocol="{port.protocol}" portid="{port.number}"> of host {host.asset_id}'


def _host_rows(reader: _ScanReader, when: str) -> tuple[_Rows, _Rows, list[RejectedRow]]:
    """Split the scan's hosts into assets rows, ports rows and rejects."""
    assets, ports, rejected = _Rows(), _Rows(), list[RejectedRow]()
    for host in reader.hosts:
        raw = f"<host> {host.asset_id or 'without an address'} (status {host.status})"
        if host.status == "down":
            rejected.append(RejectedRow(host.line, None, "host is down", raw, "skipped"))
            why = "port of a host that is down"
            rejected += [RejectedRow(p.line, None, why, _port_raw(p, host), "skipped") for p in host.ports]
            continue
        if host.asset_id is None:
            rejected.append(RejectedRow(host.line, "address", "host has no ipv4, ipv6 or mac address", raw))
            why = "port of a host without an address"
            rejected += [RejectedRow(p.line, "asset_id", why, _port_raw(p, host)) for p in host.ports]
            continue
        asset = {"snapshot_time": when, "asset_id": host.asset_id, "hostname": host.hostname, "ip": host.ip}
        assets.add(asset | {"os": host.os}, host.line, raw)
        for p in host.ports:
            port = {
                "snapshot_time": when,
                "asset_id": host.asset_id,
                "port": p.number,
                "protocol": p.protocol,
            }
            port |= {"state": p.state, "service": p.service, "product": p.product, "version": p.version}
            ports.add(port, p.line, _port_raw(p, host))
    return assets, ports, rejected


class NmapImporter(Importer):
    """nmap XML output (`nmap -oX`): hosts to assets, ports to ports."""

    kind: ClassVar[str] = "nmap"
    summary: ClassVar[str] = "nmap -oX XML scans: hosts to assets, ports to ports"
    targets: ClassVar[tuple[str, ...]] = ("assets", "ports")

    def stage(self, staging: Staging) -> Staged:
        """Read the scan; stage one assets row per host up, one ports row per port, and the hosts down."""
        reader = _read_scan(staging.path, staging)
        assets, ports, rejected = _host_rows(reader, _snapshot_time(reader, staging).isoformat())
        rejects = stage_rejected_rows(staging, rejected)
        staged = {
            name: stage_records(
                staging, table(name), rows.records, lines=rows.lines, raws=rows.raws, rejects=rejects
            )
            for name, rows in (("assets", assets), ("ports", ports))
        }
        rows_read = len(reader.hosts) + sum(len(h.ports) for h in reader.hosts)
        return Staged(rows_read, staged, rejects)
