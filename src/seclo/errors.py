"""The exception hierarchy: one root, a group per kind of failure, each message a sentence for the user."""

from __future__ import annotations

__all__ = ["ConfigError", "ExperimentError", "InputError", "SecloError", "StoreError"]


class SecloError(Exception):
    """Root of every error seclo raises on purpose.

    Attributes:
        tip: an optional hint the CLI prints after the message.
    """

    def __init__(self, message: str, *, tip: str | None = None) -> None:
        super().__init__(message)
        self.tip = tip


class ConfigError(SecloError):
    """A workspace or user-facing file is invalid."""


class InputError(SecloError):
    """Data given to seclo (an import file, a query) cannot be used."""


class StoreError(SecloError):
    """The store cannot be opened, migrated or written."""


class ExperimentError(SecloError):
    """A security chaos experiment cannot run: a target outside the allowlist, a missing secret, a bad state file."""
