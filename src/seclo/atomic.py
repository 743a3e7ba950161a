"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The temporary file comes from mkstemp, so a file is written 0600 (owner only) unless the caller says it is a
document for people or other programs (an HTML report, Prometheus rules, a workspace's starter files): then
it gets the mode any program gives a new file, 0666 less the umask (0644 under the usual 022). Journals,
state files and anything else that may hold sensitive data keep 0600.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["shared_mode", "write_bytes_atomic", "write_missing", "write_text_atomic"]


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (os.umask sets it to read it, and
    another thread creating a file meanwhile would get the wrong mode)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shared_mode() -> int:
    """The mode a new file gets from open(): 0666 less the umask."""
    return 0o666 & ~_umask()


def write_bytes_atomic(path: Path, data: bytes, *, shared: bool = False) -> None:
    """Write `data` to `path` through a temporary file in the same folder, then rename it into place.

    Args:
        path: the file to write.
        data: its new contents.
        shared: give the file the usual mode (0666 less the umask) instead of 0600: for documents that hold
            nothing sensitive and that people or other programs read (reports, rules, starter files).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if shared:
            os.fchmod(fd, shared_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, *, shared: bool = False) -> None:
    """Write UTF-8 `text` to `path` atomically (`shared` as for write_bytes_atomic)."""
    write_bytes_atomic(path, text.encode("utf-8"), shared=shared)


def write_missing(folder: Path, files: Mapping[str, str]) -> list[Path]:
    """Write each file name -> text into `folder` atomically with the usual mode (starter files a user
    edits), keeping any file that already exists.

    Returns:
        The files written.
    """
    written: list[Path] = []
    for name, text in files.items():
        path = folder / name
        if not path.exists():
            write_text_atomic(path, text, shared=True)
            written.append(path)
    return written
