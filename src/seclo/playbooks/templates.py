"""Templates and conditions: Jinja2's sandboxed environment with StrictUndefined.

The sandbox stops templates from reaching Python internals (attributes starting with `_`, unsafe methods), and
StrictUndefined turns a misspelt field into an error instead of an empty string. Templates see `trigger` (the
occurrence's fields), `steps` (earlier steps' outputs), `secrets` (only the names the playbook declares),
`playbook` and `run`.

In a URL every value a template inserts is percent-encoded (as RFC 6570's simple expansion does), so a label
holding a space, a line break, `é`, `/`, `?` or `&` stays one value of one path segment or query parameter and
cannot end the request line; `{{ value | safe }}` inserts a value as it is (a whole URL from an alert). Whatever
is still not allowed in a URL after that (a space or line break from a `safe` value) is percent-encoded too.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from seclo.errors import SecloError

__all__ = [
    "PlaybookTemplateError",
    "check_expression",
    "check_template",
    "evaluate_condition",
    "render_text",
    "render_url",
    "render_value",
]

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
# Characters a URL may hold as they are: RFC 3986's reserved and unreserved characters, and `%` of an escape.
_URL_SAFE = ":/?#[]@!$&'()*+,;=-._~%"


def _url_value(value: Any) -> Any:
    """A value inserted into a URL: percent-encoded, unless marked `safe`."""
    return value if isinstance(value, Markup) else quote(str(value), safe="", errors="surrogatepass")


_URL_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_url_value
)


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
def _compiled_url(text: str) -> Any:
    return _URL_ENV.from_string(text)


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


def render_url(text: str, context: Mapping[str, Any]) -> str:
    """Render a URL template: each inserted value percent-encoded (unless `safe`), then anything left that a URL
    cannot hold (spaces, line breaks, non-ASCII) percent-encoded as well.

    Raises:
        PlaybookTemplateError: as render_text.
    """
    if "{" in text:
        try:
            text = str(_compiled_url(text).render(context))
        except TemplateError as exc:
            raise PlaybookTemplateError(f"template {text!r}: {_describe(exc)}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise PlaybookTemplateError(f"template {text!r}: {exc}") from None
    return quote(text, safe=_URL_SAFE, errors="surrogatepass")


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
