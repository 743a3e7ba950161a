"""What faults and probes may know about the run they are part of."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunContext"]


@dataclass(frozen=True, slots=True)
class RunContext:
    """The workspace a run belongs to, and the injection it is making.

    Attributes:
        root: the workspace folder (relative paths in experiments are resolved against it).
        store_path: the workspace's store.
        state_folder: where faults keep backups and pid files for rollback and recovery.
        injection_id: the unique id of this injection (also `${injection.id}`).
        ttl: seconds after which anything a fault leaves running must stop by itself, even if the runner dies.
    """

    root: Path
    store_path: Path
    state_folder: Path
    injection_id: str = ""
    ttl: float = 900.0

    def path(self, text: str) -> Path:
        """`text` as an absolute path, relative paths being relative to the workspace."""
        path = Path(text).expanduser()
        return (path if path.is_absolute() else self.root / path).resolve()
