"""seclo: Site Reliability Engineering for security.

Security level objectives over the data a team already has, security chaos experiments, automation playbooks
and risk quantification, on an embedded DuckDB store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seclo.errors import ConfigError, InputError, SecloError, StoreError
from seclo.lazy import lazy_attributes

if TYPE_CHECKING:
    from seclo.importers import ImportOptions, ImportResult, get_importer, import_path
    from seclo.store import Store, open_store
    from seclo.workspace import Workspace, init_workspace

__all__ = [
    "ConfigError",
    "ImportOptions",
    "ImportResult",
    "InputError",
    "SecloError",
    "Store",
    "StoreError",
    "Workspace",
    "__version__",
    "get_importer",
    "import_path",
    "init_workspace",
    "open_store",
]

__version__ = "0.1.0"

# The rest of the public API is imported on first use (PEP 562): importing seclo, as every CLI command does,
# then does not load DuckDB, pydantic and every importer up front.
_LAZY = {
    "ImportOptions": "seclo.importers",
    "ImportResult": "seclo.importers",
    "get_importer": "seclo.importers",
    "import_path": "seclo.importers",
    "Store": "seclo.store",
    "open_store": "seclo.store",
    "Workspace": "seclo.workspace",
    "init_workspace": "seclo.workspace",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
