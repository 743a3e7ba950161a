"""seclo: Site Reliability Engineering for security.

Security level objectives over the data a team already has, security chaos experiments, automation playbooks
and risk quantification, on an embedded DuckDB store.
"""

from seclo.errors import ConfigError, InputError, SecloError, StoreError
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
