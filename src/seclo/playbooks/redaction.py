"""Secrets come from the environment and never leave seclo in clear: every text seclo records or prints about a
run passes through a Redactor first."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from seclo.errors import ConfigError

__all__ = ["Redactor", "load_secrets", "placeholder"]


def placeholder(name: str) -> str:
    """What a secret is replaced with in records and output."""
    return f"[secret {name}]"


def load_secrets(names: Iterable[str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Read the declared secrets from the environment.

    Raises:
        ConfigError: a declared secret is not set (its value is never part of the message).
    """
    source = os.environ if env is None else env
    values: dict[str, str] = {}
    for name in names:
        value = source.get(name)
        if not value:
            raise ConfigError(
                f"the secret {name} is not set in the environment", tip=f"export {name}=... before running"
            )
        values[name] = value
    return values


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces secret values (and their JSON- and URL-encoded forms) with `[secret NAME]`."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, secrets: Mapping[str, str]) -> Redactor:
        """A redactor for these name -> value secrets."""
        pairs: set[tuple[str, str]] = set()
        for name, value in secrets.items():
            if not value:
                continue
            for form in (value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)):
                pairs.add((form, name))
        # Longest first, so a secret that contains another is replaced whole.
        return cls(tuple(sorted(pairs, key=lambda p: (-len(p[0]), p))))

    def text(self, text: str) -> str:
        """`text` with every secret replaced."""
        for value, name in self.pairs:
            if value in text:
                text = text.replace(value, placeholder(name))
        return text

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value
