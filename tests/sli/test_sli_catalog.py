"""The catalog: lookup, parameter validation, its documentation, and every indicator on generated data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from pinned_clock import PINNED_NOW

from seclo.errors import ConfigError
from seclo.generate import generate_organisation
from seclo.importers import ImportOptions, get_importer, import_path
from seclo.sli import CATALOG, Window, get_indicator, indicator_params
from seclo.sli.catalog_doc import render_sli_catalog
from seclo.store import Store
from seclo.store.schema import table

DOC = Path(__file__).parents[2] / "docs" / "sli-catalog.md"


def test_an_unknown_indicator_is_a_config_error_listing_the_known_ones() -> None:
    """Asking for a name not in the catalog names the ones that exist."""
    with pytest.raises(ConfigError, match="login_success"):
        get_indicator("login_sucess")


def test_unknown_parameters_are_rejected_by_name() -> None:
    """A parameter an indicator does not take is an error naming it."""
    with pytest.raises(ConfigError, match="treshold"):
        indicator_params(get_indicator("brute_force_pressure"), {"treshold": 5})


def test_sli_catalog_doc_is_current() -> None:
    """The checked-in SLI catalog documentation is what the catalog renders (regenerate it if this fails)."""
    assert DOC.read_text(encoding="utf-8") == render_sli_catalog(), (
        "run: python -m seclo.sli.catalog_doc > docs/sli-catalog.md"
    )


@pytest.mark.slow
def test_every_indicator_has_sane_data_on_a_generated_organisation(store: Store, tmp_path: Path) -> None:
    """On a generated organisation every catalog indicator has data, with 0 <= good <= total everywhere."""
    files = generate_organisation(
        tmp_path / "gen", days=7, seed=3, users=200, auth_events=20_000, end=PINNED_NOW
    )
    for path in sorted((tmp_path / "gen").glob("*.parquet")):
        kind = table(path.stem.split("-")[0]).kinds[0]
        import_path(store, get_importer(kind), path, ImportOptions())
    # The generator makes no experiment runs; record three, as `seclo experiment run` would.
    runs = [
        ("r1", "passed", 1, 2),
        ("r2", "detection_missed", None, None),
        ("r3", "remediation_missed", 3, None),
    ]
    for run_id, outcome, detect_s, remediate_s in runs:
        store.conn.execute(
            "INSERT INTO experiment_runs (run_id, experiment, injected_at, detected_at, remediated_at, outcome) "
            "VALUES (?, 'e', ?::TIMESTAMP, ?::TIMESTAMP + to_seconds(?), ?::TIMESTAMP + to_seconds(?), ?)",
            [
                run_id,
                files.end,
                None if detect_s is None else files.end,
                detect_s or 0,
                None if remediate_s is None else files.end,
                remediate_s or 0,
                outcome,
            ],
        ).fetchall()
    step = timedelta(days=1)
    start = files.start - timedelta(days=400)
    start -= (start - files.start.replace(hour=0, minute=0, second=0, microsecond=0)) % step
    window = Window(start, files.end + step, step)
    for name, cls in CATALOG.items():
        indicator = cls()
        params = indicator_params(indicator, cls.example)
        series = indicator.evaluate(store.conn, params, window)
        assert series.total.sum() > 0, name
        assert np.all(series.good >= 0), name
        assert np.all(series.good <= series.total), name
