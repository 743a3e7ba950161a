"""Render docs/sli-catalog.md from the catalog, so the documentation cannot drift from the SQL.

Run `python -m seclo.sli.catalog_doc > docs/sli-catalog.md` after changing an indicator.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from seclo.sli.catalog import CATALOG
from seclo.sli.custom import CustomSql, SqlRatio, SqlThreshold
from seclo.sli.interface import Indicator, IndicatorParams
from seclo.store.schema import TABLES

__all__ = ["render_sli_catalog"]

USER_SQL = (CustomSql, SqlRatio, SqlThreshold)

_INTRO = """\
# seclo SLI catalog

An SLI turns the store (docs/data-model.md) into **good** and **total** counts per timeslice of a window
[start, end), cut into slices of `step` aligned on the Unix epoch (`time_bucket($step, t, TIMESTAMP
'1970-01-01')`). Higher is better: an SLO's target is the ratio good / total. Each indicator is one aggregate
query run in the engine, with the named parameters `$start`, `$end` and `$step`, returning
`(slice_start, good, total)` for each slice that has data; an event exactly on a slice boundary belongs to
the later slice, and events outside the window are ignored. The login indicators, which scan the largest
table, group by an integer slice number counted from the slice holding `$start`; it names the same slices as
time_bucket and lets DuckDB aggregate into a perfect hash table.

- **events** indicators count events in the slice they happen in; counts add up over slices.
- **snapshot** indicators count the items of an inventory snapshot; a slice holding several snapshots
  carries the latest one's counts, and a slice with none carries 0/0 (the SLO engine holds the earlier state).

Findings marked `false_positive` or `accepted` are never counted. A finding is open at time T when
`opened_at <= T < closed_at` (or it has no `closed_at`); a finding whose status is `reopened` is open whatever
`closed_at` says.

In an OpenSLO file an indicator is named by its catalog name with its parameters; unknown parameters are
errors. Users add their own SLIs as SQL with the `sql`, `sql_ratio` and `sql_threshold` indicators, which
an OpenSLO `sql` metric source also maps to (docs/slo-status.md).
"""


def _type_name(field: FieldInfo) -> str:
    text = repr(field.annotation) if field.annotation is not None else "any"
    text = re.sub(r"typing\.|<class '([^']+)'>", lambda m: m.group(1) or "", text)
    text = re.sub(r"^Optional\[(.*)\]$", r"\1 | None", text)
    return text.replace("seclo.sli.vulnerabilities.", "").replace("NoneType", "None")


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value: Any = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return f"`{value!r}`".replace("|", "\\|")


def _example_params(indicator: Indicator) -> IndicatorParams:
    return indicator.params.model_validate(type(indicator).example)


def _tables(indicator: Indicator, sql: str) -> str:
    if isinstance(indicator, USER_SQL):
        return "any (the user's query)"
    used = [t.name for t in TABLES if re.search(rf"\b(FROM|JOIN)\s+{t.name}\b", sql)]
    return ", ".join(f"`{name}`" for name in used) or "any (the user's query)"


def _section(indicator: Indicator) -> str:
    sql = indicator.sql(_example_params(indicator))
    lines = [
        f"## {indicator.name}\n",
        inspect.cleandoc(type(indicator).__doc__ or indicator.summary) + "\n",
        f"Kind: {indicator.kind}. Tables: {_tables(indicator, sql)}.\n",
        "| parameter | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in indicator.params.model_fields.items():
        type_name = _type_name(field).replace("|", "\\|")
        lines.append(f"| {name} | {type_name} | {_default(field)} | {field.description or ''} |")
    if type(indicator).example:
        shown = ", ".join(f"{key}: `{value}`" for key, value in type(indicator).example.items())
        lines += ["", f"SQL, for the example parameters {shown}:"]
    else:
        lines += ["", "SQL, with the default parameters:"]
    lines += ["", "```sql", sql, "```", ""]
    return "\n".join(lines)


def render_sli_catalog() -> str:
    """The Markdown for docs/sli-catalog.md."""
    index = "\n".join(f"- [{name}](#{name}): {cls.summary}" for name, cls in CATALOG.items())
    sections = [_section(cls()) for cls in CATALOG.values()]
    return "\n".join([_INTRO, index, "", *sections])


if __name__ == "__main__":
    print(render_sli_catalog(), end="")
