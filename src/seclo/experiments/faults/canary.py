"""`canary_credential`: a planted credential file that nobody should read or use; its keys carry the injection id."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal

from seclo.experiments.context import RunContext
from seclo.experiments.faults.files import FileUndo, plan_file, restore_file, write_file
from seclo.experiments.faults.interface import Fault, FaultParams, Undo, narrow
from seclo.experiments.targets import Target

__all__ = ["CanaryCredential", "CanaryCredentialParams"]


class CanaryCredentialParams(FaultParams):
    """Parameters of `canary_credential`."""

    kind: Literal["aws", "password"] = "aws"


def _content(kind: str, marker: str) -> tuple[str, str]:
    key = ("AKIA" + marker.upper().replace("-", ""))[:20].ljust(20, "X")
    if kind == "aws":
        body = (
            f"# seclo chaos canary {marker}: not a real credential\n[default]\n"
            f"aws_access_key_id = {key}\naws_secret_access_key = seclo-canary-{marker}\n"
        )
        return body, key
    return f"# seclo chaos canary {marker}: not a real credential\nadmin:seclo-canary-{marker}\n", marker


class CanaryCredential(Fault):
    """Create a fake credential file at a path that did not exist; rollback deletes it."""

    name: ClassVar[str] = "canary_credential"
    summary: ClassVar[str] = "A fake credential file planted at a new path (removed on rollback)."
    params: ClassVar[type[FaultParams]] = CanaryCredentialParams
    undo: ClassVar[type[Undo]] = FileUndo

    def targets(self, target: str, params: FaultParams, context: RunContext) -> tuple[Target, ...]:
        """The file to create."""
        return (Target("path", str(context.path(target))),)

    def plan(self, target: str, params: FaultParams, context: RunContext) -> Undo:
        """The file must not exist yet."""
        return plan_file(context.path(target), context, "canary", create=True)

    def inject(self, target: str, params: FaultParams, undo: Undo, context: RunContext) -> Mapping[str, str]:
        """Write the file, readable by its owner only."""
        p, file_undo = narrow(params, CanaryCredentialParams), narrow(undo, FileUndo)
        body, key = _content(p.kind, context.injection_id)
        write_file(file_undo, body.encode())
        Path(file_undo.path).chmod(0o600)
        return {"path": file_undo.path, "key": key}

    def rollback(self, undo: Undo) -> str:
        """Delete the file if it is still the canary."""
        return restore_file(narrow(undo, FileUndo))
