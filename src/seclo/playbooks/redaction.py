"""Secrets come from the environment and never leave seclo in clear: every text seclo records or prints about a
run passes through a Redactor first, in full: a text is redacted before it is cut short (`clip`), since a cut
through a secret leaves a part no redactor recognises. The forms redacted are in seclo.secret_forms (as written,
JSON-escaped, URL-encoded, and base64 of any text holding it, such as a Basic `Authorization` header)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from seclo.errors import ConfigError
from seclo.secret_forms import encoded_forms, redact

__all__ = ["Redactor", "load_secrets", "placeholder"]

_BASE64_MIN = 4


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
    """Replaces secret values (and their JSON-, URL- and base64-encoded forms) with `[secret NAME]`."""

    pairs: tuple[tuple[str, str], ...] = ()
    # Each secret's UTF-8 bytes -> its placeholder, for base64 runs (secrets of 4 bytes or more: a shorter one
    # would turn up by chance in the bytes any long base64 run decodes to).
    encoded: tuple[tuple[bytes, str], ...] = ()

    @classmethod
    def of(cls, secrets: Mapping[str, str]) -> Redactor:
        """A redactor for these name -> value secrets."""
        pairs: set[tuple[str, str]] = set()
        encoded: dict[bytes, str] = {}
        for name, value in secrets.items():
            if not value:
                continue
            pairs |= {(form, name) for form in encoded_forms(value)}
            raw = value.encode("utf-8", "surrogatepass")
            if len(raw) >= _BASE64_MIN:
                encoded[raw] = placeholder(name)
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(encoded.items(), key=lambda p: (-len(p[0]), p))
        return cls(tuple(sorted(pairs, key=lambda p: (-len(p[0]), p))), tuple(ordered))

    def text(self, text: str) -> str:
        """`text` with every secret replaced."""
        if not self.pairs:
            return text
        return redact(text, {value: placeholder(name) for value, name in self.pairs}, dict(self.encoded))

    def clip(self, text: str, limit: int) -> str:
        """The first `limit` characters of `text` once redacted: redact, then truncate, never the other way."""
        return self.text(text)[:limit]

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value
