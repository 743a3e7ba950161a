"""The forms a secret takes in text seclo writes, for the redactors of playbooks and experiments.

A secret rarely appears only as itself: a JSON body escapes it, a URL percent-encodes it, and an HTTP Basic
`Authorization` header carries base64 of `user:secret`, whose letters share nothing with the secret's. So a
redactor replaces the literal forms (`encoded_forms`) and then every run of base64 letters that decodes, at any of
its four alignments and in either alphabet, to bytes holding a secret (`redact_base64`): that finds base64 of
the secret alone, of `user:secret`, and of any longer text around it, whatever the user name.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

__all__ = ["encoded_forms", "redact_base64"]

# A run of base64 letters (standard or URL-safe alphabet) long enough to hold a 4-byte secret, with its padding.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_URLSAFE = str.maketrans("-_", "+/")


def encoded_forms(value: str) -> set[str]:
    """The secret as written, JSON-escaped, and URL-encoded (path and form style)."""
    return {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}


def _decodings(run: str) -> list[bytes]:
    """`run` decoded at each of the four alignments (garbage before the aligned part does not matter)."""
    core = run.rstrip("=").translate(_URLSAFE)
    decoded = []
    for skip in range(4):
        part = core[skip:]
        part = part[: len(part) - 1] if len(part) % 4 == 1 else part
        try:
            decoded.append(base64.b64decode(part + "=" * (-len(part) % 4)))
        except (binascii.Error, ValueError):
            continue
    return decoded


def redact_base64(text: str, secrets: Mapping[bytes, str]) -> str:
    """`text` with each base64 run that decodes to bytes holding a secret replaced by that secret's
    replacement (`secrets`: the secret's UTF-8 bytes -> what replaces the run)."""
    if not secrets:
        return text

    def replace(match: re.Match[str]) -> str:
        for decoded in _decodings(match.group(0)):
            for secret, replacement in secrets.items():
                if secret in decoded:
                    return replacement
        return match.group(0)

    return _BASE64_RUN.sub(replace, text)
