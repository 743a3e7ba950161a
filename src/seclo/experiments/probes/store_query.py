"""`store_query`: a read-only query against the seclo store returns rows (or none)."""

from __future__ import annotations

from typing import ClassVar, Literal

from seclo.errors import SecloError
from seclo.experiments.context import RunContext
from seclo.experiments.probes.interface import Observation, Probe, ProbeParams, narrow
from seclo.query import run_query
from seclo.store.connection import open_store

__all__ = ["StoreQuery", "StoreQueryParams"]


class StoreQueryParams(ProbeParams):
    """Arguments of `store_query`."""

    sql: str
    expect: Literal["rows", "no_rows"] = "rows"


class StoreQuery(Probe):
    """Run read-only SQL over the workspace's store; ok when it returns rows (or none, with `no_rows`)."""

    name: ClassVar[str] = "store_query"
    summary: ClassVar[str] = "A read-only SQL query against the seclo store returns rows (or no rows)."
    params: ClassVar[type[ProbeParams]] = StoreQueryParams

    def check(self, params: ProbeParams, baseline: object, context: RunContext) -> Observation:
        """Open the store read-only and sandboxed (the SQL may read its tables only), query, close."""
        p = narrow(params, StoreQueryParams)
        try:
            with open_store(context.store_path, sandboxed=True) as store:
                result = run_query(store, p.sql, limit=1)
        except SecloError as exc:
            return Observation(False, f"store query failed: {exc}")
        has_rows = bool(result.rows)
        ok = has_rows if p.expect == "rows" else not has_rows
        first = [str(v) for v in result.rows[0]] if result.rows else None
        return Observation(ok, "the query returned rows" if has_rows else "the query returned no rows", first)
