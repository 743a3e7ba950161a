"""Experiment durations stay finite and within 100 years: a deadline or pause past that raises in the middle of
a run, with the fault injected."""

from __future__ import annotations

from pathlib import Path

import pytest

from seclo.errors import ConfigError


@pytest.mark.parametrize("value", [".inf", ".nan", "1e300", "99999999999999999999d"])
def test_an_experiment_duration_that_is_not_finite_or_past_100_years_is_refused(
    tmp_path: Path, value: str
) -> None:
    """An experiment's `max_duration: .inf` (or NaN, or 1e300 seconds) is a ConfigError naming the file, line
    and field, not a deadline that never comes or a sleep that raises OverflowError once the fault is in."""
    from seclo.experiments.loader import load_experiment  # noqa: PLC0415

    path = tmp_path / "e.yaml"
    path.write_text(
        f"title: t\nfault: {{type: listening_port, target: '127.0.0.1:18000'}}\nmax_duration: {value}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"e\.yaml:3: max_duration"):
        load_experiment(path)
