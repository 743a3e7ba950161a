"""Durations in playbook files, and the times computed from them, stay within the calendar.

A duration is added to the current time long after the file was loaded (an approval's expiry, a retry's due
time), in a worker thread: one that overflows there stops the playbook, so it must be refused at load time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playbook_helpers import playbook, workspace

from seclo.errors import ConfigError
from seclo.playbooks import load_playbooks
from seclo.playbooks.claims import Claim, Claims

NOW = datetime(2026, 11, 23, 10, 0)
STEPS = "    - {name: note, type: command, args: [echo, hi]}\n"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("approval_timeout", "99999999d"),
        ("approval_timeout", "99999999999999999999s"),
        ("approval_timeout", "1e400"),
        ("approval_timeout", ".nan"),
        ("retry", "{attempts: 3, backoff: 9999999999w}"),
        ("rate_limit", "{max_runs: 1, per: 99999999999999999999d}"),
    ],
)
def test_a_duration_past_100_years_is_refused_with_the_file_and_field(
    tmp_path: Path, setting: str, value: str
) -> None:
    """`approval_timeout: 99999999d` and kin are a ConfigError naming the file and field, not a traceback."""
    text = playbook("p", "{type: manual}", STEPS, mode="approval", extra=f"  {setting}: {value}\n")
    ws = workspace(tmp_path, {"p.yaml": text})
    with pytest.raises(ConfigError, match=rf"p\.yaml.*{setting}") as caught:
        load_playbooks(ws.root / "playbooks")
    assert "duration" in str(caught.value)


def test_a_duration_of_100_years_is_accepted(tmp_path: Path) -> None:
    """The longest duration allowed, 36500d, loads."""
    text = playbook("p", "{type: manual}", STEPS, mode="approval", extra="  approval_timeout: 36500d\n")
    [loaded] = load_playbooks(workspace(tmp_path, {"p.yaml": text}).root / "playbooks")
    assert loaded.playbook.spec.approval_timeout == timedelta(days=36500)


def test_the_retry_due_time_of_a_long_backoff_stays_in_the_calendar() -> None:
    """After 19 failed attempts with a 30-day backoff (2^18 x 30 days is past year 9999) the occurrence is
    refused with a due time, not an OverflowError in the worker handling the alert."""
    claims = Claims({"p:occ": Claim(19, "failed", NOW)})
    refusal = claims.refusal("p:occ", "occ", 20, timedelta(days=30), NOW, lost=False)
    assert refusal is not None
    assert "attempt 19 for occ failed; the next is due at" in refusal


def test_sla_days_past_100_years_are_refused_in_seclo_yaml(tmp_path: Path) -> None:
    """`sla_days: {low: 2000000000}` is a ConfigError naming seclo.yaml and the field, instead of a
    conversion error in every finding-past-SLA evaluation (and SLA SLI) afterwards."""
    from seclo.workspace import Workspace  # noqa: PLC0415

    (tmp_path / "seclo.yaml").write_text("sla_days:\n  low: 2000000000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"seclo\.yaml:2: sla_days\.low"):
        Workspace.open(tmp_path)
