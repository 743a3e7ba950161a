"""Configuration and secrets (from the environment), `${name}` substitution, and redaction of secrets.

Substitution follows Chaos Toolkit: `${name}` is looked up in the configuration, then in every secrets scope,
and a string that is exactly one `${name}` takes the value's own type. seclo adds `${injection.id}` and
`${injection.time}` (ISO 8601, UTC, milliseconds), so a probe can match a detector's output to this injection
only. Unknown names are left as they are.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seclo.errors import ExperimentError
from seclo.experiments.model import EnvValue, Experiment
from seclo.secret_forms import encoded_forms, redact

__all__ = ["REDACTED", "Redactor", "Variables", "resolve_variables", "substitute"]

REDACTED = "***"
# Secrets this short are not looked for inside base64 runs: they would turn up by chance in what a run decodes to.
_BASE64_MIN = 4
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


def _convert(value: str, kind: str | None, key: str) -> Any:
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value.strip().lower() in {"1", "true", "yes", "on"}
        if kind == "json":
            return json.loads(value)
    except ValueError:
        raise ExperimentError(f"environment variable {key} is not a valid {kind}: {value!r}") from None
    return value


def _from_env(value: Any, what: str, env: Mapping[str, str]) -> Any:
    if not isinstance(value, EnvValue):
        return value
    if value.key in env:
        return _convert(env[value.key], value.env_var_type, value.key)
    if value.has_default:
        return value.default
    raise ExperimentError(
        f"{what} needs the environment variable {value.key}, which is not set",
        tip=f"export {value.key}=... before running the experiment",
    )


@dataclass(frozen=True, slots=True)
class Variables:
    """Resolved configuration and secrets, plus the injection's id and time once they are known."""

    configuration: Mapping[str, Any]
    secrets: Mapping[str, Mapping[str, Any]]
    injection: Mapping[str, str] = field(default_factory=dict)

    def with_injection(
        self, injection_id: str, injection_time: str | None = None, details: Mapping[str, str] | None = None
    ) -> Variables:
        """These variables with `${injection.id}` defined, and once injected `${injection.time}` and the
        fault's facts as `${injection.<name>}` (such as `${injection.port}` or `${injection.user}`)."""
        values = {f"injection.{k}": v for k, v in (details or {}).items()}
        values["injection.id"] = injection_id
        if injection_time is not None:
            values["injection.time"] = injection_time
        return Variables(self.configuration, self.secrets, values)

    def lookup(self, name: str) -> tuple[bool, Any]:
        """Whether `name` is defined, and its value."""
        if name in self.injection:
            return True, self.injection[name]
        if name in self.configuration:
            return True, self.configuration[name]
        for scope in self.secrets.values():
            if name in scope:
                return True, scope[name]
        return False, None

    def redactor(self) -> Redactor:
        """A redactor for every secret value, and every configuration value read from the environment."""
        values = {str(v) for scope in self.secrets.values() for v in scope.values() if v not in (None, "")}
        forms = {form for value in values for form in encoded_forms(value)}
        raw = {v.encode("utf-8", "surrogatepass") for v in values}
        return Redactor(
            tuple(sorted(forms, key=len, reverse=True)),
            tuple(sorted((r for r in raw if len(r) >= _BASE64_MIN), key=len, reverse=True)),
        )


def resolve_variables(experiment: Experiment, env: Mapping[str, str] | None = None) -> Variables:
    """Read the experiment's configuration and secrets, taking `type: env` values from the environment.

    Raises:
        ExperimentError: a variable without a default is not set, or does not convert to its declared type.
    """
    env = os.environ if env is None else env
    configuration = {
        k: _from_env(v, f"configuration key {k!r}", env) for k, v in experiment.configuration.items()
    }
    secrets = {
        scope: {k: _from_env(v, f"secret {scope}.{k}", env) for k, v in values.items()}
        for scope, values in experiment.secrets.items()
    }
    return Variables(configuration, secrets)


def substitute(data: Any, variables: Variables) -> Any:
    """`data` with every `${name}` replaced; the original is not changed."""
    if isinstance(data, str):
        whole = _PLACEHOLDER.fullmatch(data)
        if whole is not None:
            found, value = variables.lookup(whole.group(1))
            return value if found else data

        def one(match: re.Match[str]) -> str:
            found, value = variables.lookup(match.group(1))
            return str(value) if found else match.group(0)

        return _PLACEHOLDER.sub(one, data)
    if isinstance(data, Mapping):
        return {k: substitute(v, variables) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [substitute(v, variables) for v in data]
    return data


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces secret values wherever they appear, so they reach neither the journal nor the terminal.

    Attributes:
        secrets: every form of every secret to replace (as written, JSON-escaped, URL-encoded), longest first.
        encoded: the secrets' UTF-8 bytes, for base64 runs holding them (Basic auth headers), longest first.
    """

    secrets: tuple[str, ...]
    encoded: tuple[bytes, ...] = ()

    def text(self, text: str) -> str:
        """`text` with every secret replaced by ***."""
        if not self.secrets:
            return text
        return redact(text, dict.fromkeys(self.secrets, REDACTED), dict.fromkeys(self.encoded, REDACTED))

    def data(self, data: Any) -> Any:
        """A copy of JSON-like `data` with every secret in its strings (keys and values) replaced."""
        if not self.secrets:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.data(v) for v in data]
        if isinstance(data, int | float) and not isinstance(data, bool) and str(data) in self.secrets:
            return REDACTED
        return data
