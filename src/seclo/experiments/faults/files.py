"""Changing a file reversibly: the original is backed up next to the state file before the first write."""

from __future__ import annotations

import os
from pathlib import Path

from seclo.atomic import write_bytes_atomic
from seclo.experiments.context import RunContext
from seclo.experiments.faults.interface import FaultError, Undo

__all__ = ["FileUndo", "plan_file", "read_text", "restore_file", "write_file"]


class FileUndo(Undo):
    """How to put a file back.

    Attributes:
        path: the file changed.
        backup: its original bytes, saved before the first change (absent: nothing was changed yet).
        existed: the file was there before; when not, rollback deletes it if it still holds `marker`.
        marker: text the fault wrote into a file it created.
    """

    path: str
    backup: str
    existed: bool
    marker: str = ""


def plan_file(path: Path, context: RunContext, role: str, *, create: bool = False) -> FileUndo:
    """Plan a change to `path` (a new file when `create`).

    Raises:
        FaultError: the file is missing (or, with `create`, already exists).
    """
    exists = path.exists()
    if create and exists:
        raise FaultError(f"{path} already exists; the fault creates it and will not overwrite a real file")
    if not create and not path.is_file():
        raise FaultError(f"{path}: file not found")
    backup = context.state_folder / f"{context.injection_id}-{role}.bak"
    return FileUndo(path=str(path), backup=str(backup), existed=exists, marker=context.injection_id)


def write_file(undo: FileUndo, data: bytes) -> None:
    """Back up the original (once), then replace the file's content atomically, keeping its mode."""
    path, backup = Path(undo.path), Path(undo.backup)
    mode = None
    if undo.existed:
        if not backup.exists():
            write_bytes_atomic(backup, path.read_bytes())
        mode = path.stat().st_mode & 0o7777
    write_bytes_atomic(path, data)
    if mode is not None:
        os.chmod(path, mode)


def restore_file(undo: FileUndo) -> str:
    """Put the file back as it was; idempotent."""
    path, backup = Path(undo.path), Path(undo.backup)
    if not undo.existed:
        if path.exists() and undo.marker and undo.marker.encode() in path.read_bytes():
            path.unlink()
            return f"removed {path}"
        return ""
    if not backup.exists():
        return ""  # the change was never made
    original = backup.read_bytes()
    done = ""
    if not path.exists() or path.read_bytes() != original:
        mode = path.stat().st_mode & 0o7777 if path.exists() else None
        write_bytes_atomic(path, original)
        if mode is not None:
            os.chmod(path, mode)
        done = f"restored {path}"
    backup.unlink()
    return done


def read_text(path: Path) -> str:
    """A target file's text.

    Raises:
        FaultError: it cannot be read as UTF-8.
    """
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaultError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
