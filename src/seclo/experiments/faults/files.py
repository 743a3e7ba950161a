"""Changing a file reversibly, and undoing only what the fault wrote.

Before the first write the original is backed up next to the state file, and the SHA-256 of what the fault
writes is recorded beside the backup (`<backup>.written`), both before the file changes. Rollback restores the
original only while the file still holds exactly what the fault wrote. A file edited (or deleted) after the
injection is kept as it is: the original is saved beside it as `FILE.seclo-original` (never replacing a file)
and the rollback raises RollbackConflictError, so that nobody's later edit is overwritten without a word.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from seclo.atomic import write_bytes_atomic, write_text_atomic
from seclo.experiments.context import RunContext
from seclo.experiments.faults.interface import FaultError, RollbackConflictError, Undo

__all__ = ["FileUndo", "plan_file", "read_text", "restore_file", "write_file"]

ORIGINAL_SUFFIX = ".seclo-original"


class FileUndo(Undo):
    """How to put a file back.

    Attributes:
        path: the file changed.
        backup: its original bytes, saved before the first change (absent: nothing was changed yet); the
            SHA-256 of what the fault wrote sits beside it in `<backup>.written`.
        existed: the file was there before; when not, rollback deletes it if it still holds what was written.
        marker: text the fault wrote into a file it created (how state files of older seclo versions, which
            recorded no hash, tell the created file).
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


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _written(undo: FileUndo) -> Path:
    return Path(undo.backup + ".written")


def write_file(undo: FileUndo, data: bytes) -> None:
    """Back up the original (once) and record the hash of `data`, then replace the file atomically, keeping
    its mode."""
    path, backup = Path(undo.path), Path(undo.backup)
    mode = None
    if undo.existed:
        if not backup.exists():
            write_bytes_atomic(backup, path.read_bytes())
        mode = path.stat().st_mode & 0o7777
    # Before the change: a run killed between the two leaves the original, which rollback recognises.
    write_text_atomic(_written(undo), _digest(data) + "\n")
    write_bytes_atomic(path, data)
    if mode is not None:
        os.chmod(path, mode)


def _forget(undo: FileUndo) -> None:
    Path(undo.backup).unlink(missing_ok=True)
    _written(undo).unlink(missing_ok=True)


def _save_original(path: Path, original: bytes, mode: int) -> Path:
    """Write `original` beside `path` as PATH.seclo-original (.1, .2... when taken), never replacing a file.

    Raises:
        FaultError: no free name was found.
    """
    for n in range(100):
        candidate = path.with_name(path.name + ORIGINAL_SUFFIX + (f".{n}" if n else ""))
        if candidate.exists():
            if candidate.is_file() and candidate.read_bytes() == original:
                return candidate  # saved by an earlier rollback of this run
            continue
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{candidate.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(original)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, candidate)  # atomic, and fails rather than replace a file made meanwhile
                return candidate
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise FaultError(f"cannot save the original of {path}: {path.name}{ORIGINAL_SUFFIX}.* are all taken")


def restore_file(undo: FileUndo) -> str:
    """Put the file back as it was if it still holds what the fault wrote; idempotent.

    Raises:
        RollbackConflictError: the file was changed or deleted after the injection; it is kept as it is, and the
            original (if there was one) is saved beside it.
    """
    path, backup, written = Path(undo.path), Path(undo.backup), _written(undo)
    recorded = written.read_text(encoding="ascii").strip() if written.exists() else None
    current = path.read_bytes() if path.is_file() else None
    if not undo.existed:
        if current is None:
            _forget(undo)
            return ""
        ours = (
            _digest(current) == recorded
            if recorded
            else bool(undo.marker) and undo.marker.encode() in current
        )
        if ours:
            path.unlink()
            _forget(undo)
            return f"removed {path}"
        _forget(undo)
        if recorded is None:
            return ""  # the fault never wrote it: someone else created this file
        raise RollbackConflictError(
            f"{path}, which the fault created, was changed after the injection, so it was kept; "
            "delete it by hand once its changes are not needed"
        )
    if not backup.exists():
        written.unlink(missing_ok=True)
        return ""  # the change was never made (or was undone already)
    original = backup.read_bytes()
    if current == original:
        _forget(undo)
        return ""  # put back already (by a remediation, or by hand)
    if current is not None and recorded is not None and _digest(current) == recorded:
        mode = path.stat().st_mode & 0o7777
        write_bytes_atomic(path, original)
        os.chmod(path, mode)
        _forget(undo)
        return f"restored {path}"
    mode = path.stat().st_mode & 0o7777 if current is not None else 0o600
    saved = _save_original(path, original, mode)
    _forget(undo)
    what = "deleted" if current is None else "changed"
    raise RollbackConflictError(
        f"{path} was {what} after the injection, so it was kept as it is; its original is saved as {saved}: "
        "merge them by hand (the fault's change may still be in it)"
    )


def read_text(path: Path) -> str:
    """A target file's text.

    Raises:
        FaultError: it cannot be read as UTF-8.
    """
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaultError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
