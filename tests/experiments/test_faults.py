"""Built-in faults: each change is made for real, and rollback restores the bytes, twice over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seclo.experiments.context import RunContext
from seclo.experiments.registry import get_fault
from seclo.store import open_store


def context(tmp_path: Path) -> RunContext:
    """A run context in a temporary workspace."""
    (tmp_path / "state").mkdir(exist_ok=True)
    return RunContext(tmp_path, tmp_path / "store.duckdb", tmp_path / "state", "inj42")


CASES = [
    (
        "config_setting",
        "sshd_config",
        "Port 22\nPermitRootLogin no\n",
        {"key": "PermitRootLogin", "value": "yes"},
        "PermitRootLogin yes",
    ),
    ("config_setting", "app.env", "DEBUG=false\n", {"key": "DEBUG", "value": True}, "DEBUG=true"),
    (
        "config_setting",
        "app.json",
        '{"tls": {"enabled": true}}',
        {"key": "tls.enabled", "value": False},
        '"enabled": false',
    ),
    (
        "config_setting",
        "app.yaml",
        "tls:\n  enabled: true\n",
        {"key": "tls.enabled", "value": False},
        "enabled: false",
    ),
    ("config_setting", "app.ini", "[server]\ntls = on\n", {"key": "server.tls", "value": "off"}, "tls = off"),
    ("vulnerable_package", "requirements.txt", "flask==3.0.0\n", {}, "requests==2.19.1"),
    ("vulnerable_package", "poetry.lock", '[[package]]\nname = "flask"\n', {}, 'name = "requests"'),
    (
        "vulnerable_package",
        "package-lock.json",
        '{"lockfileVersion": 3, "packages": {}}',
        {},
        "node_modules/lodash",
    ),
    (
        "inventory_account",
        "accounts.csv",
        "account_id,user,mfa_enabled\na1,alice,true\n",
        {"user": "chaos-inj42"},
        "chaos-inj42,chaos-inj42,false",
    ),
    (
        "inventory_account",
        "accounts.json",
        '[{"account_id": "a1"}]',
        {"issue": "owner_left", "user": "x"},
        '"owner_active": false',
    ),
]


@pytest.mark.parametrize(("fault_type", "name", "original", "params", "expected"), CASES)
def test_file_faults_change_the_file_and_rollback_restores_it_exactly(
    tmp_path: Path, fault_type: str, name: str, original: str, params: dict[str, object], expected: str
) -> None:
    """After injection the file holds the fault; after rollback (run twice) it is byte-identical again."""
    ctx = context(tmp_path)
    target = tmp_path / name
    target.write_text(original)
    target.chmod(0o640)
    fault = get_fault(fault_type)
    p = fault.params.model_validate(params)
    undo = fault.plan(name, p, ctx)
    assert target.read_text() == original  # planning touches nothing
    fault.inject(name, p, undo, ctx)
    assert expected in target.read_text()
    assert fault.rollback(fault.load_undo(undo.model_dump(mode="json")))
    assert target.read_text() == original
    assert target.stat().st_mode & 0o777 == 0o640
    assert fault.rollback(undo) == ""


def test_canary_is_created_and_removed_but_never_overwrites(tmp_path: Path) -> None:
    """The canary file appears with the injection id and goes on rollback; an existing file is refused."""
    ctx = context(tmp_path)
    fault = get_fault("canary_credential")
    p = fault.params.model_validate({})
    undo = fault.plan("creds/aws", p, ctx)
    (tmp_path / "creds").mkdir()
    details = fault.inject("creds/aws", p, undo, ctx)
    assert "inj42" in (tmp_path / "creds" / "aws").read_text()
    assert details["key"].startswith("AKIA")
    assert fault.rollback(undo)
    assert not (tmp_path / "creds" / "aws").exists()
    (tmp_path / "creds" / "aws").write_text("real")
    with pytest.raises(Exception, match="already exists"):
        fault.plan("creds/aws", p, ctx)


def test_store_account_adds_a_snapshot_and_rollback_removes_it(tmp_path: Path) -> None:
    """In the store the fault adds a new snapshot (the latest plus the risky account); rollback deletes it."""
    ctx = context(tmp_path)
    with open_store(ctx.store_path) as store:
        store.conn.execute(
            "INSERT INTO accounts (snapshot_time, account_id, mfa_enabled) VALUES ('2026-01-01', 'a1', true)"
        ).fetchall()
    fault = get_fault("inventory_account")
    p = fault.params.model_validate({"user": "chaos-inj42"})
    undo = fault.plan("store", p, ctx)
    fault.inject("store", p, undo, ctx)
    with open_store(ctx.store_path, read_only=True) as store:
        latest = store.conn.execute(
            "SELECT account_id, mfa_enabled FROM accounts WHERE snapshot_time = (SELECT max(snapshot_time) FROM accounts) ORDER BY 1"
        ).fetchall()
    assert latest == [("a1", True), ("chaos-inj42", False)]
    assert fault.rollback(fault.load_undo(json.loads(json.dumps(undo.model_dump(mode="json")))))
    with open_store(ctx.store_path, read_only=True) as store:
        assert store.conn.execute("SELECT count(*) FROM accounts").fetchall() == [(1,)]


def test_failed_logins_are_written_as_openssh_logs_them(tmp_path: Path) -> None:
    """The auth log gains `count` sshd failure lines for the injection's user."""
    ctx = context(tmp_path)
    fault = get_fault("failed_logins")
    p = fault.params.model_validate({"count": 3, "user": "chaos-inj42"})
    fault.inject("auth.log", p, fault.plan("auth.log", p, ctx), ctx)
    lines = (tmp_path / "auth.log").read_text().splitlines()
    assert len(lines) == 3
    assert all("Failed password for invalid user chaos-inj42 from 127.0.0.1 port" in line for line in lines)
