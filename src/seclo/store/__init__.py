"""The store: an embedded DuckDB database holding seclo's canonical tables."""

from seclo.store.connection import SCHEMA_VERSION, Store, open_store
from seclo.store.schema import TABLES, Column, TableSpec, table

__all__ = ["SCHEMA_VERSION", "TABLES", "Column", "Store", "TableSpec", "open_store", "table"]
