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

    def credentials(self) -> Credentials | None:
        """The credentials to ask for (files first, then SECLO_SERVE_TOKEN / SECLO_SERVE_BASIC_AUTH).

        Raises:
            ConfigError: a file cannot be read or holds no usable secret.
        """
        from seclo.server.auth import load_credentials  # noqa: PLC0415

        return load_credentials(self.token_file, self.basic_auth_file)


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
