"""The forms a secret takes in text seclo writes, for the redactors of playbooks and experiments.

A secret rarely appears only as itself: a JSON body escapes it, a URL percent-encodes it, and an HTTP Basic
`Authorization` header carries base64 of `user:secret`, whose letters share nothing with the secret's. So a
redactor replaces the literal forms (`encoded_forms`) and then every run of base64 letters that decodes, at any of
its four alignments and in either alphabet, to bytes holding a secret (`redact`): that finds base64 of
the secret alone, of `user:secret`, and of any longer text around it, whatever the user name.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from urllib.parse import quote, quote_plus

__all__ = ["encoded_forms", "redact"]

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


def _holding(run: str, secrets: Mapping[bytes, str]) -> str | None:
    """The replacement of the first secret that `run` decodes to bytes holding, or None."""
    for decoded in _decodings(run):
        for secret, replacement in secrets.items():
            if secret in decoded:
                return replacement
    return None


def redact(text: str, literals: Mapping[str, str], encoded: Mapping[bytes, str]) -> str:
    """`text` with every literal form (`literals`: form -> replacement, longest first) and every base64 run
    that decodes to bytes holding a secret (`encoded`: the secret's UTF-8 bytes -> replacement) replaced.

    Every match is found in the original text before anything is replaced, and overlapping matches become one
    replacement. Replacing one form first would break the others: a literal secret made of base64 letters
    ("00000000") right after a Basic header's base64 would take the header's last letter with it, and what
    remained of the header would no longer decode to the secret, leaving its first letters in clear.
    """
    spans: list[tuple[int, int, str]] = []
    for form, literal in literals.items():
        start = text.find(form)
        while start != -1:
            spans.append((start, start + len(form), literal))
            start = text.find(form, start + 1)
    if encoded:
        for match in _BASE64_RUN.finditer(text):
            if (held := _holding(match.group(0), encoded)) is not None:
                spans.append((match.start(), match.end(), held))
    if not spans:
        return text
    spans.sort(key=lambda span: (span[0], span[0] - span[1]))  # by start, the longest first
    pieces: list[str] = []
    done = 0
    start, end, replacement = spans[0]
    for s, e, r in spans[1:]:
        if s < end:  # overlaps the current match: one replacement covers both
            end = max(end, e)
            continue
        pieces += [text[done:start], replacement]
        done = end
        start, end, replacement = s, e, r
    pieces += [text[done:start], replacement, text[end:]]
    return "".join(pieces)
