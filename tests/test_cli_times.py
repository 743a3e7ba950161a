"""`--at` and other times on the command line: a time seclo cannot compute over is a usage error, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from seclo.cli import main
from seclo.workspace import init_workspace


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize(
    "at",
    ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "0001-01-01T00:00:00", "9999-01-01T00:00:00Z"],
)
@pytest.mark.parametrize(
    "command",
    [["slo", "status"], ["playbook", "evaluate"], ["report", "--html", "r.html"], ["analyze", "kpi"]],
)
def test_a_time_outside_the_calendar_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], at: str
) -> None:
    """`--at 0001-01-01T00:30:00+01:00` (before year 1 in UTC) and times too close to year 1 or 9999 for a
    window exit 2 naming the value, instead of an OverflowError traceback."""
    init_workspace(tmp_path)
    assert _run([*command, "--at", at, "-w", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"'{at}' is outside the years 1900 to 8999" in err
    assert "Traceback" not in err


def test_serve_refuses_a_refresh_past_100_years(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`seclo serve --refresh 99999999999999d` exits 2 naming the option, instead of an OverflowError traceback."""
    init_workspace(tmp_path)
    assert _run(["serve", "--port", "0", "--refresh", "99999999999999d", "-w", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--refresh" in err
    assert "longer than 36500d" in err


def test_durations_past_100_years_are_refused_where_slis_and_serve_read_them() -> None:
    """`36501d` is a ValueError with a sentence, and so is `99999999999999d` (as an SLI target in an SLO file or
    serve's --refresh), which raised OverflowError before."""
    from seclo.sli import parse_duration  # noqa: PLC0415

    for text in ("36501d", "99999999999999d"):
        with pytest.raises(ValueError, match="longer than 36500d"):
            parse_duration(text)
    assert parse_duration("36500d").days == 36500
