"""Finding and loading the playbook files of a workspace (playbooks/*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seclo.errors import ConfigError
from seclo.playbooks.model import Playbook
from seclo.userfile import load_model

__all__ = ["LoadedPlaybook", "load_playbooks"]


@dataclass(frozen=True, slots=True)
class LoadedPlaybook:
    """A validated playbook and the file it came from."""

    playbook: Playbook
    path: Path

    @property
    def name(self) -> str:
        """The playbook's metadata.name."""
        return self.playbook.name


def load_playbooks(folder: Path) -> tuple[LoadedPlaybook, ...]:
    """Load every *.yaml and *.yml file of `folder`, in name order; a missing folder holds none.

    Raises:
        ConfigError: a file is invalid (naming file, line and path), or two files share a playbook name.
    """
    if not folder.is_dir():
        return ()
    loaded: list[LoadedPlaybook] = []
    seen: dict[str, Path] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        playbook = load_model(path, Playbook)
        if playbook.name in seen:
            raise ConfigError(
                f"{path}: playbook {playbook.name!r} is already defined in {seen[playbook.name]}"
            )
        seen[playbook.name] = path
        loaded.append(LoadedPlaybook(playbook, path))
    return tuple(loaded)
