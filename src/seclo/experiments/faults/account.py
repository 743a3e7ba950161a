"""`inventory_account`: an account without MFA, or whose owner has left, added to an inventory.

The inventory is a CSV or JSON file an importer or a detector reads, or the store itself (target `store`),
where the fault adds a new accounts snapshot: the latest one plus the risky account.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from seclo.errors import StoreError
from seclo.experiments.context import RunContext
from seclo.experiments.faults.files import FileUndo, plan_file, read_text, restore_file, write_file
from seclo.experiments.faults.interface import Fault, FaultError, FaultParams, Undo, narrow
from seclo.experiments.targets import Target
from seclo.store.connection import open_store
from seclo.store.sql import changed, run

__all__ = ["InventoryAccount", "InventoryAccountParams", "StoreAccountUndo"]

# Rows the fault writes into the store carry this batch id, which no import ever uses.
EXPERIMENT_BATCH = -1


class InventoryAccountParams(FaultParams):
    """Parameters of `inventory_account`."""

    issue: Literal["no_mfa", "owner_left"] = "no_mfa"
    user: str = "chaos-${injection.id}"
    owner: str = "chaos-owner@example.invalid"
    type: Literal["human", "service", "admin", "shared", "other"] = "human"


class StoreAccountUndo(Undo):
    """The accounts snapshot the fault added to the store."""

    store: str
    snapshot_time: str
    account_id: str


def _account(params: InventoryAccountParams, now: datetime) -> dict[str, Any]:
    return {
        "snapshot_time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "account_id": params.user,
        "user": params.user,
        "type": params.type,
        "owner": params.owner,
        "owner_active": params.issue != "owner_left",
        "mfa_enabled": params.issue != "no_mfa",
        "disabled": False,
        "last_login": None,
    }


def _csv_with(text: str, account: dict[str, Any]) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise FaultError("the CSV inventory has no header row")
    header = rows[0]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    values = {
        k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in account.items()
    }
    writer.writerow([values.get(column, "") for column in header])
    return text + ("" if text.endswith("\n") or not text else "\n") + out.getvalue()


def _json_with(text: str, account: dict[str, Any]) -> str:
    data = json.loads(text)
    if isinstance(data, list):
        data.append(account)
    elif isinstance(data, dict) and isinstance(data.get("accounts"), list):
        data["accounts"].append(account)
    else:
        raise FaultError("a JSON inventory must be a list of accounts or an object with an `accounts` list")
    return json.dumps(data, indent=2) + "\n"


class InventoryAccount(Fault):
    """Add a risky account to an inventory file (CSV, JSON) or to the store."""

    name: ClassVar[str] = "inventory_account"
    summary: ClassVar[str] = (
        "An account without MFA, or whose owner has left, added to an inventory file or the store."
    )
    params: ClassVar[type[FaultParams]] = InventoryAccountParams
    undo: ClassVar[type[Undo]] = FileUndo

    def _path(self, target: str, context: RunContext) -> Path:
        return context.store_path.resolve() if target == "store" else context.path(target)

    def targets(self, target: str, params: FaultParams, context: RunContext) -> tuple[Target, ...]:
        """The inventory file, or the store file."""
        path = self._path(target, context)
        if target != "store" and path.suffix.lower() not in {".csv", ".json"}:
            raise ValueError(f"{target!r} is not a .csv or .json inventory, nor `store`")
        return (Target("path", str(path)),)

    def plan(self, target: str, params: FaultParams, context: RunContext) -> Undo:
        """A backup of the file, or the snapshot time the store rows will carry."""
        p = narrow(params, InventoryAccountParams)
        if target == "store":
            now = datetime.now(UTC).replace(tzinfo=None)
            return StoreAccountUndo(
                store=str(context.store_path), snapshot_time=now.isoformat(), account_id=p.user
            )
        return plan_file(self._path(target, context), context, "inventory")

    def inject(self, target: str, params: FaultParams, undo: Undo, context: RunContext) -> Mapping[str, str]:
        """Append the account."""
        p = narrow(params, InventoryAccountParams)
        if isinstance(undo, StoreAccountUndo):
            self._inject_store(p, undo)
            return {"user": p.user, "issue": p.issue}
        file_undo = narrow(undo, FileUndo)
        path = Path(file_undo.path)
        text = read_text(path)
        account = _account(p, datetime.now(UTC))
        try:
            new = _csv_with(text, account) if path.suffix.lower() == ".csv" else _json_with(text, account)
        except json.JSONDecodeError as exc:
            raise FaultError(f"{path}: not valid JSON ({exc})") from None
        write_file(file_undo, new.encode())
        return {"user": p.user, "issue": p.issue}

    def _inject_store(self, p: InventoryAccountParams, undo: StoreAccountUndo) -> None:
        at = datetime.fromisoformat(undo.snapshot_time)
        try:
            with open_store(Path(undo.store)) as store, store.transaction() as conn:
                run(
                    conn,
                    """INSERT INTO accounts (snapshot_time, account_id, "user", "type", "owner", owner_active,
                         mfa_enabled, disabled, last_login, batch_id)
                       SELECT ?, account_id, "user", "type", "owner", owner_active, mfa_enabled, disabled,
                              last_login, ?
                       FROM accounts
                       WHERE snapshot_time = (SELECT max(snapshot_time) FROM accounts)""",
                    [at, EXPERIMENT_BATCH],
                )
                run(
                    conn,
                    'INSERT INTO accounts (snapshot_time, account_id, "user", "type", "owner", owner_active, '
                    "mfa_enabled, disabled, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, false, ?)",
                    [
                        at,
                        p.user,
                        p.user,
                        p.type,
                        p.owner,
                        p.issue != "owner_left",
                        p.issue != "no_mfa",
                        EXPERIMENT_BATCH,
                    ],
                )
        except StoreError as exc:
            raise FaultError(f"cannot add the account to the store: {exc}") from None

    def load_undo(self, data: Mapping[str, Any]) -> Undo:
        """A store snapshot record, or a file record."""
        return (StoreAccountUndo if "snapshot_time" in data else FileUndo).model_validate(dict(data))

    def rollback(self, undo: Undo) -> str:
        """Restore the file, or delete the snapshot from the store."""
        if isinstance(undo, StoreAccountUndo):
            with open_store(Path(undo.store)) as store, store.transaction() as conn:
                removed = changed(
                    conn,
                    "DELETE FROM accounts WHERE snapshot_time = ? AND batch_id = ?",
                    [datetime.fromisoformat(undo.snapshot_time), EXPERIMENT_BATCH],
                )
            return f"removed the {removed}-account snapshot from the store" if removed else ""
        return restore_file(narrow(undo, FileUndo))
