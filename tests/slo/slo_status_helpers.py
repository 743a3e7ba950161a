"""Helpers for SLO status tests: a workspace with hand-written SLO files and a day of hand-built logins."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from seclo.store import Store
from seclo.store.sql import run

DAY_START = datetime(2024, 3, 1)
DAY_END = datetime(2024, 3, 2)
# 100 logins every 14 minutes from 2024-03-01 00:00 (the last at 23:06); the four at 21:00, 21:14, 21:28
# and 21:42 fail.
LOGINS = 100
FAILED = (90, 91, 92, 93)


def login_slo(
    name: str,
    target: float,
    *,
    params: str = "{}",
    window: str = "1d",
    budgeting: str = "Occurrences",
    indicator: str = "login_success",
    annotations: str = "{}",
    extra: str = "",
) -> str:
    """An OpenSLO SLO over a catalog SLI, rolling over `window`; `extra` is appended to its spec."""
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}, displayName: {name} objective, annotations: {annotations}}}
spec:
  service: identity
  indicator:
    metadata: {{name: {name}}}
    spec:
      ratioMetric:
        rawType: success
        raw: {{metricSource: {{type: seclo, spec: {{indicator: {indicator}, params: {params}}}}}}}
  timeWindow: [{{duration: {window}, isRolling: true}}]
  budgetingMethod: {budgeting}
  objectives: [{{target: {target}}}]
{extra}"""


PROMETHEUS_SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-latency}
spec:
  service: api
  indicator:
    metadata: {name: api-latency}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(ok_total[5m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all_total[5m]))'}}}
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


UNSUPPORTED_SLO = PROMETHEUS_SLO.replace("type: Prometheus", "type: Datadog")


def write_slos(root: Path, files: dict[str, str]) -> None:
    """Write SLO files into root/slos/."""
    folder = root / "slos"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def add_day_of_logins(store: Store) -> None:
    """Insert LOGINS sso logins on 2024-03-01, the FAILED ones failing."""
    failed = ", ".join(str(i) for i in FAILED)
    run(
        store.conn,
        f"""INSERT INTO auth_events (time, outcome, src_ip, service)
SELECT TIMESTAMP '2024-03-01 00:00:00' + i * INTERVAL 14 MINUTE,
       CASE WHEN i IN ({failed}) THEN 'failure' ELSE 'success' END, '10.0.0.1', 'sso'
FROM range({LOGINS}) AS t(i)""",
    )
