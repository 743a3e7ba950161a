"""The SLO benchmark's pandas implementation agrees with `seclo slo status` on a small organisation."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).parents[1] / "bench" / "slo_bench.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slo_bench", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["slo_bench"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_pandas_agrees_with_seclo_on_every_bench_slo(tmp_path: Path) -> None:
    """Attainment and budget left from pandas match seclo's JSON for all eight bench SLOs."""
    bench = _bench()
    store = bench.ensure_organisation(tmp_path / "org", 50_000, 30, end=datetime(2024, 3, 1))
    at = bench.evaluation_time(store)
    seclo, pandas, differ = bench.check_agreement(tmp_path / "check", store, 90, at)
    assert differ == []
    assert set(seclo.figures) == {slo.name for slo in bench.SLOS}
    assert any(f.attainment == f.attainment for f in pandas.figures.values())  # not all NaN
