"""Shared fixtures: a fresh store per test and the real sample files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seclo.store import Store, open_store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    """The folder of real sample files (see tests/fixtures/README.md)."""
    return FIXTURES


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new, migrated store in a temporary folder."""
    opened = open_store(tmp_path / "store.duckdb")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def fuzz_store() -> Iterator[Store]:
    """One in-memory store shared by a module's fuzzing examples (each import is checked on its own batch)."""
    opened = open_store(None)
    try:
        yield opened
    finally:
        opened.close()
