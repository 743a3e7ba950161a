"""docs/data-model.md stays in step with the schema."""

from __future__ import annotations

from pathlib import Path

from seclo.store.datamodel_doc import render_data_model

DOC = Path(__file__).parents[2] / "docs" / "data-model.md"


def test_data_model_doc_is_current() -> None:
    """The checked-in data model documentation is what the schema renders (regenerate it if this fails)."""
    assert DOC.read_text(encoding="utf-8") == render_data_model(), (
        "run: python -m seclo.store.datamodel_doc > docs/data-model.md"
    )
