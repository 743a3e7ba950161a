"""The options `seclo serve` and `seclo playbook listen` share: who may reach the HTTP server.

Secrets are read from files or the environment only: a value on the command line is visible to every user of
the machine (ps, /proc) and lands in shell histories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from seclo.server.auth import Credentials
    from seclo.workspace import Workspace

__all__ = ["HttpAccess", "http_access", "http_access_options"]

F = TypeVar("F", bound=Callable[..., Any])

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@dataclass(frozen=True, slots=True)
class HttpAccess:
    """The access options as given on the command line."""

    token_file: Path | None
    basic_auth_file: Path | None
    allow_host: tuple[str, ...]
    insecure_no_auth: bool

    def credentials(self, workspace: Workspace | None = None) -> Credentials | None:
        """The credentials to ask for: per secret, the command-line file, else what seclo.yaml's `serve.auth`
        names (a file, relative to the workspace, or an environment variable), else SECLO_SERVE_TOKEN /
        SECLO_SERVE_BASIC_AUTH.

        Raises:
            ConfigError: a file cannot be read, a variable seclo.yaml names is not set, or no usable secret.
        """
        from seclo.server.auth import load_credentials  # noqa: PLC0415

        token_file, basic_file = self.token_file, self.basic_auth_file
        token_env = basic_env = None
        if workspace is not None:
            auth = workspace.settings.serve.auth
            if token_file is None and auth.token_file is not None:
                token_file = workspace.resolve(auth.token_file)
            if basic_file is None and auth.basic_auth_file is not None:
                basic_file = workspace.resolve(auth.basic_auth_file)
            token_env, basic_env = auth.token_env, auth.basic_auth_env
        return load_credentials(token_file, basic_file, token_env=token_env, basic_auth_env=basic_env)

    def allowed_hosts(self, workspace: Workspace | None = None) -> tuple[str, ...]:
        """The Host names allowed: --allow-host when given, else seclo.yaml's `serve.allowed_hosts`."""
        if self.allow_host or workspace is None:
            return self.allow_host
        return tuple(workspace.settings.serve.allowed_hosts)


def http_access_options(func: F) -> F:
    """Add --auth-token-file, --basic-auth-file, --allow-host and --insecure-no-auth; pass them as `access`."""
    options = [
        click.option(
            "--auth-token-file",
            type=_FILE,
            help="File holding the bearer token requests must send (or set SECLO_SERVE_TOKEN).",
        ),
        click.option(
            "--basic-auth-file",
            type=_FILE,
            help="File holding USER:PASSWORD for HTTP basic auth (or set SECLO_SERVE_BASIC_AUTH).",
        ),
        click.option(
            "--allow-host",
            multiple=True,
            metavar="NAME",
            help="A Host name the server answers to besides its address (repeatable), e.g. behind a proxy.",
        ),
        click.option(
            "--insecure-no-auth",
            is_flag=True,
            help="Listen beyond 127.0.0.1 without authentication (only on a network you trust).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def http_access(
    auth_token_file: Path | None,
    basic_auth_file: Path | None,
    allow_host: tuple[str, ...],
    insecure_no_auth: bool,
) -> HttpAccess:
    """The options gathered in one value."""
    return HttpAccess(auth_token_file, basic_auth_file, allow_host, insecure_no_auth)
