"""Loading user-written YAML files into pydantic models, with errors that name file, line and YAML path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from seclo.errors import ConfigError

# PyYAML is imported where it is used: a JSON experiment in a workspace without seclo.yaml never needs it.
if TYPE_CHECKING:
    import yaml

__all__ = [
    "format_loc",
    "load_model",
    "node_path_line",
    "read_user_text",
    "validation_problem",
    "yaml_error",
    "yaml_path_line",
]

M = TypeVar("M", bound=BaseModel)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """Write a location as a YAML path: `spec.objectives[0].target`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def node_path_line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Return the 1-based line of the node at `loc` under `node`, or of its nearest existing parent."""
    import yaml  # noqa: PLC0415

    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if found is None:
                # the key itself is the problem (unknown field) or missing: point at the key if present
                key = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def yaml_path_line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Return the 1-based line of the YAML node at `loc`, or of its nearest existing parent."""
    import yaml  # noqa: PLC0415

    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    return node_path_line(node, loc)


def read_user_text(path: Path) -> str:
    """Read a user's file as UTF-8 text, turning OS errors into a ConfigError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text ({exc})") from None


def yaml_error(path: Path, exc: yaml.YAMLError) -> ConfigError:
    """Translate a PyYAML error into a ConfigError naming the file and line."""
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return ConfigError(f"{path}{where}: not valid YAML: {problem}")


def validation_problem(exc: ValidationError) -> tuple[tuple[int | str, ...], str]:
    """The location of the first problem in `exc` and a sentence saying what was expected there."""
    errors = exc.errors()
    err = errors[0]
    got = err.get("input")
    # An unknown key's value, or one refused as a secret, is not echoed: it may be a password put in the wrong place.
    quiet = isinstance(got, dict | list) or err["type"] in {"missing", "extra_forbidden", "secret_in_config"}
    got_text = "" if quiet else f" (got {got!r})"
    message = err["msg"].removeprefix("Value error, ")
    more = len(errors) - 1
    extra = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    return tuple(err["loc"]), f"{message}{got_text}{extra}"


def load_model(path: Path, model: type[M]) -> M:
    """Read `path` as YAML and validate it as `model`.

    Raises:
        ConfigError: the file is missing, is not YAML, or does not match the model. The message names the
            file, the line, the YAML path and what was expected.
    """
    import yaml  # noqa: PLC0415

    text = read_user_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, message = validation_problem(exc)
        line = yaml_path_line(text, loc)
        where = f":{line}" if line is not None else ""
        raise ConfigError(f"{path}{where}: {format_loc(loc)}: {message}") from None
