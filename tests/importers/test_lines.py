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
