"""Templates and conditions: Jinja2's sandboxed environment with StrictUndefined.

The sandbox stops templates from reaching Python internals (attributes starting with `_`, unsafe methods), and
StrictUndefined turns a misspelt field into an error instead of an empty string. Templates see `trigger` (the
occurrence's fields), `steps` (earlier steps' outputs), `secrets` (only the names the playbook declares),
`playbook` and `run`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from seclo.errors import SecloError

__all__ = [
    "PlaybookTemplateError",
    "check_expression",
    "check_template",
    "evaluate_condition",
    "render_text",
    "render_value",
]

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class PlaybookTemplateError(SecloError):
    """A template or condition could not be rendered (an unknown field, a type error, a sandbox violation)."""


def _describe(exc: TemplateError) -> str:
    message = exc.message or type(exc).__name__
    line = getattr(exc, "lineno", None)
    return f"{message} (line {line})" if line else message


def check_template(text: str) -> None:
    """Raise ValueError when `text` is not a valid template (used while loading playbook files)."""
    try:
        _compiled(text)
    except TemplateError as exc:
        raise ValueError(f"template error: {_describe(exc)}") from None


def check_expression(text: str) -> None:
    """Raise ValueError when `text` is not a valid condition expression."""
    try:
        _expression(text)
    except TemplateError as exc:
        raise ValueError(f"condition is not a valid expression: {_describe(exc)}") from None


@lru_cache(maxsize=1024)
def _compiled(text: str) -> Any:
    return _ENV.from_string(text)


@lru_cache(maxsize=256)
def _expression(text: str) -> Any:
    return _ENV.compile_expression(text, undefined_to_none=False)


def render_text(text: str, context: Mapping[str, Any]) -> str:
    """Render one template string.

    Raises:
        PlaybookTemplateError: a field is undefined, an operation fails, or the sandbox refuses it.
    """
    if "{" not in text:
        return text
    try:
        return str(_compiled(text).render(context))
    except TemplateError as exc:
        raise PlaybookTemplateError(f"template {text!r}: {_describe(exc)}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise PlaybookTemplateError(f"template {text!r}: {exc}") from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like value (mappings, lists, scalars), keeping its shape."""
    if isinstance(value, str):
        return render_text(value, context)
    if isinstance(value, Mapping):
        return {render_text(str(k), context): render_value(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, context) for v in value]
    return value


def evaluate_condition(expression: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a condition expression over `context`.

    Raises:
        PlaybookTemplateError: the expression refers to an unknown field or fails.
    """
    try:
        result = _expression(expression)(**context)
    except TemplateError as exc:
        raise PlaybookTemplateError(f"condition {expression!r}: {_describe(exc)}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise PlaybookTemplateError(f"condition {expression!r}: {exc}") from None
    if isinstance(result, Undefined):
        raise PlaybookTemplateError(f"condition {expression!r}: refers to an undefined value")
    return bool(result)
