"""The starter SecLOs that `seclo init` writes."""

from __future__ import annotations

from pathlib import Path

from seclo.sli.catalog import get_indicator, indicator_params
from seclo.slo.loader import load_slo_documents
from seclo.slo.openslo import SecloIndicator
from seclo.slo.starter import STARTER_SLOS, write_starter_slos


def test_starter_set_loads_with_catalog_indicators(tmp_path: Path) -> None:
    """The written starter files load and name the six catalog SLIs."""
    written = write_starter_slos(tmp_path / "slos")
    assert len(written) == len(STARTER_SLOS)
    catalog = load_slo_documents(tmp_path / "slos")
    names = {o.indicator.indicator for o in catalog.objectives if isinstance(o.indicator, SecloIndicator)}
    assert names == {
        "login_success",
        "mfa_coverage",
        "orphaned_accounts",
        "patch_latency",
        "time_to_detect",
        "unexpected_public_ports",
    }


def test_login_success_is_95_percent_over_28_day_timeslices(tmp_path: Path) -> None:
    """Login success asks 95% of 5-minute slices over a rolling 28d window to have 90% of logins succeed."""
    write_starter_slos(tmp_path)
    (login,) = [o for o in load_slo_documents(tmp_path).objectives if o.slo_name == "login-success"]
    assert login.target == 0.95
    assert login.time_slice_target == 0.9
    assert login.budgeting == "Timeslices"
    assert str(login.time_window.duration) == "28d"
    assert login.time_window.rolling
    assert login.time_slice_window is not None
    assert login.time_slice_window.total_seconds() == 300


def test_existing_files_are_kept(tmp_path: Path) -> None:
    """A starter file the user already has is not overwritten, and is not reported as written."""
    mine = tmp_path / "mfa-coverage.yaml"
    mine.write_text("# mine\n", encoding="utf-8")
    written = write_starter_slos(tmp_path)
    assert mine not in written
    assert mine.read_text(encoding="utf-8") == "# mine\n"
    assert write_starter_slos(tmp_path) == []


def test_starter_slos_use_real_catalog_indicators_with_valid_params(tmp_path: Path) -> None:
    """Every starter SecLO names an SLI the catalog has, with parameters that SLI accepts."""
    write_starter_slos(tmp_path)
    catalog = load_slo_documents(tmp_path)
    assert len(catalog.objectives) == 6
    for objective in catalog.objectives:
        spec = objective.indicator
        assert isinstance(spec, SecloIndicator), objective
        indicator = get_indicator(spec.indicator)
        indicator_params(indicator, spec.params)
