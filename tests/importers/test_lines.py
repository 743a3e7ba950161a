"""Splitting text files into numbered lines, the first step of every line-based importer."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seclo.importers import ImportOptions, Staging, lines
from seclo.store import open_store

_NO_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)


def _expected(data: bytes) -> list[tuple[int, str]]:
    out = []
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for number, part in enumerate(parts, start=1):
        text = part[:-1] if part.endswith(b"\r") else part
        if text:
            out.append((number, text.decode("utf-8")))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.lists(
        st.text(
            alphabet=st.characters(blacklist_characters="\n\r\x00", blacklist_categories=_NO_SURROGATES),
            max_size=12,
        ),
        max_size=25,
    ),
    endings=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=25, max_size=25),
    final_newline=st.booleans(),
    chunk=st.integers(1, 40),
)
def test_lines_match_a_plain_split_whatever_the_chunk_size(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: list[str],
    endings: list[str],
    final_newline: bool,
    chunk: int,
) -> None:
    """Line numbers and contents are right for LF and CRLF files, lines across reads, and no final newline."""
    body = "".join(t + e for t, e in zip(text, endings, strict=False))
    if not final_newline and body:
        body = body.rstrip("\r\n")
    data = body.encode("utf-8")
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    monkeypatch.setattr(lines, "CHUNK_BYTES", chunk)
    with open_store(None) as store:
        name, count = lines.stage_lines(Staging(store.conn, path, ImportOptions()))
        got = store.conn.execute(f"SELECT _line, _text FROM {name} ORDER BY _line").fetchall()
    assert got == _expected(data)
    assert count == len(got)


def test_invalid_utf8_lines_are_flagged_not_lost(tmp_path: Path) -> None:
    """A line that is not UTF-8 is kept, escaped and marked, while its neighbours stay intact."""
    path = tmp_path / "f.txt"
    path.write_bytes(b"good\n\xff\xfebad\nalso good\n")
    with open_store(None) as store:
        name, count = lines.stage_lines(Staging(store.conn, path, ImportOptions()))
        rows = store.conn.execute(f"SELECT _line, _text, _utf8 FROM {name} ORDER BY _line").fetchall()
    assert count == 3
    assert rows == [(1, "good", True), (2, "\\xFF\\xFEbad", False), (3, "also good", True)]


def _expected_clean(data: bytes, limit: int) -> list[tuple[int, bool]]:
    """(line, is clean text) for each line that is not blank once its NUL padding is dropped; a line's length
    is that of its bytes as read, less the padding it starts with."""
    out = []
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for number, part in enumerate(parts, start=1):
        too_long = len(part.lstrip(b"\0")) > limit
        text = part[:-1] if part.endswith(b"\r") else part
        text = text.strip(b"\0")
        if text.endswith(b"\r"):  # "text\r\0\0\n": the padding sat between CR and LF
            text = text[:-1].rstrip(b"\0")
        if text:
            out.append((number, b"\0" not in text and not too_long))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(
        st.sampled_from([b"ab", b"\0", b"\0\0\0", b"\n", b"\r\n", b"xyz" * 5, b"q"]), max_size=40
    ),
    chunk=st.integers(1, 40),
)
def test_nul_padding_and_long_lines_whatever_the_chunk_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pieces: list[bytes], chunk: int
) -> None:
    """NUL runs at a line's start or end are dropped, a NUL inside a line or a line over the limit marks that
    line (at its true number), whatever the read size."""
    data = b"".join(pieces)
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    monkeypatch.setattr(lines, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 12)
    with open_store(None) as store:
        name, count = lines.stage_lines(Staging(store.conn, path, ImportOptions()))
        got = store.conn.execute(f"SELECT _line, _utf8 FROM {name} ORDER BY _line").fetchall()
        leaked = store.conn.execute(f"SELECT count(*) FROM {name} WHERE contains(_text, chr(0))").fetchall()
    assert got == _expected_clean(data, 12)
    assert count == len(got)
    assert leaked == [(0,)]
