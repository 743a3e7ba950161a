"""Who may talk to seclo's HTTP server: the Host names it answers to, and the credentials it asks for.

Authentication is what Alertmanager's (and Prometheus') `http_config` can send: a bearer token
(`authorization: {type: Bearer, credentials_file: ...}`) and HTTP basic auth (`basic_auth: {username,
password_file}`). The expected secrets come from a file or an environment variable, never from a
command-line value (which `ps` shows to every user of the machine). Both are compared in constant time.

The Host header is checked against the names the server answers to, so a web page whose DNS name is
rebound to 127.0.0.1 cannot reach it (DNS rebinding): on loopback those are localhost, 127.0.0.1 and ::1;
on a specific address, that address; on a wildcard address (0.0.0.0, ::) any name unless a list is given.
Names in `allowed_hosts` are added in every case.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from seclo.errors import ConfigError

__all__ = [
    "BASIC_ENV",
    "TOKEN_ENV",
    "AccessPolicy",
    "Credentials",
    "access_policy",
    "is_loopback",
    "load_credentials",
]

TOKEN_ENV = "SECLO_SERVE_TOKEN"  # noqa: S105 - the name of the variable, not a secret
BASIC_ENV = "SECLO_SERVE_BASIC_AUTH"
_HOST = re.compile(r"(?:\[([0-9a-f:.]+)\]|([^:\[\]@/\s]+))(?::[0-9]{1,5})?")
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - the names of "every address", not a bind


@dataclass(frozen=True, slots=True)
class Credentials:
    """The secrets a request may present: a bearer token, `user:password` for basic auth, or both."""

    token: bytes | None = None
    basic: bytes | None = None

    def __repr__(self) -> str:  # never show the secrets in a log or a traceback
        return f"Credentials(token={'set' if self.token else None}, basic={'set' if self.basic else None})"

    def challenges(self) -> list[str]:
        """The WWW-Authenticate values of a 401: one per scheme configured."""
        out = []
        if self.token is not None:
            out.append('Bearer realm="seclo"')
        if self.basic is not None:
            out.append('Basic realm="seclo", charset="UTF-8"')
        return out

    def accepts(self, authorization: bytes | None) -> bool:
        """True when an Authorization header value carries one of the configured secrets."""
        if not authorization:
            return False
        scheme, _, value = authorization.strip().partition(b" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == b"bearer" and self.token is not None:
            return hmac.compare_digest(value, self.token)
        if scheme == b"basic" and self.basic is not None:
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(decoded, self.basic)
        return False


def _secret_file(path: Path, what: str) -> bytes:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None
    # Prometheus' http_config trims the whitespace around a credentials file; do the same on this side.
    return text.strip()


def _basic(value: bytes, where: str) -> bytes:
    user, colon, password = value.partition(b":")
    if not colon or not user or not password:
        raise ConfigError(
            f"{where} must hold USER:PASSWORD on one line",
            tip="Write the user name, a colon and the password, as Alertmanager's basic_auth sends them.",
        )
    if b"\n" in value:
        raise ConfigError(f"{where} must hold USER:PASSWORD on one line")
    return value


def _named_env(env: Mapping[str, str], name: str | None, default: str) -> tuple[bytes | None, str]:
    """The secret in the variable `name` (which must be set), else in `default` (if set)."""
    if name is not None:
        if not env.get(name, "").strip():
            raise ConfigError(
                f"the environment variable {name} (named in seclo.yaml serve.auth) is not set or empty",
                tip="Set it before starting, or remove it from seclo.yaml.",
            )
        return env[name].strip().encode(), name
    value = env.get(default, "").strip()
    return (value.encode() if value else None), default


def load_credentials(
    token_file: Path | None = None,
    basic_auth_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    token_env: str | None = None,
    basic_auth_env: str | None = None,
) -> Credentials | None:
    """The credentials the server asks for, or None when none are configured.

    Args:
        token_file: a file holding the bearer token; else the environment variable `token_env`.
        basic_auth_file: a file holding `USER:PASSWORD`; else the environment variable `basic_auth_env`.
        env: the environment (os.environ by default).
        token_env, basic_auth_env: variables that must be set (seclo.yaml named them); None: the optional
            SECLO_SERVE_TOKEN and SECLO_SERVE_BASIC_AUTH.

    Raises:
        ConfigError: a file cannot be read, a named variable is not set, or a secret is empty or malformed.
    """
    env = os.environ if env is None else env
    token: bytes | None = None
    if token_file is not None:
        token = _secret_file(token_file, "token")
        where = f"the token file {token_file}"
    else:
        token, where = _named_env(env, token_env, TOKEN_ENV)
    if token is not None and (not token or b"\n" in token or b" " in token):
        raise ConfigError(f"{where} must hold one token: no spaces, no line breaks, not empty")
    basic: bytes | None = None
    if basic_auth_file is not None:
        basic = _basic(_secret_file(basic_auth_file, "basic auth"), f"the basic auth file {basic_auth_file}")
    else:
        value, name = _named_env(env, basic_auth_env, BASIC_ENV)
        basic = None if value is None else _basic(value, name)
    return None if token is None and basic is None else Credentials(token, basic)


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """What the HTTP server checks on every request, before any route sees it.

    Attributes:
        credentials: the secrets asked for; None: no authentication.
        protect_reads: GET and HEAD need the credentials too (bound beyond loopback).
        hosts: the Host names answered (lower case, IPv6 without brackets); None: any.
        max_body: the largest request body accepted, in bytes.
    """

    credentials: Credentials | None = None
    protect_reads: bool = False
    hosts: frozenset[str] | None = _LOOPBACK_NAMES
    max_body: int = 10 * 1024 * 1024

    def host_allowed(self, header: bytes | None) -> bool:
        """True when a Host header names this server (the port is not compared)."""
        if header is None:
            return False
        if self.hosts is None:
            return True
        # name, [v6] or either followed by :port (digits only: `127.0.0.1:x@evil` names no port of ours)
        match = _HOST.fullmatch(header.decode("latin-1").strip().lower())
        return match is not None and (match[1] or match[2]) in self.hosts

    def needs_credentials(self, method: str) -> bool:
        """True when a request with this method must authenticate."""
        if self.credentials is None:
            return False
        return self.protect_reads or method not in {"GET", "HEAD"}


def access_policy(
    host: str,
    credentials: Credentials | None,
    *,
    allowed_hosts: Iterable[str] = (),
    insecure_no_auth: bool = False,
    max_body: int = 10 * 1024 * 1024,
) -> AccessPolicy:
    """The policy of a server bound to `host`.

    On loopback, reads stay open and writes need the credentials when there are any. Beyond loopback every
    request needs them, and there must be some unless `insecure_no_auth` says the network is trusted.

    Raises:
        ConfigError: bound beyond loopback without credentials and without `insecure_no_auth`.
    """
    bound = host.strip("[]").lower()
    extra = frozenset(h.strip().strip("[]").lower() for h in allowed_hosts if h.strip())
    loopback = is_loopback(bound)
    if not loopback and credentials is None and not insecure_no_auth:
        raise ConfigError(
            f"refusing to listen on {host} without authentication: anyone who can reach it could post alerts "
            "that run playbooks",
            tip=f"Set {TOKEN_ENV} or use --auth-token-file / --basic-auth-file (see docs/prometheus.md), "
            "or pass --insecure-no-auth on a network you trust.",
        )
    hosts: frozenset[str] | None
    if loopback:
        hosts = _LOOPBACK_NAMES | {bound} | extra
    elif bound in _WILDCARDS:
        hosts = (_LOOPBACK_NAMES | extra) if extra else None
    else:
        hosts = frozenset({bound}) | extra
    return AccessPolicy(
        credentials=credentials,
        protect_reads=not loopback and credentials is not None,
        hosts=hosts,
        max_body=max_body,
    )
