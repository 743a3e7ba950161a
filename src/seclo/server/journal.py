"""The inbox journal: an append-only NDJSON file, a cursor of what has been merged, and its compaction.

Appends are written and fsync'ed under an exclusive `flock`, so request threads and other processes never
interleave lines. The cursor file beside the journal (`OFFSET GENERATION LINE`, replaced atomically) says how
far the journal has been merged: the byte offset, the journal's generation and the lines merged before that
offset, counted over the journal's whole history so a rejected line keeps one number.

The journal would grow without bound, so once the merged part passes `compact_bytes` it is compacted: the
lines not merged yet are copied, under the lock, behind a header line `{"seclo_inbox_journal": 1,
"generation": G + 1, "lines_before": N}` into a new file, which replaces the journal by a rename; then the
cursor moves to the end of the header. A crash between the two leaves a cursor of generation G beside a
journal of generation G + 1; since a compacted journal holds only lines not merged yet, that cursor is read as
"merge from the header on", so nothing is lost and nothing merged twice. A writer that opened the old file
and waited for its lock sees that the path names another file now, and appends to the new one.

A journal without a header is generation 0 (as written before compaction existed), and a cursor holding only
an offset is a generation 0 cursor.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from seclo.atomic import write_bytes_atomic, write_text_atomic

__all__ = ["COMPACT_BYTES", "Chunk", "Journal", "Position"]

log = logging.getLogger(__name__)

# Compact once this much has been merged: the journal stays small, and a compaction (copying only what is not
# merged yet) is rare and cheap.
COMPACT_BYTES = 256 * 1024
_HEADER_KEY = b'{"seclo_inbox_journal":'


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the journal: its generation, a byte offset in the file, and the lines before it."""

    generation: int
    offset: int
    line: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole lines read after `start` (without their newline), `end` the position after them."""

    start: Position
    lines: list[bytes]
    end: Position
    more: bool


@dataclass(frozen=True, slots=True)
class _Header:
    generation: int
    lines_before: int
    length: int


def _header(fd: int) -> _Header:
    first = os.pread(fd, 256, 0)
    if not first.startswith(_HEADER_KEY) or b"\n" not in first:
        return _Header(0, 0, 0)
    line = first[: first.index(b"\n") + 1]
    try:
        document = json.loads(line)
        return _Header(int(document["generation"]), int(document["lines_before"]), len(line))
    except (ValueError, KeyError, TypeError):
        log.warning("the inbox journal's header is unreadable; reading it as a journal without one")
        return _Header(0, 0, 0)


class Journal:
    """An append-only journal of accepted payloads with a crash-safe cursor and compaction."""

    def __init__(self, path: Path, cursor: Path, compact_bytes: int = COMPACT_BYTES) -> None:
        self.path = path
        self.cursor = cursor
        self.compact_bytes = compact_bytes
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[int]:
        """The journal open with an exclusive lock, against this process's threads and other processes.

        After a compaction the path names a new file: a writer that opened the old one and waited for its lock
        opens the path again, so nothing is appended to a file that is no longer the journal.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    held = os.fstat(fd)
                    try:
                        named = os.stat(self.path)
                    except FileNotFoundError:
                        named = None
                    if named is not None and (named.st_ino, named.st_dev) == (held.st_ino, held.st_dev):
                        break
                except BaseException:
                    os.close(fd)
                    raise
                os.close(fd)
            try:
                yield fd
            finally:
                os.close(fd)  # closing releases the lock

    def append(self, line: bytes) -> None:
        """Append one line (without its newline) and fsync it; when this returns, it survives a crash.

        Raises:
            OSError: the journal cannot be written.
        """
        created = not self.path.exists()
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            # A crash mid-write can leave a line without its newline; never glue a new line onto it.
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line + b"\n")
            os.fsync(fd)
        if created:
            _fsync_directory(self.path.parent)

    def _cursor(self) -> tuple[int, int, int | None] | None:
        """The cursor file's offset, generation and line (None when it holds an offset only), or None."""
        try:
            parts = self.cursor.read_text(encoding="ascii").split()
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, ValueError):
            parts = ["?"]
        try:
            if len(parts) == 1:
                return int(parts[0]), 0, None
            offset, generation, line = (int(p) for p in parts)
        except ValueError:
            log.warning("%s is not an inbox cursor; merging the whole journal again", self.cursor)
            return None
        return offset, generation, line

    def _position(self, fd: int, *, quiet: bool = False) -> Position:
        """Where merging resumes in the open journal `fd`, from the cursor and the journal's header."""
        header = _header(fd)
        start = Position(header.generation, header.length, header.lines_before)
        cursor = self._cursor()
        if cursor is None:
            return start
        offset, generation, line = cursor
        if generation != header.generation:
            # Older: a crash after a compaction's rename, before its cursor; the journal holds only unmerged
            # lines. Newer: the journal was replaced; merging it again adds nothing that is already merged.
            if generation > header.generation and not quiet:
                log.warning("the inbox journal is older than its cursor; merging it again from its start")
            return start
        size = os.fstat(fd).st_size
        if offset < header.length or offset > size or (offset and os.pread(fd, 1, offset - 1) != b"\n"):
            if not quiet:
                log.warning("the inbox cursor does not fit the journal; merging it again from its start")
            return start
        if line is None:
            if quiet:
                return Position(generation, offset, 0)
            line = header.lines_before + _count_lines(fd, header.length, offset)
        return Position(generation, offset, line)

    def pending(self) -> bool:
        """True when the journal holds lines not merged yet (a hint: read without the lock)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            return os.fstat(fd).st_size > self._position(fd, quiet=True).offset
        finally:
            os.close(fd)

    def read(self, limit: int) -> Chunk:
        """About `limit` bytes of whole lines after the cursor (more when one line is longer)."""
        with self._locked() as fd:
            start = self._position(fd)
            size = os.fstat(fd).st_size
            data = os.pread(fd, min(size - start.offset, limit), start.offset)
            if b"\n" not in data and size - start.offset > limit:
                data = os.pread(fd, size - start.offset, start.offset)
        end = data.rfind(b"\n") + 1  # only whole lines: one being written is read next time
        lines = data[:end].split(b"\n")[:-1]
        after = Position(start.generation, start.offset + end, start.line + len(lines))
        return Chunk(start, lines, after, more=end > 0 and start.offset + len(data) < size)

    def advance(self, to: Position) -> bool:
        """Record that everything before `to` is merged, then compact if enough is; True if it compacted.

        Nothing is written when another process compacted the journal meanwhile (its cursor stands) or has
        merged further.
        """
        with self._locked() as fd:
            current = self._position(fd)
            if current.generation != to.generation or current.offset > to.offset:
                return False
            if current.offset < to.offset:
                _write_cursor(self.cursor, to)
            if to.offset - _header(fd).length < self.compact_bytes:
                return False
            self._compact(fd, to)
            return True

    def _compact(self, fd: int, merged: Position) -> None:
        """Replace the journal by a new generation holding only what follows `merged` (the lock is held)."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)  # left by a compaction that crashed before its rename
        size = os.fstat(fd).st_size
        tail = os.pread(fd, size - merged.offset, merged.offset)
        header = {"seclo_inbox_journal": 1, "generation": merged.generation + 1, "lines_before": merged.line}
        first = json.dumps(header, separators=(",", ":")).encode() + b"\n"
        write_bytes_atomic(self.path, first + tail)
        _fsync_directory(self.path.parent)  # the new journal is in place before the cursor points into it
        _write_cursor(self.cursor, Position(merged.generation + 1, len(first), merged.line))
        log.info("compacted the inbox journal: %d merged bytes removed", merged.offset)


def _write_cursor(cursor: Path, at: Position) -> None:
    write_text_atomic(cursor, f"{at.offset} {at.generation} {at.line}\n")


def _count_lines(fd: int, start: int, end: int, block: int = 1 << 20) -> int:
    """Newlines in bytes start..end of `fd` (for a cursor written before it counted lines)."""
    count = 0
    for offset in range(start, end, block):
        count += os.pread(fd, min(block, end - offset), offset).count(b"\n")
    return count


def _fsync_directory(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
