"""Importers: one module per source format, all behind the Importer interface and the shared pipeline."""

from seclo.importers.interface import Importer, ImportOptions, ImportResult, RejectedRow, Staged, Staging
from seclo.importers.pipeline import import_path
from seclo.importers.registry import available_importers, get_importer

__all__ = [
    "ImportOptions",
    "ImportResult",
    "Importer",
    "RejectedRow",
    "Staged",
    "Staging",
    "available_importers",
    "get_importer",
    "import_path",
]
