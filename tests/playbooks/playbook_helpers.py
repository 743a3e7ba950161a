"""Helpers for playbook tests: write playbook files, build a runner, an Alertmanager payload."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from seclo.playbooks import PlaybookRunner, load_playbooks
from seclo.store import Store
from seclo.workspace import Workspace, init_workspace


def playbook(name: str, trigger: str, steps: str, *, mode: str = "automatic", extra: str = "") -> str:
    """A playbook file; `trigger` is a YAML flow mapping, `steps` YAML list items indented by four spaces."""
    return f"""\
apiVersion: seclo/v1
kind: Playbook
metadata: {{name: {name}}}
spec:
  mode: {mode}
  trigger: {trigger}
{extra}  steps:
{steps}"""


def workspace(root: Path, files: dict[str, str]) -> Workspace:
    """A workspace at `root` with these playbook files only (init's starter playbooks removed)."""
    init_workspace(root)
    for starter in (root / "playbooks").glob("*.yaml"):
        starter.unlink()
    for name, text in files.items():
        (root / "playbooks" / name).write_text(text, encoding="utf-8")
    return Workspace.open(root)


def runner(ws: Workspace, store: Store, env: dict[str, str] | None = None) -> PlaybookRunner:
    """A runner over the workspace's playbooks."""
    return PlaybookRunner(ws, store, load_playbooks(ws.root / "playbooks"), env=env or {})


def alert(labels: dict[str, str], *, fingerprint: str = "fp1", status: str = "firing") -> dict[str, Any]:
    """An Alertmanager v4 webhook payload with one alert."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="x"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "seclo",
        "groupLabels": {},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "test"},
                "startsAt": "2026-11-23T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": fingerprint,
            }
        ],
    }


def rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """All rows of a query."""
    return store.conn.execute(sql).fetchall()


class Clock:
    """A pinned clock the test moves by hand (a PlaybookRunner's `clock`)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, 0)

    def __call__(self) -> datetime:
        return self.now
