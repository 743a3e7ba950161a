"""The workspace: a folder holding seclo.yaml, the store and the user's objectives, experiments and playbooks."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from seclo.atomic import write_text_atomic
from seclo.errors import ConfigError
from seclo.experiments.starter import write_starter_experiments
from seclo.risk.starter import write_starter_scenarios
from seclo.slo.starter import write_starter_slos
from seclo.userfile import load_model

__all__ = [
    "CONFIG_NAME",
    "SUBFOLDERS",
    "AllowSettings",
    "ExperimentSettings",
    "PrometheusSettings",
    "ServeAuthSettings",
    "ServeSettings",
    "Settings",
    "StoreSettings",
    "Workspace",
    "init_workspace",
]

CONFIG_NAME = "seclo.yaml"
SUBFOLDERS = ("slos", "experiments", "playbooks", "risk")
ENV_VAR = "SECLO_WORKSPACE"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Strict):
    """Where the store lives and how much of the machine it may use."""

    path: str = ".seclo/store.duckdb"
    memory_limit: str = "1536MB"
    threads: int | None = Field(default=None, ge=1)


class SlaDays(_Strict):
    """Days allowed to fix a finding, per severity (DefectDojo's defaults); at most 36500 (100 years): the
    store adds them to each finding's opening time, and a date past year 9999 stops every SLA query."""

    critical: int = Field(default=7, ge=1, le=36500)
    high: int = Field(default=30, ge=1, le=36500)
    medium: int = Field(default=90, ge=1, le=36500)
    low: int = Field(default=120, ge=1, le=36500)


class AllowSettings(_Strict):
    """What security chaos experiments may touch; anything else makes an experiment refuse to start."""

    hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1", "localhost"])
    ports: list[str] = Field(default_factory=lambda: ["1024-65535"])
    paths: list[str] = Field(default_factory=lambda: ["."])

    @field_validator("ports", mode="before")
    @classmethod
    def _port_ranges(cls, value: object) -> object:
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            text = str(item)
            low, _, high = text.partition("-")
            if (
                not low.isdigit()
                or (high and not high.isdigit())
                or not 0 < int(low) <= int(high or low) < 65536
            ):
                raise ValueError(f"{text!r} is not a port or a range of ports such as 18000-18999")
            out.append(text)
        return out


class ExperimentSettings(_Strict):
    """Security chaos experiments: the allowlist, and where journals and state files go."""

    allow: AllowSettings = AllowSettings()
    folder: str = Field(default=".seclo/experiments", description="Journals and state files.")


class PrometheusSettings(_Strict):
    """The Prometheus server that SLOs with a `prometheus` metric source query (unless a DataSource names one)."""

    url: str = Field(default="http://127.0.0.1:9090", pattern=r"^https?://")
    timeout_seconds: float = Field(default=30.0, gt=0)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _no_secret(value: object) -> object:
    if value is not None:
        raise PydanticCustomError(
            "secret_in_config",
            "seclo.yaml never holds a secret: name a file (token_file, basic_auth_file) or an environment "
            "variable (token_env, basic_auth_env) holding it",
        )
    return value


def _env_name(value: object) -> object:
    if value is not None and not (isinstance(value, str) and _ENV_NAME.fullmatch(value)):
        # The value is not echoed: whoever writes a token where its variable's name goes has written a secret.
        raise PydanticCustomError(
            "secret_in_config", "expected the name of an environment variable, such as SECLO_SERVE_TOKEN"
        )
    return value


class ServeAuthSettings(_Strict):
    """Where `seclo serve` and `seclo playbook listen` find the credentials requests must present.

    Only where: a file (relative to the workspace) or an environment variable. A secret written here is
    refused (`token`, `password`...): seclo.yaml is shared, committed and shown in error messages.
    """

    token_file: str | None = None
    token_env: str | None = None
    basic_auth_file: str | None = None
    basic_auth_env: str | None = None
    token: None = None
    password: None = None
    basic_auth: None = None
    credentials: None = None

    _secret_fields = field_validator("token", "password", "basic_auth", "credentials", mode="before")(
        _no_secret
    )
    _env_fields = field_validator("token_env", "basic_auth_env", mode="before")(_env_name)


class ServeSettings(_Strict):
    """Who may reach `seclo serve` and `seclo playbook listen`; their command-line options override these."""

    auth: ServeAuthSettings = ServeAuthSettings()
    allowed_hosts: list[str] = Field(default_factory=list)


class Settings(_Strict):
    """The contents of seclo.yaml."""

    apiVersion: str = "seclo/v1"  # noqa: N815 - Kubernetes-style field name users write
    kind: str = "Workspace"
    timezone: str = "UTC"
    store: StoreSettings = StoreSettings()
    sla_days: SlaDays = SlaDays()
    experiments: ExperimentSettings = ExperimentSettings()
    prometheus: PrometheusSettings = PrometheusSettings()
    serve: ServeSettings = ServeSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


DEFAULT_CONFIG = """\
# seclo workspace settings. Every key is optional; these are the defaults.
apiVersion: seclo/v1
kind: Workspace
# Time zone for log lines that carry none (syslog) and for calendar windows.
timezone: UTC
store:
  # The embedded DuckDB file, relative to this folder.
  path: .seclo/store.duckdb
  # DuckDB's own limit; seclo's whole process stays about 0.5 GB above it. Spills to .seclo/tmp beyond.
  memory_limit: 1536MB
# Days allowed to fix a finding, per severity.
sla_days:
  critical: 7
  high: 30
  medium: 90
  low: 120
# Security chaos experiments refuse to touch anything not allowed here (paths are relative to this folder).
experiments:
  allow:
    hosts: [127.0.0.1, "::1", localhost]
    ports: ["1024-65535"]
    paths: ["."]
# The Prometheus that SLOs with a `prometheus` metric source query (a DataSource's connectionDetails.url
# overrides it). Its HTTP API is read with query_range; see docs/prometheus.md.
prometheus:
  url: http://127.0.0.1:9090
  timeout_seconds: 30
# Who may reach `seclo serve` and `seclo playbook listen` (their options override these). Name a file
# (relative to this folder) or an environment variable holding each secret, never the secret itself.
# serve:
#   auth: {token_file: .seclo/serve-token, basic_auth_env: SECLO_SERVE_BASIC_AUTH}
#   allowed_hosts: [seclo.example.org]
"""


@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace folder and its settings."""

    root: Path
    settings: Settings

    def resolve(self, text: str) -> Path:
        """A path from seclo.yaml, resolved against the workspace root."""
        path = Path(text).expanduser()
        return (path if path.is_absolute() else self.root / path).resolve()

    @property
    def experiments_folder(self) -> Path:
        """Where experiment journals and state files are kept."""
        return self.resolve(self.settings.experiments.folder)

    @property
    def store_path(self) -> Path:
        """The DuckDB file, resolved against the workspace root."""
        path = Path(self.settings.store.path).expanduser()
        return path if path.is_absolute() else self.root / path

    @classmethod
    def open(cls, root: Path | None = None) -> Workspace:
        """Open the workspace at `root`, else $SECLO_WORKSPACE, else the current directory.

        A folder without seclo.yaml is a workspace with default settings, so one-off commands work anywhere.
        """
        if root is None:
            env = os.environ.get(ENV_VAR)
            root = Path(env) if env else Path.cwd()
        root = root.expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise ConfigError(f"{root}: the workspace must be a folder, not a file")
        config = root / CONFIG_NAME
        settings = load_model(config, Settings) if config.exists() else Settings()
        return cls(root=root, settings=settings)


def init_workspace(root: Path) -> list[Path]:
    """Create a workspace at `root`: seclo.yaml, the standard folders and the starter files in them (SecLOs,
    experiments with the example detector, playbooks, risk scenarios).

    Existing files are kept.

    Returns:
        The paths that were created.
    """
    root = root.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: exists and is not a folder")
    created: list[Path] = []
    if not root.exists():
        root.mkdir(parents=True)
        created.append(root)
    config = root / CONFIG_NAME
    if not config.exists():
        write_text_atomic(config, DEFAULT_CONFIG, shared=True)
        created.append(config)
    for name in SUBFOLDERS:
        folder = root / name
        if not folder.exists():
            folder.mkdir()
            created.append(folder)
    created += write_starter_slos(root / "slos")
    created += write_starter_experiments(root / "experiments")
    # Imported here: seclo.playbooks loads the whole engine (the store, HTTP), which only `init` should pay for.
    from seclo.playbooks.starter import write_starter_playbooks  # noqa: PLC0415

    created += write_starter_playbooks(root / "playbooks")
    created += write_starter_scenarios(root / "risk")
    return created
