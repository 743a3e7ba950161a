"""Shared fixtures: a fresh store per test and the real sample files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from pinned_clock import PINNED_NOW_TEXT

from seclo.store import Store, open_store

FIXTURES = Path(__file__).parent / "fixtures"

# In CI, property tests draw the same examples every run, so a submission's result does not depend on luck;
# local runs keep exploring new examples (and the failures they find are kept in .hypothesis/).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every command a test runs (in-process or as a child process) takes PINNED_NOW as "now" by default."""
    monkeypatch.setenv("SECLO_NOW", PINNED_NOW_TEXT)
    return PINNED_NOW_TEXT


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
