"""How the engine reaches the store: kept open by the caller, or opened for each use.

`seclo playbook ...` and the tests hand the engine a store they keep open: DuckDB's file lock then keeps every
other process out, so the engine's in-memory view (claimed occurrences, recent runs) is the whole truth.
`seclo serve` must leave the store free between uses (its refresh worker and `seclo import` open it too), so
its engine opens the store for each use, under a lock shared with the refresher.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol

from seclo.store import Store, open_store

if TYPE_CHECKING:
    from seclo.workspace import Workspace

__all__ = ["HeldStore", "StoreAccess", "WorkspaceStore"]


class StoreAccess(Protocol):
    """The store, for one block of work at a time."""

    def use(self) -> AbstractContextManager[Store]:
        """The store for a block of reads and writes in the calling thread."""

    def writer(self) -> AbstractContextManager[Store]:
        """The store for one batch of the recorder's thread."""


class HeldStore:
    """A store the caller keeps open (and closes after the engine)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()  # one DuckDB connection is not for concurrent use

    @contextmanager
    def use(self) -> Iterator[Store]:
        """The store, with its connection to this thread alone."""
        with self.lock:
            yield self.store

    @contextmanager
    def writer(self) -> Iterator[Store]:
        """A second connection to the same database, so commits never wait for readers of the first."""
        cursor = self.store.conn.cursor()
        try:
            yield Store(cursor, self.store.path)
        finally:
            cursor.close()


class WorkspaceStore:
    """The workspace's store, opened for writing for each use and closed after it.

    Args:
        workspace: whose store.
        gate: held while the store is open; the refresher of `seclo serve` holds it too, so the two never
            lock each other out.
    """

    def __init__(self, workspace: Workspace, gate: threading.Lock | threading.RLock | None = None) -> None:
        self.workspace = workspace
        self.gate = gate or threading.RLock()

    @contextmanager
    def use(self) -> Iterator[Store]:
        """Open the store (StoreError when another process holds it) and close it after the block."""
        settings = self.workspace.settings.store
        with (
            self.gate,
            open_store(
                self.workspace.store_path, memory_limit=settings.memory_limit, threads=settings.threads
            ) as store,
        ):
            yield store

    def writer(self) -> AbstractContextManager[Store]:
        """The same as `use`."""
        return self.use()
